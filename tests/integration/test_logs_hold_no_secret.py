"""Logs hold no secret and cannot be forged, whatever a request carries.

One run of every flow that handles a secret, served over real HTTP, with everything the
process logs captured at DEBUG (every logger: ours, the access log, SQLAlchemy's engine and
pool, werkzeug; not werkzeug's request lines, which the test server mutes: the service is
served by granian, whose lines tests/unit/test_server_logging.py checks): the Wazo token API (login, offline login, refresh, checks, scopes check,
revocation), the OAuth 2.0 token endpoint (password, client credentials, refresh token, device
code, authorization code with PKCE), introspection and revocation, the OpenID Connect sign-in
page, userinfo and logout, client secret rotation, password-reset and e-mail confirmation
links; with failing variants (wrong secrets, unknown and malformed values) and hostile values
(a line break then a forged line, an ANSI escape, quotes).

Checked: none of the secrets involved (passwords, tokens, refresh tokens, client secrets,
authorization and device codes, the PKCE verifier, link tokens, cookies, ID tokens) is in any
record, whole, in another case, URL-encoded, or either half of it; no record's rendered
message carries a raw line break or escape from a request; every written line is one line.
"""
from __future__ import annotations

import secrets
import urllib.parse
import uuid

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.apps import running_app
from tests.support.device_flow import Person, hidden, poll, start
from tests.support.log_capture import (assert_no_raw_control, assert_no_secret,
                                       assert_no_secret_in, capture_all_logs)
from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params, register_client,
                                submit)
from tests.support.smtp_server import (PUBLIC_URL, deliver, link_in, mail_config,  # noqa: F401
                                       mailbox)
from wazo_like_auth import db

PASSWORD = 'Alice-' + secrets.token_hex(12)
WRONG = 'Wrong-' + secrets.token_hex(12)
NEW_PASSWORD = 'Reset-' + secrets.token_hex(12)
# A line break then what reads as another line of the log, an ANSI escape, both quotes.
HOSTILE = 'x\r\nFORGED 2026-12-06 (INFO) (wazo_like_auth): root got token\x1b[31m"\'q'
HOSTILE_AGENT = 'agent\x1b[2J\x1b[31mFORGED "quoted\''
GRANTS = ['password', 'client_credentials', 'refresh_token', 'authorization_code']


@pytest.fixture
def oauth_config(mail_config, mailbox):  # noqa: F811
    """The served app sends mail to the test's SMTP server; the device flow polls each second."""
    return mail_config(mailbox.port, oauth2={'device_poll_interval': 1})


@pytest.fixture
def oauth_app(oauth_config, clock):
    """The app on an engine made as the served one's is (db.make_engine: hidden statement
    values, no result rows), not on the harness's shared engine."""
    engine = db.make_engine(oauth_config)
    try:
        with running_app(oauth_config, engine, clock=clock) as app:
            yield app
    finally:
        engine.dispose()


class Secrets(list):
    """The secret values a run came across."""

    def add(self, *values: str | None) -> None:
        self.extend(value for value in values if value)


def test_no_secret_and_no_raw_request_value_reaches_the_logs(
        api, oauth_app, admin_token, make_user, make_client, mailbox, clock):  # noqa: F811
    found = Secrets([PASSWORD, WRONG, NEW_PASSWORD, admin_token, 'rootpass'])
    alice = make_user('alice', PASSWORD, email='alice@example.com',
                      acl=['confd.users.me.read', 'auth.#'])
    carol = make_user('carol', PASSWORD, email='carol@example.com', email_confirmed=False)
    webapp = register_client(api, admin_token, grant_types=GRANTS, acl=['confd.#'])
    found.add(webapp['client_secret'])
    make_client('tv', public=True, name='TV')

    with capture_all_logs() as logs:
        wazo_token_api(api, found)
        secret = rotated_secret(api, admin_token, webapp, found)
        oauth_token_endpoint(api, secret, found)
        device_flow(api, clock, found)
        authorization_code_flow(api, secret, found)
        mailed_links(api, oauth_app, mailbox, admin_token, alice, carol, found)

    messages = '\n'.join(logs.messages())
    assert 'Successful login' in messages and 'Failed login' in messages  # it did log
    assert 'sign-in page' in messages and 'SELECT' in messages
    assert_no_secret(logs, found)
    assert_no_raw_control(logs)
    # The audit trail records the same logins and sessions: no secret there either.
    events = api.admin('GET', '/events', admin_token, params={'limit': 1000, 'recurse': True})
    assert events.status_code == 200 and events.json()['total'] > 20
    assert_no_secret_in(events.text, found)


def wazo_login(api, username: str, password: str, **body) -> requests.Response:
    return api.session.post(f'{api.url}/token', json=body, auth=(username, password),
                            headers={'User-Agent': HOSTILE_AGENT}, timeout=10)


def quoted(value: str) -> str:
    return urllib.parse.quote(value, safe='')


def wazo_token_api(api, found: Secrets) -> None:
    """Login, offline login, refresh, checks, revocation; and their failures."""
    online = wazo_login(api, 'alice', PASSWORD).json()['data']
    offline = wazo_login(api, 'alice', PASSWORD, access_type='offline',
                         client_id='app').json()['data']
    refreshed = api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': offline['refresh_token'], 'client_id': 'app'}).json()['data']
    found.add(online['token'], offline['token'], offline['refresh_token'], refreshed['token'])
    for token in (online['token'], offline['token'], tokens_unknown(), quoted(HOSTILE)):
        api.session.head(f'{api.url}/token/{token}', timeout=10)
        api.session.head(f'{api.url}/token/{token}?scope={quoted(HOSTILE)}', timeout=10)
        api.session.get(f'{api.url}/token/{token}', timeout=10)
        api.session.post(f'{api.url}/token/{token}/scopes/check', timeout=10,
                         json={'scopes': [HOSTILE]})
        api.session.get(f'{api.url}/users/me/tokens', timeout=10,
                        headers={'X-Auth-Token': header_safe(urllib.parse.unquote(token))})
    assert wazo_login(api, 'alice', WRONG).status_code == 401
    assert wazo_login(api, HOSTILE, WRONG).status_code == 401
    assert wazo_login(api, 'alice', PASSWORD, expiration=HOSTILE).status_code == 400
    api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': tokens_unknown(), 'client_id': HOSTILE})
    api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': HOSTILE, 'client_id': 'app'})
    api.session.delete(f'{api.url}/users/me/tokens/{quoted(HOSTILE)}', timeout=10,
                       headers={'X-Auth-Token': refreshed['token']})
    assert api.session.delete(f'{api.url}/token/{refreshed["token"]}',
                              timeout=10).status_code == 200
    api.session.delete(f'{api.url}/token/{quoted(HOSTILE)}', timeout=10)


def header_safe(value: str) -> str:
    """``value`` as a header can carry it: no line break (HTTP has none in a header value;
    the escape and the quotes stay)."""
    return value.replace('\r\n', ' ')


def here(api, url: str) -> str:
    """``url`` of the configured public URL, on the test server."""
    return url.replace(PUBLIC_URL, api.url)


def tokens_unknown() -> str:
    return str(uuid.uuid4())


def rotated_secret(api, admin_token: str, webapp: dict, found: Secrets) -> str:
    """The client's secret rotated; the old one refused afterwards."""
    rotated = api.admin('POST', f'/clients/{webapp["uuid"]}/secret', admin_token)
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()['client_secret']
    found.add(secret)
    old = api.post_form('/oauth2/token', {'grant_type': 'client_credentials'},
                        auth=('webapp', webapp['client_secret']))
    assert old.status_code == 401
    return secret


def oauth_token_endpoint(api, secret: str, found: Secrets) -> None:
    """Password, client credentials and refresh grants, introspection, revocation; and
    wrong secrets, unknown and hostile values."""
    session = OAuth2Session('webapp', secret, scope='offline_access')
    token = session.fetch_token(api.token_url(), username='alice', password=PASSWORD)
    refreshed = session.refresh_token(api.token_url(), refresh_token=token['refresh_token'])
    backend = OAuth2Session('webapp', secret).fetch_token(api.token_url(),
                                                         grant_type='client_credentials')
    found.add(token['access_token'], token['refresh_token'], refreshed['access_token'],
              refreshed.get('refresh_token'), backend['access_token'])
    forms = [{'grant_type': 'password', 'username': 'alice', 'password': WRONG},
             {'grant_type': 'password', 'username': HOSTILE, 'password': WRONG},
             {'grant_type': 'refresh_token', 'refresh_token': tokens_unknown()},
             {'grant_type': 'refresh_token', 'refresh_token': HOSTILE},
             {'grant_type': HOSTILE, 'code': HOSTILE}]
    for form in forms:
        assert api.post_form('/oauth2/token', form, auth=('webapp', secret)).status_code >= 400
    assert api.post_form('/oauth2/token', forms[0], auth=('webapp', WRONG)).status_code == 401
    assert api.post_form('/oauth2/token', forms[0], auth=(HOSTILE, WRONG)).status_code == 401
    for value in (token['access_token'], refreshed['refresh_token'], tokens_unknown(), HOSTILE):
        for path in ('/oauth2/introspect', '/oauth2/revoke'):
            answer = api.post_form(path, {'token': value, 'token_type_hint': HOSTILE},
                                   auth=('webapp', secret))
            assert answer.status_code == 200, answer.text
    api.post_form('/oauth2/introspect', {'token': backend['access_token']},
                  auth=('webapp', WRONG))


def device_flow(api, clock, found: Secrets) -> None:
    """A device authorized through the verification page (a failed sign-in first), polled
    until it gets its tokens; hostile device and user codes."""
    tv = OAuth2Session('tv', token_endpoint_auth_method='none')
    started = start(api, scope='offline_access')
    found.add(started['device_code'], started['user_code'],
              started['user_code'].replace('-', ''))
    page = here(api, started['verification_uri_complete'])
    person = Person()
    refused = person.sign_in(page, HOSTILE, WRONG)
    assert refused.status_code == 401
    consent = person.sign_in(page, 'alice', PASSWORD)
    assert consent.status_code == 200, consent.text
    found.add(*person.http.cookies.values(), hidden(consent.text, 'consent'),
              hidden(consent.text, 'csrf'))
    assert person.decide(consent, 'approve').status_code == 200
    clock.advance(1)
    token = poll(api, tv, started['device_code'])
    found.add(token['access_token'], token.get('refresh_token'))
    for code in (started['device_code'], HOSTILE):
        api.post_form('/oauth2/token', {'grant_type': 'urn:ietf:params:oauth:grant-type:'
                                        'device_code', 'device_code': code, 'client_id': 'tv'})
    person.sign_in(f'{api.url}/device?user_code={quoted(HOSTILE)}', 'alice', PASSWORD,
                   user_code=HOSTILE)


def authorization_code_flow(api, secret: str, found: Secrets) -> None:
    """Sign-in page (a wrong password first), code exchange with PKCE (a wrong verifier, a
    hostile code and a replayed code refused), userinfo, refresh, logout with id_token_hint."""
    metadata = {name: here(api, value) if isinstance(value, str) else value for name, value
                in requests.get(f'{api.url}/.well-known/openid-configuration',
                                timeout=10).json().items()}
    rp = OAuth2Session('webapp', secret, redirect_uri=REDIRECT, code_challenge_method='S256',
                       scope='openid profile email offline_access')
    browser = requests.Session()
    code, verifier = signed_in_code(rp, metadata, browser)
    found.add(code, verifier, *browser.cookies.values())
    for form in ({'code': code, 'code_verifier': HOSTILE},
                 {'code': HOSTILE, 'code_verifier': verifier}):
        refused = api.post_form('/oauth2/token', {'grant_type': 'authorization_code',
                                                  'redirect_uri': REDIRECT, **form},
                                auth=('webapp', secret))
        assert refused.status_code == 400, refused.text
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(metadata['authorization_endpoint'],
                                         code_verifier=verifier)
    code = callback_params(browser.get(url, timeout=10, allow_redirects=False))['code']
    token = rp.fetch_token(metadata['token_endpoint'], code=code, code_verifier=verifier,
                           redirect_uri=REDIRECT)
    found.add(code, verifier, token['access_token'], token['refresh_token'], token['id_token'])
    assert rp.get(metadata['userinfo_endpoint'], timeout=10).status_code == 200
    requests.get(metadata['userinfo_endpoint'], timeout=10,
                 headers={'Authorization': f'Bearer {header_safe(HOSTILE)}'})
    refreshed = rp.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])
    found.add(refreshed['access_token'], refreshed.get('id_token'))
    replayed = api.post_form('/oauth2/token', {'grant_type': 'authorization_code',
                                               'code': code, 'redirect_uri': REDIRECT,
                                               'code_verifier': verifier},
                             auth=('webapp', secret))
    assert replayed.status_code == 400
    for hint in (HOSTILE, token['id_token'][:-4] + 'AAAA', token['id_token']):
        browser.get(metadata['end_session_endpoint'], timeout=10, allow_redirects=False,
                    params={'id_token_hint': hint, 'post_logout_redirect_uri': LOGOUT_REDIRECT,
                            'state': HOSTILE})


def signed_in_code(rp, metadata: dict, browser: requests.Session) -> tuple[str, str]:
    """An authorization code and its PKCE verifier, through the sign-in page: hostile
    authorization requests refused first, then a hostile login, then alice's."""
    for hostile in ({'state': HOSTILE, 'redirect_uri': HOSTILE}, {'client_id': HOSTILE},
                    {'scope': HOSTILE, 'nonce': HOSTILE, 'prompt': HOSTILE}):
        browser.get(metadata['authorization_endpoint'], timeout=10, allow_redirects=False,
                    params={'response_type': 'code', 'client_id': 'webapp',
                            'redirect_uri': REDIRECT, **hostile})
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(metadata['authorization_endpoint'],
                                         code_verifier=verifier, nonce=generate_token(20))
    page = browser.get(url, timeout=10, headers={'User-Agent': HOSTILE_AGENT})
    refused = submit(browser, page, username=HOSTILE, password=WRONG)
    assert refused.status_code == 401, refused.text
    signed_in = submit(browser, page, username='alice', password=PASSWORD)
    return callback_params(signed_in)['code'], verifier


def mailed_links(api, app, mailbox, admin_token, alice, carol, found: Secrets) -> None:  # noqa: F811
    """A password reset and an e-mail confirmation through their mailed links; the links
    with a hostile token refused."""
    assert api.session.get(f'{api.url}/users/password/reset', timeout=10,
                           params={'username': 'alice'}).status_code == 204
    api.session.get(f'{api.url}/users/password/reset', timeout=10, params={'login': HOSTILE})
    deliver(app)
    reset = link_in(mailbox.wait(1)[-1])
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(reset).query))
    found.add(query['token'])
    page = api.session.get(f'{api.url}/users/password/reset/page', params=query, timeout=10)
    assert page.status_code == 200
    for token in (HOSTILE, query['token']):
        api.session.post(f'{api.url}/users/password/reset', timeout=10,
                         params={**query, 'token': token}, json={'password': NEW_PASSWORD})
    assert wazo_login(api, 'alice', NEW_PASSWORD).status_code == 200
    email = api.admin('GET', f'/users/{carol}', admin_token).json()['emails'][0]['uuid']
    api.admin('GET', f'/users/{carol}/emails/{email}/confirm', admin_token)
    deliver(app)
    confirm = link_in(mailbox.wait(2)[-1])
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(confirm).query))['token']
    found.add(token)
    for value in (HOSTILE, token):
        api.session.get(f'{api.url}/emails/{email}/confirm', params={'token': value},
                        timeout=10)
    assert wazo_login(api, 'carol@example.com', PASSWORD).status_code == 200
    found.add(*api.session.cookies.values())
