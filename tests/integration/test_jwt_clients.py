"""``access_token_format`` and ``access_token_audience`` of clients: the admin API (create,
read, list, update, bad values) and clients declared in the configuration."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.support.envelope import RequestsAdapter, assert_envelope
from tests.support.jwt_access import decoded, register_jwt_client
from wazo_like_auth.config import ConfigError
from wazo_like_auth.server import prepare_database


def test_a_client_is_opaque_by_default_and_jwt_when_asked(api, admin_token, make_client):
    plain = make_client('plain')
    made = register_jwt_client(api, admin_token, 'billing', access_token_audience='billing-api')

    assert (plain['access_token_format'], plain['access_token_audience']) == ('opaque', [])
    assert made['access_token_format'] == 'jwt'
    assert made['access_token_audience'] == ['billing-api']  # a string reads as a list
    read = api.admin('GET', f"/clients/{made['uuid']}", admin_token).json()
    assert (read['access_token_format'], read['access_token_audience']) == ('jwt',
                                                                            ['billing-api'])
    listed = api.admin('GET', '/clients', admin_token,
                       params={'client_id': 'billing'}).json()['items']
    assert listed[0]['access_token_format'] == 'jwt'


def test_update_switches_the_format_of_new_tokens_only(api, admin_token, make_client):
    made = make_client('billing', acl=['confd.users.read'])
    session = OAuth2Session('billing', made['client_secret'])
    opaque = session.fetch_token(api.token_url(), grant_type='client_credentials')

    updated = api.admin('PUT', f"/clients/{made['uuid']}", admin_token, json={
        'acl': ['confd.users.read'], 'access_token_format': 'jwt',
        'access_token_audience': ['a', 'b', 'a']}).json()
    jwt_token = session.fetch_token(api.token_url(), grant_type='client_credentials')

    assert updated['access_token_audience'] == ['a', 'b']
    _, claims = decoded(f'{api.url}/oauth2/certs', jwt_token['access_token'])
    assert claims['aud'] == ['a', 'b']
    assert api.is_valid(opaque['access_token']) and api.is_valid(jwt_token['access_token'])
    reverted = api.admin('PUT', f"/clients/{made['uuid']}", admin_token,
                         json={'acl': ['confd.users.read']}).json()
    assert reverted['access_token_format'] == 'opaque'  # PUT replaces: omitted is default


@pytest.mark.parametrize('fields, field', [
    ({'access_token_format': 'JWT'}, 'access_token_format'),
    ({'access_token_format': 'paseto'}, 'access_token_format'),
    ({'access_token_format': None}, 'access_token_format'),
    ({'access_token_audience': ''}, 'access_token_audience'),
    ({'access_token_audience': [42]}, 'access_token_audience'),
    ({'access_token_audience': {'a': 1}}, 'access_token_audience'),
    ({'access_token_audience': None}, 'access_token_audience'),
    ({'access_token_audience': ['x'] * 21}, 'access_token_audience'),
    ({'access_token_audience': ['a' * 2049]}, 'access_token_audience'),
    ({'access_token_audience': ['line\nbreak']}, 'access_token_audience'),
    ({'access_token_audience': ['nul\x00']}, 'access_token_audience'),
])
def test_bad_format_or_audience_is_400(api, admin_token, fields, field):
    response = api.admin('POST', '/clients', admin_token, json={'client_id': 'x', **fields})
    assert field in assert_envelope(RequestsAdapter(response), 400)['details']


def test_configured_jwt_clients_get_jwts(api, make_config, db_uri, admin_token):
    declared = [{'client_id': 'unattended', 'client_secret': 'a-long-enough-secret',
                 'acl': ['confd.#'], 'access_token_format': 'jwt',
                 'access_token_audience': 'https://confd.example.com'}]
    prepare_database(make_config(db_uri=db_uri, clients=declared))

    token = OAuth2Session('unattended', 'a-long-enough-secret').fetch_token(
        api.token_url(), grant_type='client_credentials')

    _, claims = decoded(f'{api.url}/oauth2/certs', token['access_token'])
    assert claims['aud'] == 'https://confd.example.com' and claims['sub'] == 'unattended'
    listed = {c['client_id']: c for c in api.admin('GET', '/clients', admin_token).json()['items']}
    assert listed['unattended']['access_token_format'] == 'jwt'
    prepare_database(make_config(db_uri=db_uri, clients=[]))


@pytest.mark.parametrize('item', [
    {'access_token_format': 'JWT'},
    {'access_token_format': True},
    {'access_token_audience': 42},
    {'access_token_audience': ['']},
])
def test_bad_format_or_audience_in_the_configuration_stops_startup(make_config, item):
    with pytest.raises(ConfigError, match='access_token'):
        make_config(clients=[{'client_id': 'x', 'public': True, **item}])
