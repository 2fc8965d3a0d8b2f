"""OAuth 2.0 client administration (/clients) and clients declared in configuration."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from sqlalchemy import select

from tests.support.envelope import RequestsAdapter, assert_envelope
from tests.support.polling import wait_until
from wazo_like_auth.config import ConfigError
from wazo_like_auth.config_view import public_view
from wazo_like_auth.oauth_models import Client
from wazo_like_auth.server import prepare_database

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'


def test_secret_is_shown_once_and_stored_as_a_bcrypt_hash(api, make_client, admin_token,
                                                          sessions):
    created = make_client('backend', name='Backend', acl=['confd.#'])
    fetched = api.admin('GET', f'/clients/{created["uuid"]}', admin_token).json()

    assert created['client_secret'] and len(created['client_secret']) >= 40
    assert 'client_secret' not in fetched
    assert fetched == {key: value for key, value in created.items() if key != 'client_secret'}
    assert fetched['grant_types'] == ['client_credentials'] and fetched['read_only'] is False
    with sessions() as db:
        stored = db.scalars(select(Client.secret_hash)).one()
    assert stored.startswith('$2b$') and created['client_secret'] not in stored


def test_answers_carrying_a_client_secret_are_not_cacheable(api, admin_token):
    created = api.admin('POST', '/clients', admin_token, json={'client_id': 'cache-me'})
    rotated = api.admin('POST', f'/clients/{created.json()["uuid"]}/secret', admin_token)
    for response in (created, rotated):
        assert response.status_code == 200 and response.json()['client_secret']
        assert response.headers['Cache-Control'] == 'no-store'
        assert response.headers['Pragma'] == 'no-cache'


def test_public_client_has_no_secret_and_device_grants_by_default(make_client):
    created = make_client('tv', public=True)
    assert 'client_secret' not in created
    assert created['grant_types'] == [DEVICE, 'refresh_token']


def test_client_id_is_generated_when_omitted(api, admin_token):
    created = api.admin('POST', '/clients', admin_token, json={}).json()
    assert created['client_id'].startswith('client-') and created['client_secret']


@pytest.mark.parametrize('body, field', [
    ({'client_id': '0e4bc4b1-2c56-4e0a-9d5b-7f0c0d0c0a6f'}, 'client_id'),
    ({'client_id': 'has space'}, 'client_id'),
    ({'client_id': 'x', 'public': True, 'grant_types': ['client_credentials']}, 'grant_types'),
    ({'client_id': 'x', 'grant_types': ['implicit']}, 'grant_types'),
    ({'client_id': 'x', 'policies': ['0e4bc4b1-2c56-4e0a-9d5b-7f0c0d0c0a6f']}, 'policies'),
    ({'client_id': 'x', 'acl': [42]}, 'acl'),
])
def test_invalid_client_bodies_are_400(api, admin_token, body, field):
    response = api.admin('POST', '/clients', admin_token, json=body)
    assert field in assert_envelope(RequestsAdapter(response), 400)['details']


def test_taken_client_id_is_409(api, make_client, admin_token):
    make_client('backend')
    response = api.admin('POST', '/clients', admin_token, json={'client_id': 'backend'})
    assert_envelope(RequestsAdapter(response), 409)


def test_list_search_order_and_pagination(api, make_client, admin_token):
    for client_id in ('charlie', 'alpha', 'bravo'):
        make_client(client_id, name=f'{client_id} app')

    page = api.admin('GET', '/clients', admin_token,
                     params={'order': 'client_id', 'direction': 'desc', 'limit': 2}).json()
    searched = api.admin('GET', '/clients', admin_token, params={'search': 'rav'}).json()

    assert (page['total'], page['filtered']) == (3, 3)
    assert [c['client_id'] for c in page['items']] == ['charlie', 'bravo']
    assert [c['client_id'] for c in searched['items']] == ['bravo']
    assert all('client_secret' not in c for c in page['items'])


def test_update_replaces_name_acl_and_grants(api, make_client, admin_token):
    created = make_client('backend', acl=['a.b'])
    response = api.admin('PUT', f'/clients/{created["uuid"]}', admin_token, json={
        'client_id': 'renamed', 'name': 'New', 'acl': ['c.d'],
        'grant_types': ['client_credentials', 'password']})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated['client_id'], updated['name'], updated['acl']) == ('backend', 'New', ['c.d'])
    assert updated['grant_types'] == ['client_credentials', 'password']


def test_nobody_hands_a_client_access_they_do_not_hold(api, make_user, make_client):
    make_user('clerk', 'pw', acl=['auth.clients.#', 'confd.users.read'])
    token = api.login('clerk', 'pw')

    refused = api.admin('POST', '/clients', token,
                        json={'client_id': 'sneaky', 'acl': ['confd.#']})
    allowed = api.admin('POST', '/clients', token,
                        json={'client_id': 'fine', 'acl': ['confd.users.read', '!x']})

    assert assert_envelope(RequestsAdapter(refused), 401)['details']['required_access'] == 'confd.#'
    assert allowed.status_code == 200


def test_client_endpoints_need_their_acl(api, make_user):
    make_user('nobody', 'pw')
    token = api.login('nobody', 'pw')
    assert_envelope(RequestsAdapter(api.admin('GET', '/clients', token)), 401)
    assert_envelope(RequestsAdapter(api.admin('POST', '/clients', token, json={})), 401)


def test_clients_of_other_tenants_are_invisible(api, admin_token, make_user, make_client):
    created = make_client('top-client')
    tenant = api.admin('POST', '/tenants', admin_token, json={'name': 'child'}).json()
    make_user('child-admin', 'pw', acl=['auth.clients.#'], tenant_uuid=tenant['uuid'])
    token = api.login('child-admin', 'pw')

    listed = api.admin('GET', '/clients', token).json()
    fetched = api.admin('GET', f'/clients/{created["uuid"]}', token)
    own = api.admin('POST', '/clients', token, json={'client_id': 'child-client'}).json()

    assert listed['total'] == 0
    assert_envelope(RequestsAdapter(fetched), 404)
    assert own['tenant_uuid'] == tenant['uuid']


def test_deleting_a_client_revokes_what_was_issued_to_it(api, make_client, admin_token,
                                                         make_user):
    make_user('alice', 's3cret')
    created = make_client('app', grant_types=['client_credentials', 'password',
                                              'refresh_token'])
    own = OAuth2Session('app', created['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')
    user = OAuth2Session('app', created['client_secret'], scope='offline_access').fetch_token(
        api.token_url(), username='alice', password='s3cret')

    response = api.admin('DELETE', f'/clients/{created["uuid"]}', admin_token)

    assert response.status_code == 204
    assert not api.is_valid(own['access_token'])
    assert not api.is_valid(user['access_token'])
    wazo = api.session.post(f'{api.url}/token', json={'refresh_token': user['refresh_token'],
                                                      'client_id': 'app'}, timeout=10)
    assert wazo.status_code == 401


def test_configured_clients_are_reconciled_at_startup(api, make_config, db_uri, admin_token,
                                                      make_client):
    api.admin('POST', '/policies', admin_token, json={'name': 'readers', 'slug': 'readers',
                                                      'acl': ['dird.#']})
    make_client('api-made')
    declared = [{'client_id': 'unattended', 'client_secret': 'a-long-enough-secret',
                 'acl': ['confd.#'], 'policies': ['readers']},
                {'client_id': 'api-made', 'client_secret': 'another-long-secret'}]
    prepare_database(make_config(db_uri=db_uri, clients=declared))

    items = {c['client_id']: c for c in api.admin('GET', '/clients', admin_token).json()['items']}
    token = OAuth2Session('unattended', 'a-long-enough-secret').fetch_token(
        api.token_url(), grant_type='client_credentials')
    configured = items['unattended']

    assert configured['read_only'] is True
    assert [p['slug'] for p in configured['policies']] == ['readers']
    assert api.is_valid(token['access_token'], scope='dird.x')
    assert items['api-made']['read_only'] is False  # an API client is never taken over
    assert api.admin('PUT', f'/clients/{configured["uuid"]}', admin_token,
                     json={}).status_code == 403
    assert api.admin('DELETE', f'/clients/{configured["uuid"]}', admin_token).status_code == 403

    prepare_database(make_config(db_uri=db_uri, clients=[]))

    # Revoked by another process: the serving app's validation cache learns it through
    # PostgreSQL notifications, a moment later.
    assert wait_until(lambda: not api.is_valid(token['access_token']), interval=0.05)
    with pytest.raises(OAuthError):
        OAuth2Session('unattended', 'a-long-enough-secret').fetch_token(
            api.token_url(), grant_type='client_credentials')


@pytest.mark.parametrize('clients', [
    [{'client_id': 'x'}],
    [{'client_id': 'x', 'client_secret': 'short'}],
    [{'client_id': 'x', 'public': True, 'client_secret': 'a-long-enough-secret'}],
    [{'client_id': 'x', 'public': True, 'grant_types': ['client_credentials']}],
    [{'client_id': 'x', 'public': True}, {'client_id': 'x', 'public': True}],
    [{'client_id': 'x', 'public': True, 'colour': 'blue'}],
    {'client_id': 'x'},
])
def test_bad_client_configuration_stops_startup(make_config, clients):
    with pytest.raises(ConfigError, match='clients'):
        make_config(clients=clients)


def test_client_secrets_are_masked_in_the_public_config(make_config):
    config = make_config(clients=[{'client_id': 'x', 'client_secret': 'a-long-enough-secret'}])
    assert public_view(config)['clients'][0]['client_secret'] == '********'
    assert config['clients'][0]['client_secret'] == 'a-long-enough-secret'


def test_a_client_shows_and_keeps_the_policies_its_reader_cannot_see(
        admin, client, make_user, login):
    from tests.support.admin_client import AdminClient, token_of
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    hidden = admin.ok('POST', '/policies', json={'name': 'top-secret', 'acl': []})
    created = admin.ok('POST', '/clients', tenant=child, json={'client_id': 'kiosk'})
    admin.ok('PUT', f"/clients/{created['uuid']}",
             json={'client_id': 'kiosk', 'policies': [hidden['uuid']]})
    make_user('child-admin', acl=['auth.#'], tenant_uuid=child)
    child_admin = AdminClient(client, token_of(login, 'child-admin'))
    assert child_admin.get(f"/policies/{hidden['uuid']}").status_code == 404

    shown = child_admin.ok('GET', f"/clients/{created['uuid']}")
    listed = child_admin.ok('GET', '/clients')['items']
    assert shown['policies'] == [] and [c['policies'] for c in listed] == [[]]
    child_admin.ok('PUT', f"/clients/{created['uuid']}",
                   json={'client_id': 'kiosk', 'name': 'Lobby kiosk'})
    # The policy attached from above stays: the child's replacement replaced what it sees.
    kept = admin.ok('GET', f"/clients/{created['uuid']}")
    assert [p['uuid'] for p in kept['policies']] == [hidden['uuid']]
