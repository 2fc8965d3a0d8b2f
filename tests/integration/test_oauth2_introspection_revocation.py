"""Token introspection (RFC 7662) and revocation (RFC 7009) through authlib and oauthlib."""
from __future__ import annotations

import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import BackendApplicationClient
from sqlalchemy import text

from tests.support.oauth_live import assert_oauth_error
from tests.support.oidc import realm, register_client  # noqa: F401

GRANTS = ['password', 'refresh_token']


@pytest.fixture
def resource_server(make_client):
    """A confidential client that checks tokens, as an API would."""
    client = make_client('resource-server', grant_types=['client_credentials'])
    return OAuth2Session('resource-server', client['client_secret'])


@pytest.fixture
def webapp(make_client):
    client = make_client('webapp', grant_types=GRANTS)
    return OAuth2Session('webapp', client['client_secret'], scope='offline_access')


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', acl=['confd.users.me.read'], email='alice@example.com')


def introspect(api, session, token, hint=None) -> dict:
    response = session.introspect_token(f'{api.url}/oauth2/introspect', token=token,
                                        token_type_hint=hint)
    assert response.status_code == 200, response.text
    assert response.headers['Cache-Control'] == 'no-store'
    return response.json()


def test_introspection_describes_a_user_token(api, resource_server, webapp, alice):
    token = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')
    before = int(time.time())

    found = introspect(api, resource_server, token['access_token'])

    assert found['active'] is True
    assert found['scope'] == 'confd.users.me.read'
    assert found['client_id'] == 'webapp'
    assert found['username'] == 'alice'
    assert found['sub'] == str(alice)
    assert found['token_type'] == 'Bearer'
    assert before - 5 <= found['iat'] <= before + 5
    assert found['exp'] == found['iat'] + 7200


def test_introspection_describes_a_client_token(api, resource_server, make_client):
    backend = make_client('backend', acl=['confd.#'])
    token = OAuth2Session('backend', backend['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')

    found = introspect(api, resource_server, token['access_token'])

    assert found['active'] is True
    assert found['sub'] == 'backend' and found['client_id'] == 'backend'
    assert 'username' not in found
    assert found['tenant_uuid'] == backend['tenant_uuid']


def test_introspection_describes_a_wazo_api_token(api, resource_server, alice):
    found = introspect(api, resource_server, api.login('alice', 's3cret'))

    assert found['active'] is True and found['username'] == 'alice'
    assert 'client_id' not in found


@pytest.mark.parametrize('token', ['garbage', '12345678-1234-1234-1234-123456789abc'])
def test_unknown_token_is_inactive(api, resource_server, token):
    assert introspect(api, resource_server, token) == {'active': False}


def test_expired_token_is_inactive(api, resource_server, alice, engine):
    token = api.login('alice', 's3cret')
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_token SET expires_at = now() - interval '1 second'"))

    assert introspect(api, resource_server, token) == {'active': False}


def test_refresh_token_is_described_only_to_its_client(api, make_client, webapp, alice,
                                                       resource_server):
    token = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')

    own = introspect(api, webapp, token['refresh_token'], hint='refresh_token')
    other = introspect(api, resource_server, token['refresh_token'], hint='refresh_token')

    assert own['active'] is True and own['token_type'] == 'refresh_token'
    assert own['client_id'] == 'webapp' and own['sub'] == str(alice)
    assert other == {'active': False}


def test_refresh_token_of_a_disabled_user_is_inactive(api, webapp, alice, admin_token):
    token = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')
    disabled = api.admin('PUT', f'/users/{alice}', admin_token,
                         json={'username': 'alice', 'enabled': False})
    assert disabled.status_code == 200, disabled.text
    refused = api.post_form('/oauth2/token', {'grant_type': 'refresh_token',
                                              'refresh_token': token['refresh_token']},
                            auth=('webapp', webapp.client_secret))
    assert_oauth_error(refused, 400, 'invalid_grant')

    # RFC 7662 §2.2: active means usable; the exchange above refuses it.
    assert introspect(api, webapp, token['refresh_token'], hint='refresh_token') == \
        {'active': False}


def test_realm_introspection_refuses_a_refresh_token_of_a_sub_tenant_user(
        api, admin_token, make_user, realm):
    sub = api.admin('POST', '/tenants', admin_token, json={'name': 'Acme West'},
                    headers={'Wazo-Tenant': realm['uuid']})
    assert sub.status_code == 200, sub.text
    make_user('bob', 's3cret', tenant_uuid=sub.json()['uuid'])
    checker = register_client(api, admin_token, realm['uuid'], client_id='checker',
                              grant_types=GRANTS, redirect_uris=[])
    session = OAuth2Session('checker', checker['client_secret'], scope='offline_access')
    # The global endpoint serves the client's tenant and below; the realm, its tenant only.
    token = session.fetch_token(api.token_url(), username='bob', password='s3cret')
    realm_url = f'{api.base}/realms/acme/protocol/openid-connect'
    refused = api.session.post(f'{realm_url}/token', timeout=10, auth=(
        'checker', checker['client_secret']), data={'grant_type': 'refresh_token',
                                                    'refresh_token': token['refresh_token']})
    assert_oauth_error(refused, 400, 'invalid_grant')

    found = session.introspect_token(f'{realm_url}/token/introspect',
                                     token=token['refresh_token'])
    assert found.status_code == 200 and found.json() == {'active': False}


def test_public_clients_cannot_introspect(api, make_client, alice):
    make_client('tv', public=True)
    response = api.post_form('/oauth2/introspect', {'client_id': 'tv', 'token': 'x'})
    assert_oauth_error(response, 401, 'invalid_client')


def test_introspection_without_token_is_invalid_request(api, resource_server):
    response = resource_server.post(f'{api.url}/oauth2/introspect', data={},
                                    auth=resource_server.client_auth('client_secret_basic'),
                                    withhold_token=True)
    assert_oauth_error(response, 400, 'invalid_request')


def test_revoking_an_access_token(api, webapp, alice):
    token = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')

    response = webapp.revoke_token(f'{api.url}/oauth2/revoke', token=token['access_token'],
                                   token_type_hint='access_token')

    assert response.status_code == 200
    assert not api.is_valid(token['access_token'])
    assert webapp.refresh_token(api.token_url(), refresh_token=token['refresh_token'])


def test_revoking_a_refresh_token_revokes_the_sessions_created_from_it(api, webapp, alice):
    first = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')
    refreshed = webapp.refresh_token(api.token_url(), refresh_token=first['refresh_token'])
    unrelated = api.login('alice', 's3cret')

    response = webapp.revoke_token(f'{api.url}/oauth2/revoke', token=first['refresh_token'],
                                   token_type_hint='refresh_token')

    assert response.status_code == 200
    assert not api.is_valid(first['access_token'])
    assert not api.is_valid(refreshed['access_token'])
    assert api.is_valid(unrelated)
    refused = api.post_form('/oauth2/token', {'grant_type': 'refresh_token',
                                              'refresh_token': first['refresh_token']},
                            auth=webapp.client_auth('client_secret_basic'))
    assert_oauth_error(refused, 400, 'invalid_grant')


def test_revocation_request_built_by_oauthlib(api, make_client, insecure_transport):
    backend = make_client('backend')
    token = OAuth2Session('backend', backend['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')
    url, headers, body = BackendApplicationClient('backend').prepare_token_revocation_request(
        f'{api.url}/oauth2/revoke', token['access_token'], token_type_hint='access_token')

    response = api.session.post(url, data=body, headers=headers,
                                auth=('backend', backend['client_secret']))

    assert response.status_code == 200
    assert not api.is_valid(token['access_token'])


@pytest.mark.parametrize('token', ['unknown', '12345678-1234-1234-1234-123456789abc'])
def test_revoking_an_unknown_token_answers_200(api, webapp, token):
    response = webapp.revoke_token(f'{api.url}/oauth2/revoke', token=token)
    assert response.status_code == 200


def test_a_client_cannot_revoke_the_tokens_of_another(api, webapp, make_client, alice):
    token = webapp.fetch_token(api.token_url(), username='alice', password='s3cret')
    other = make_client('other', grant_types=['client_credentials'])
    session = OAuth2Session('other', other['client_secret'])

    for value in (token['access_token'], token['refresh_token']):
        assert session.revoke_token(f'{api.url}/oauth2/revoke', token=value).status_code == 200

    assert api.is_valid(token['access_token'])
    assert webapp.refresh_token(api.token_url(), refresh_token=token['refresh_token'])


def test_a_client_cannot_revoke_wazo_tokens_of_users_outside_its_tenants(
        api, admin_token, make_client, alice):
    # Alice (top tenant) uses the free-form Wazo client_id crm-app; another tenant registers
    # a client crm-app. It governs only its own tenants' (README, Security, client_id and
    # tenants): the tokens were not issued to it (RFC 7009 §2.1).
    wazo = api.session.post(f'{api.url}/token', auth=('alice', 's3cret'), timeout=10,
                            json={'access_type': 'offline', 'client_id': 'crm-app'})
    assert wazo.status_code == 200, wazo.text
    access, refresh = wazo.json()['data']['token'], wazo.json()['data']['refresh_token']
    other = api.admin('POST', '/tenants', admin_token, json={'name': 'Other'})
    assert other.status_code == 200, other.text
    crm = make_client('crm-app', grant_types=GRANTS,
                      headers={'Wazo-Tenant': other.json()['uuid']})

    for value in (access, refresh):
        response = api.post_form('/oauth2/revoke', {'token': value},
                                 auth=('crm-app', crm['client_secret']))
        assert response.status_code == 200, response.text

    assert api.is_valid(access)
    again = api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': refresh, 'client_id': 'crm-app'})
    assert again.status_code == 200, again.text


def test_revocation_with_a_wrong_secret_is_invalid_client(api, webapp):
    response = api.post_form('/oauth2/revoke', {'token': 'x'}, auth=('webapp', 'wrong'))
    assert_oauth_error(response, 401, 'invalid_client')


def test_tokens_are_issued_and_expire_by_the_service_clock(api, resource_server, make_client,
                                                           clock):
    backend = make_client('backend', acl=['confd.#'])
    clock.advance(3600)  # the service's clock, as tests move it: an hour ahead of the wall
    token = OAuth2Session('backend', backend['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')['access_token']

    found = introspect(api, resource_server, token)
    assert found['active'] is True
    assert abs(found['iat'] - (time.time() + 3600)) <= 5

    clock.advance(found['exp'] - found['iat'] + 1)  # just past its lifetime
    assert introspect(api, resource_server, token) == {'active': False}
