"""Review of loose ends (round 8): the pages' CSP against what a browser parses, and other
leads of earlier rounds. Real HTTP through requests, as the neighbouring review files."""
from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.support.oidc import realm, register_client  # noqa: F401
from wazo_like_auth.oidc.pkce import s256

# CSP3 §2.3.1 source grammar, as Chromium parses it: a source outside it (a host with "_",
# an IPv6 literal) is ignored with a console warning, and the form's redirect is blocked.
_CSP_SCHEME = re.compile(r'^([a-z][a-z0-9+.-]*):\Z')
_CSP_HOST = re.compile(r'^([a-z][a-z0-9+.-]*)://([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?)'
                       r'(?::([0-9]+))?\Z')


def _form_action_allows(policy: str, uri: str) -> bool:
    """Whether a browser enforcing ``policy`` lets a form's redirect go to ``uri``."""
    directive = next(d.split()[1:] for d in policy.split(';') if d.split()[:1] == ['form-action'])
    target = urlsplit(uri)
    for source in (s.lower() for s in directive):
        scheme = _CSP_SCHEME.match(source)
        if scheme and (scheme[1] == target.scheme or (scheme[1], target.scheme) ==
                       ('http', 'https')):
            return True
        host = _CSP_HOST.match(source)
        if host and (host[1], host[2], host[3]) == (target.scheme, target.hostname,
                                                    str(target.port) if target.port else None):
            return True
    return False


@pytest.mark.parametrize('redirect_uri', [
    'http://web_app:8080/cb',          # a docker-compose service name
    'http://[::1]:51004/cb',           # RFC 8252 §7.3's loopback redirect of native apps
    'https://rp.example.com/callback',  # an ordinary one (passed before)
])
def test_sign_in_page_csp_lets_the_form_lead_to_any_registered_redirect_uri(
        api, admin_token, realm, redirect_uri):
    """The sign-in form posts here and its answer redirects to the registered URI: browsers
    apply form-action to that redirect. A host the CSP grammar cannot name was left out of
    form-action, so a real browser (Chromium checked) blocked the redirect after sign-in."""
    register_client(api, admin_token, realm['uuid'], redirect_uris=[redirect_uri])
    query = {'client_id': 'webapp', 'redirect_uri': redirect_uri, 'response_type': 'code',
             'scope': 'openid', 'state': 'st', 'code_challenge': s256('v' * 43),
             'code_challenge_method': 'S256'}
    page = requests.get(f'{api.base}/realms/acme/protocol/openid-connect/auth?'
                        + urlencode(query), timeout=10, allow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    policy = page.headers['Content-Security-Policy']
    assert _form_action_allows(policy, redirect_uri), policy
    assert policy.count(';') == 5 and ',' not in policy  # nothing of the URI became a directive
