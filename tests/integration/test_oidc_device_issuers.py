"""A device authorization (RFC 8628) belongs to the issuer it was requested at, as on a
production identity provider with one issuer per realm: only that issuer's verification page
finds its user code (elsewhere it reads as a mistyped code), only its token endpoint redeems
the device code (elsewhere ``invalid_grant``, RFC 6749 §5.2, and the code stays usable), and
its ID token and JWT access token name that issuer. The device polls with authlib; the person
uses the verification pages' forms; tokens are validated by authlib against ``certs``."""
from __future__ import annotations

import pytest
import requests
from alembic import command
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, jwt
from sqlalchemy import text

from tests.integration.test_oidc_flow import discover, validated_id_token
from tests.support.device_flow import DEVICE, Person
from tests.support.oauth_live import assert_oauth_error
from tests.support.oidc import realm, register_client  # noqa: F401
from tests.support.scratch_db import columns, migrate, scratch  # noqa: F401
from wazo_like_auth import db

UNKNOWN = 'This code is unknown or has expired.'


@pytest.fixture
def tv(api, admin_token, realm):  # noqa: F811
    """A public device client of the realm acme, with JWT access tokens."""
    return register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                           redirect_uris=[], grant_types=[DEVICE, 'refresh_token'],
                           access_token_format='jwt')


def _start(url: str, scope: str = 'openid profile') -> dict:
    response = requests.post(url, data={'client_id': 'tv', 'scope': scope}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _poll(token_endpoint: str, device_code: str) -> dict:
    return OAuth2Session('tv', token_endpoint_auth_method='none').fetch_token(
        token_endpoint, grant_type=DEVICE, device_code=device_code)


def _poll_raw(token_endpoint: str, device_code: str) -> requests.Response:
    return requests.post(token_endpoint, timeout=10, data={
        'grant_type': DEVICE, 'client_id': 'tv', 'device_code': device_code})


def _approve(verification_uri_complete: str) -> None:
    person = Person()
    consent = person.sign_in(verification_uri_complete, 'alice', 's3cret')
    assert consent.status_code == 200 and 'name="consent"' in consent.text, consent.text
    assert person.decide(consent, 'approve').status_code == 200


def _page_of(verification_uri_complete: str, base: str) -> str:
    """The same link on another issuer's verification page (``base``: that issuer)."""
    return base + '/device?' + verification_uri_complete.split('?', 1)[1]


def test_a_realms_code_is_approved_and_redeemed_at_that_realm_only(api, admin_token,
                                                                   make_user, realm, tv):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    metadata = discover(f'{api.base}/realms/acme')
    started = _start(metadata['device_authorization_endpoint'])
    assert started['verification_uri'] == f'{api.base}/realms/acme/device'

    # The global issuer's page (which takes every tenant's users) does not find it.
    person = Person()
    elsewhere = person.sign_in(_page_of(started['verification_uri_complete'], api.url),
                               'alice', 's3cret')
    assert elsewhere.status_code == 400 and UNKNOWN in elsewhere.text
    assert 'name="consent"' not in elsewhere.text

    _approve(started['verification_uri_complete'])
    # Approved, the global token endpoint still does not redeem it, and leaves it usable.
    refused = _poll_raw(api.token_url(), started['device_code'])
    assert_oauth_error(refused, 400, 'invalid_grant')
    with pytest.raises(OAuthError) as authlib_refused:
        _poll(api.token_url(), started['device_code'])
    assert authlib_refused.value.error == 'invalid_grant'

    token = _poll(metadata['token_endpoint'], started['device_code'])
    claims = validated_id_token(metadata, token, 'tv', None)
    assert claims['iss'] == f'{api.base}/realms/acme'
    keys = JsonWebKey.import_key_set(requests.get(metadata['jwks_uri'], timeout=10).json())
    access = jwt.decode(token['access_token'], keys)
    assert access['iss'] == f'{api.base}/realms/acme' and access['sub'] == claims['sub']
    assert api.is_valid(token['access_token'])


def test_a_global_code_is_unknown_at_a_realm(api, admin_token, make_user, realm, tv):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    realm_token = f'{api.base}/realms/acme/protocol/openid-connect/token'
    started = _start(f'{api.url}/oauth2/device_authorization')
    assert started['verification_uri'] == f'{api.url}/device'

    realm_page = _page_of(started['verification_uri_complete'], f'{api.base}/realms/acme')
    refused_page = Person().sign_in(realm_page, 'alice', 's3cret')
    assert refused_page.status_code == 400 and UNKNOWN in refused_page.text

    _approve(started['verification_uri_complete'])
    assert_oauth_error(_poll_raw(realm_token, started['device_code']), 400, 'invalid_grant')
    token = _poll(api.token_url(), started['device_code'])
    metadata = discover(api.url)
    assert validated_id_token(metadata, token, 'tv', None)['iss'] == api.url


def test_another_realms_page_does_not_find_the_code(api, admin_token, admin, make_user,
                                                    realm, tv):
    beta = admin.ok('POST', '/tenants', json={'name': 'Beta', 'slug': 'beta'})
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('bea', 'b3apass', tenant_uuid=beta['uuid'])
    started = _start(f'{api.base}/realms/acme/protocol/openid-connect/auth/device')
    beta_page = _page_of(started['verification_uri_complete'], f'{api.base}/realms/beta')

    for login, password in (('bea', 'b3apass'), ('alice', 's3cret')):
        page = Person().sign_in(beta_page, login, password)
        assert page.status_code == 400 and UNKNOWN in page.text
        assert 'text/html' in page.headers['Content-Type']
    assert Person().open(beta_page).status_code == 200  # the page itself is there
    unknown_realm = Person().open(_page_of(started['verification_uri_complete'],
                                           f'{api.base}/realms/nowhere'))
    assert unknown_realm.status_code == 404 and 'There is no page at this address' in \
        unknown_realm.text and 'text/html' in unknown_realm.headers['Content-Type']

    _approve(started['verification_uri_complete'])  # still pending at its own realm
    token = _poll(f'{api.base}/realms/acme/protocol/openid-connect/token',
                  started['device_code'])
    assert api.is_valid(token['access_token'])


def test_a_consent_is_decided_on_its_own_realms_page_only(api, admin_token, make_user, realm,
                                                          tv):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    started = _start(f'{api.base}/realms/acme/protocol/openid-connect/auth/device')
    person = Person()
    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert consent.status_code == 200
    # The same consent form posted to the global page's decision (the CSRF cookie is the
    # device pages' own, valid there): not this page's request.
    moved = requests.Response()
    moved.url, moved._content = f'{api.url}/device', consent.content
    elsewhere = person.decide(moved, 'approve')
    assert elsewhere.status_code == 400 and 'no longer pending' in elsewhere.text

    assert person.decide(consent, 'approve').status_code == 200
    token = _poll(f'{api.base}/realms/acme/protocol/openid-connect/token',
                  started['device_code'])
    assert api.is_valid(token['access_token'])


def test_a_realms_page_takes_only_the_realms_own_users(api, admin_token, admin, make_user,
                                                      realm, tv):
    """A realm is one tenant, as its sign-in page and password grant say: a user of a
    sub-tenant signing in on the realm's device page reads as wrong credentials (no consent
    asked), rather than approving a code the realm's token endpoint would then refuse."""
    sales = admin.ok('POST', '/tenants', json={'name': 'Sales', 'slug': 'acmesales'},
                     tenant=realm['uuid'])
    assert sales['parent_uuid'] == realm['uuid']
    make_user('sam', 's4mpass', tenant_uuid=sales['uuid'])
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    started = _start(f'{api.base}/realms/acme/protocol/openid-connect/auth/device')

    refused = Person().sign_in(started['verification_uri_complete'], 'sam', 's4mpass')
    assert refused.status_code == 401 and 'Wrong username or password.' in refused.text
    assert 'name="consent"' not in refused.text
    assert_oauth_error(_poll_raw(f'{api.base}/realms/acme/protocol/openid-connect/token',
                                 started['device_code']), 400, 'authorization_pending')

    _approve(started['verification_uri_complete'])  # the code is still there for alice
    token = _poll(f'{api.base}/realms/acme/protocol/openid-connect/token',
                  started['device_code'])
    assert api.is_valid(token['access_token'])


def test_the_migration_adds_the_issuer_and_goes_back(scratch):  # noqa: F811
    """The device-code issuer migration (0015) on a database of its own: downgrade drops
    the column, upgrade brings it back and forgets the authorizations whose issuer is
    unknown."""
    db.upgrade(scratch)
    assert 'issuer' in columns(scratch, 'auth_device_code')
    migrate(scratch, command.downgrade, '0014')
    assert 'issuer' not in columns(scratch, 'auth_device_code')
    with scratch.begin() as conn:
        conn.execute(text(
            "INSERT INTO auth_client (uuid, client_id, tenant_uuid, public) "
            "SELECT gen_random_uuid(), 'old-tv', uuid, true FROM tenant "
            "WHERE uuid = parent_uuid"))
        conn.execute(text(
            "INSERT INTO auth_device_code (uuid, device_code_hash, user_code, client_uuid,"
            " poll_interval, expires_at) SELECT gen_random_uuid(), '\\x01', 'BCDFGHJK', "
            "uuid, 5, now() + interval '5 minutes' FROM auth_client"))
    migrate(scratch, command.upgrade, 'head')
    assert 'issuer' in columns(scratch, 'auth_device_code')
    with scratch.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM auth_device_code')).scalar() == 0
