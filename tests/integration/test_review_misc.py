"""Review of loose ends (round 8): the pages' CSP against what a browser parses, and other
leads of earlier rounds. Real HTTP through requests, as the neighbouring review files."""
from __future__ import annotations

import os
import re
import uuid
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.scratch_db import database
from tests.support.jwt_access import SCOPE, feed, revoked_jtis, users_jwt, wazo_delete
from tests.support.oidc import realm, register_client  # noqa: F401
from wazo_like_auth import db
from wazo_like_auth.config import ConfigError
from wazo_like_auth.models import RefreshToken, Tenant, User
from wazo_like_auth.oauth_models import Client
from wazo_like_auth.oidc_models import Consent
from wazo_like_auth.oidc.pkce import s256
from wazo_like_auth.repositories import clients as client_repo
from wazo_like_auth.repositories import oidc as oidc_repo
from wazo_like_auth.repositories import refresh_tokens as refresh_repo
from wazo_like_auth.repositories.listing import ListQuery, paginate

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


@pytest.fixture
def icu_engine(postgres):
    """A migrated database whose default collation is ICU's English, as a cluster initialised
    in an en_US locale (Debian's default) has: its text columns compare linguistically."""
    with database(postgres, 'icu', "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' "
                  "LOCALE 'C'") as (_, engine):
        db.upgrade(engine)
        yield engine


# Bytewise (admin spec §0.5): uppercase before lowercase, '-' before '_'. ICU's English puts
# 'B' after 'a_b' and '_' before '-'.
IDS = ['B', 'a', 'a-b', 'a_b']


def test_refresh_token_and_client_lists_sort_text_bytewise_whatever_the_collation(icu_engine):
    """GET /users/{u}/tokens, /tokens, /clients and /users/{u}/consents sorted client_id
    (and a client's name) by the database's collation; the other admin lists sort bytewise
    (.collate('C')), as admin spec §0.5 asks: on a cluster made in an en_US locale these lists
    came out in another order."""
    sessions = db.make_sessionmaker(icu_engine)
    with sessions.begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username='alice', tenant_uuid=top, password_hash='x')
        s.add(user)
        s.flush()
        for client_id in reversed(IDS):
            s.add(RefreshToken(token_hash=os.urandom(32), client_id=client_id,
                               user_uuid=user.uuid, login='alice'))
            client = Client(uuid=uuid.uuid4(), client_id=client_id, name=client_id,
                            tenant_uuid=top)
            s.add(client)
            s.flush()
            s.add(Consent(user_uuid=user.uuid, client_uuid=client.uuid, scope=['openid']))
    with sessions() as s:
        def order(base, columns, by):
            rows = paginate(s, base, ListQuery(order=by), columns=columns)[2]
            return [getattr(row, by, None) or getattr(row[0], by) for row in rows]
        assert order(refresh_repo.listing([top]), refresh_repo.LIST_COLUMNS, 'client_id') == IDS
        assert order(client_repo.listing([top]), client_repo.LIST_COLUMNS, 'client_id') == IDS
        assert order(client_repo.listing([top]), client_repo.LIST_COLUMNS, 'name') == IDS
        assert order(oidc_repo.consent_listing(user.uuid), oidc_repo.CONSENT_COLUMNS,
                     'client_id') == IDS


def test_a_jwt_revoked_in_its_last_seconds_is_listed_whatever_the_database_clock(
        api, admin_token, make_user, realm, clock, oauth_config):
    """The trigger writing the feed kept a deleted token only when its expires_at, set with
    the service's clock, was still ahead of PostgreSQL's clock_timestamp(): with the database
    7 s ahead, a JWT revoked 2 s before its exp (by the service's and the verifiers' clocks)
    was left off the feed, and offline verifiers accepted it until exp + leeway."""
    lifetime = oauth_config['default_token_lifetime']
    clock.advance(-lifetime - 5)  # the JWT issued so as to expire 5 s ago by the database
    world = users_jwt(api, admin_token, make_user, realm)
    clock.advance(lifetime - 2)  # the service 7 s behind the database: 2 s left by its clock
    assert api.is_valid(world['token'], scope=SCOPE)
    before = feed(api, admin_token)

    wazo_delete(world)

    assert world['claims']['jti'] in revoked_jtis(api, admin_token, since=before['cursor'])


@pytest.mark.parametrize('key, value', [('default_user_policy', 'every\udc80one'),
                                        ('uuid', 'xivo-\udc80')])
def test_a_lone_surrogate_in_a_string_every_login_uses_is_a_configuration_error(
        make_config, db_uri, engine, make_user, key, value):
    """A YAML "\\udc80" escape in default_user_policy or uuid passed the configuration check,
    then every login answered 500 (psycopg2 cannot encode the value for the ACL query or the
    token row); it is a configuration error naming the key, as a NUL is."""
    try:
        config = make_config(db_uri=db_uri, **{key: value})
    except ConfigError as e:
        assert f'{key}: must be' in str(e) and value not in str(e)
        return
    make_user('alice', 's3cret')
    with running_app(config, engine) as app:
        answer = app.test_client().post('/api/auth/0.1/token', json={},
                                        headers=basic('alice', 's3cret'))
    assert answer.status_code == 200, answer.data[:300]
