"""OAuth 2.0 token endpoint grants, driven by client libraries nobody here wrote (authlib,
requests-oauthlib) against the app served over real HTTP. The tokens are the Wazo tokens:
HEAD /token/{t} accepts them and they are listed in the sessions."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from oauthlib.oauth2 import BackendApplicationClient, LegacyApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session


PASSWORD_GRANTS = ['password', 'refresh_token']


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', acl=['auth.users.me.tokens.read', 'confd.#'])


def test_password_grant_with_authlib_gives_a_wazo_token_and_a_refresh_token(
        api, make_client, alice):
    app = make_client('webapp', grant_types=PASSWORD_GRANTS)
    session = OAuth2Session('webapp', app['client_secret'], scope='offline_access')

    token = session.fetch_token(api.token_url(), username='alice', password='s3cret')

    assert token['token_type'] == 'Bearer'
    assert token['expires_in'] == 7200
    assert token['refresh_token']
    assert set(token['scope'].split()) == {'auth.users.me.tokens.read', 'confd.#',
                                           'offline_access'}
    assert api.is_valid(token['access_token'], scope='confd.users.read')
    # The bearer token works on protected endpoints, and the refresh token is the Wazo one.
    listed = session.get(f'{api.url}/users/me/tokens', timeout=10)
    assert listed.status_code == 200, listed.text
    assert [item['client_id'] for item in listed.json()['items']] == ['webapp']


def test_password_grant_without_offline_access_gives_no_refresh_token(api, make_client, alice):
    app = make_client('webapp', grant_types=PASSWORD_GRANTS)
    session = OAuth2Session('webapp', app['client_secret'])

    token = session.fetch_token(api.token_url(), username='alice', password='s3cret')

    assert 'refresh_token' not in token
    assert api.is_valid(token['access_token'])


def test_password_grant_with_requests_oauthlib(api, make_client, alice, insecure_transport):
    app = make_client('legacy', grant_types=['password'])
    session = RequestsOAuth2Session(client=LegacyApplicationClient(client_id='legacy'))

    token = session.fetch_token(api.token_url(), username='alice', password='s3cret',
                                client_id='legacy', client_secret=app['client_secret'])

    assert api.is_valid(token['access_token'])


def test_wrong_password_is_invalid_grant_for_requests_oauthlib(api, make_client, alice,
                                                               insecure_transport):
    app = make_client('legacy', grant_types=['password'])
    session = RequestsOAuth2Session(client=LegacyApplicationClient(client_id='legacy'))

    with pytest.raises(InvalidGrantError):
        session.fetch_token(api.token_url(), username='alice', password='wrong',
                            client_id='legacy', client_secret=app['client_secret'])


def test_public_client_password_grant_and_refresh_with_authlib(api, make_client, alice):
    make_client('mobile', public=True, grant_types=PASSWORD_GRANTS)
    session = OAuth2Session('mobile', token_endpoint_auth_method='none',
                            scope='offline_access')
    first = session.fetch_token(api.token_url(), username='alice', password='s3cret')

    refreshed = session.refresh_token(api.token_url(), refresh_token=first['refresh_token'])

    assert refreshed['access_token'] != first['access_token']
    assert api.is_valid(refreshed['access_token'])
    assert api.is_valid(first['access_token'])


def test_refresh_grant_with_requests_oauthlib(api, make_client, alice, insecure_transport):
    app = make_client('webapp', grant_types=PASSWORD_GRANTS)
    first = OAuth2Session('webapp', app['client_secret'], scope='offline_access') \
        .fetch_token(api.token_url(), username='alice', password='s3cret')
    session = RequestsOAuth2Session('webapp', token=first)

    refreshed = session.refresh_token(api.token_url(), refresh_token=first['refresh_token'],
                                      auth=('webapp', app['client_secret']))

    assert api.is_valid(refreshed['access_token'])


def test_wazo_offline_login_refresh_token_works_at_the_oauth_endpoint(api, make_client, alice):
    """One refresh-token store: access_type=offline through the Wazo API with the client's
    client_id gives a refresh token the OAuth client can use."""
    make_client('mobile', public=True, grant_types=PASSWORD_GRANTS)
    wazo = api.session.post(f'{api.url}/token', auth=('alice', 's3cret'), timeout=10,
                            json={'access_type': 'offline', 'client_id': 'mobile'})
    refresh_token = wazo.json()['data']['refresh_token']
    session = OAuth2Session('mobile', token_endpoint_auth_method='none')

    token = session.refresh_token(api.token_url(), refresh_token=refresh_token)

    assert api.is_valid(token['access_token'])


@pytest.mark.parametrize('method', ['client_secret_basic', 'client_secret_post'])
def test_client_credentials_with_authlib(api, make_client, method, admin_token):
    service = make_client('backend', acl=['confd.users.read'])
    session = OAuth2Session('backend', service['client_secret'],
                            token_endpoint_auth_method=method)

    token = session.fetch_token(api.token_url(), grant_type='client_credentials')

    assert 'refresh_token' not in token
    assert token['scope'] == 'confd.users.read'
    assert api.is_valid(token['access_token'], scope='confd.users.read')
    assert not api.is_valid(token['access_token'], scope='confd.users.delete')
    assert api.is_valid(token['access_token'], tenant=service['tenant_uuid'])
    checked = api.session.get(f'{api.url}/token/{token["access_token"]}', timeout=10).json()
    assert checked['data']['auth_id'] == 'backend'
    assert checked['data']['metadata']['tenant_uuid'] == service['tenant_uuid']
    sessions = api.admin('GET', '/sessions', admin_token).json()['items']
    assert {'tenant_uuid': service['tenant_uuid'], 'user_uuid': None} in [
        {'tenant_uuid': s['tenant_uuid'], 'user_uuid': s['user_uuid']} for s in sessions]


def test_client_credentials_with_requests_oauthlib(api, make_client, insecure_transport):
    service = make_client('backend', acl=['confd.#'])
    session = RequestsOAuth2Session(client=BackendApplicationClient(client_id='backend'))

    token = session.fetch_token(api.token_url(), client_secret=service['client_secret'])

    assert api.is_valid(token['access_token'], scope='confd.users.read')


def test_client_token_acl_includes_its_policies(api, make_client, admin_token):
    policy = api.admin('POST', '/policies', admin_token,
                       json={'name': 'readers', 'acl': ['dird.#']}).json()
    service = make_client('backend', acl=['confd.users.read'], policies=[policy['uuid']])
    session = OAuth2Session('backend', service['client_secret'])

    token = session.fetch_token(api.token_url(), grant_type='client_credentials')

    assert api.is_valid(token['access_token'], scope='dird.phonebook.read')
    assert api.is_valid(token['access_token'], scope='confd.users.read')


def test_refresh_token_of_another_client_is_invalid_grant(api, make_client, alice):
    make_client('one', public=True, grant_types=PASSWORD_GRANTS)
    make_client('two', public=True, grant_types=PASSWORD_GRANTS)
    first = OAuth2Session('one', token_endpoint_auth_method='none', scope='offline_access') \
        .fetch_token(api.token_url(), username='alice', password='s3cret')

    with pytest.raises(OAuthError) as refused:
        OAuth2Session('two', token_endpoint_auth_method='none').refresh_token(
            api.token_url(), refresh_token=first['refresh_token'])

    assert refused.value.error == 'invalid_grant'


def test_wrong_secret_is_invalid_client_for_requests_oauthlib(api, make_client,
                                                              insecure_transport):
    make_client('backend')
    session = RequestsOAuth2Session(client=BackendApplicationClient(client_id='backend'))

    with pytest.raises(OAuth2Error) as refused:
        session.fetch_token(api.token_url(), client_secret='not-the-secret')

    assert refused.value.error == 'invalid_client'
    assert refused.value.status_code == 401


def test_rotated_secret_replaces_the_old_one(api, make_client, admin_token):
    first = make_client('backend')
    rotated = api.admin('POST', f'/clients/{first["uuid"]}/secret', admin_token).json()
    url = api.token_url()

    with pytest.raises(OAuthError):
        OAuth2Session('backend', first['client_secret']).fetch_token(
            url, grant_type='client_credentials')
    token = OAuth2Session('backend', rotated['client_secret']).fetch_token(
        url, grant_type='client_credentials')

    assert api.is_valid(token['access_token'])


def test_client_token_calls_protected_endpoints_in_its_tenant(api, make_client):
    service = make_client('backend', acl=['auth.sessions.read'])
    session = OAuth2Session('backend', service['client_secret'])
    session.fetch_token(api.token_url(), grant_type='client_credentials')

    listed = session.get(f'{api.url}/sessions', timeout=10)

    assert listed.status_code == 200, listed.text
    assert service['tenant_uuid'] in {s['tenant_uuid'] for s in listed.json()['items']}


def test_refresh_token_of_a_confidential_client_is_refused_on_the_wazo_path(
        api, make_client, alice):
    """RFC 6749 §6: a confidential client authenticates to redeem its refresh token; the Wazo
    refresh login has no client authentication, so it refuses such client_ids."""
    app = make_client('webapp', grant_types=PASSWORD_GRANTS)
    session = OAuth2Session('webapp', app['client_secret'], scope='offline_access')
    token = session.fetch_token(api.token_url(), username='alice', password='s3cret')

    wazo = api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': token['refresh_token'], 'client_id': 'webapp'})

    assert wazo.status_code == 401
    assert wazo.json()['message'] == 'Authentication Failed'
    assert api.is_valid(session.refresh_token(api.token_url())['access_token'])
