"""GET /config (admin spec §5.2) and GET /backends (§5.3)."""
from __future__ import annotations

import json

import pytest

from tests.support.admin_client import token_of
from tests.support.envelope import assert_envelope
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.http.api import PREFIXES

TOKEN_SECRET = 'token-secret-' + 'q' * 40
BOOTSTRAP_PASSWORD = 'bootstrap-pass-7731'
CLIENT_SECRET = 'client-secret-90817263'
DB_PASSWORD = 'db-pass-55120'
QUERY_PASSWORD = 'ssl-pass-99812'


@pytest.fixture
def secret_app(make_config, db_uri, engine):
    """An app whose configuration holds one of each kind of secret."""
    user, _, rest = db_uri.partition('://')[2].partition('@')
    shown_uri = f'postgresql://{user.split(":")[0]}:{DB_PASSWORD}@{rest}'
    config = make_config(
        db_uri=f'{shown_uri}?sslpassword={QUERY_PASSWORD}', token_secret=TOKEN_SECRET,
        bootstrap_user_username='boot', bootstrap_user_password=BOOTSTRAP_PASSWORD,
        clients=[{'client_id': 'svc', 'client_secret': CLIENT_SECRET}])
    app = create_app(config, engine=engine)  # the engine of the tests: the URI is only shown
    yield app
    shutdown(app)


@pytest.fixture
def secret_client(secret_app):
    return secret_app.test_client()


@pytest.fixture
def top_admin(secret_client, make_user, login):
    make_user('operator', acl=['auth.config.read'])
    return token_of(login, 'operator')


@pytest.mark.parametrize('prefix', PREFIXES)
def test_top_tenant_token_with_the_acl_reads_the_configuration(secret_client, top_admin,
                                                                prefix):
    response = secret_client.get(f'{prefix}/config', headers={'X-Auth-Token': top_admin})
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body['debug'], bool)
    assert body['rest_api']['port'] == 9497
    assert body['log_level'] == 'info'
    assert body['clients'][0]['client_id'] == 'svc'


def test_configuration_shows_no_secret(secret_client, top_admin):
    text = secret_client.get('/0.1/config', headers={'X-Auth-Token': top_admin}).get_data(
        as_text=True)
    for secret in (TOKEN_SECRET, BOOTSTRAP_PASSWORD, CLIENT_SECRET, DB_PASSWORD,
                   QUERY_PASSWORD):
        assert secret not in text
    body = json.loads(text)
    assert body['token_secret'] == body['bootstrap_user_password'] == '********'
    assert body['clients'][0]['client_secret'] == '********'
    assert body['bootstrap_user_username'] == 'boot'
    assert body['password_hash_rounds'] == 4  # named "password", not a secret


def test_bearer_token_works_too(secret_client, top_admin):
    response = secret_client.get('/0.1/config', headers={'Authorization': f'Bearer {top_admin}'})
    assert response.status_code == 200


def test_sub_tenant_token_is_refused_whatever_its_acl(secret_client, admin, make_user, login):
    tenant = admin.ok('POST', '/tenants', json={'name': 'sub'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=tenant)
    token = token_of(login, 'sub-admin')
    response = secret_client.get('/0.1/config', headers={'X-Auth-Token': token})
    body = assert_envelope(response, 401)
    assert body['error_id'] == 'unauthorized'
    assert TOKEN_SECRET not in response.get_data(as_text=True)


def test_wazo_tenant_does_not_make_a_sub_tenant_token_top(secret_client, admin, make_user,
                                                          login, top_tenant):
    tenant = admin.ok('POST', '/tenants', json={'name': 'sub'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=tenant)
    token = token_of(login, 'sub-admin')
    response = secret_client.get('/0.1/config', headers={'X-Auth-Token': token,
                                                         'Wazo-Tenant': str(top_tenant)})
    assert response.status_code == 401


def test_wazo_tenant_has_no_effect_for_a_top_tenant_token(secret_client, admin, top_admin):
    tenant = admin.ok('POST', '/tenants', json={'name': 'sub'})['uuid']
    response = secret_client.get('/0.1/config', headers={'X-Auth-Token': top_admin,
                                                         'Wazo-Tenant': tenant})
    assert response.status_code == 200


def test_token_without_the_acl_is_refused(secret_client, make_user, login):
    make_user('nobody', acl=['auth.users.read'])
    response = secret_client.get('/0.1/config',
                                 headers={'X-Auth-Token': token_of(login, 'nobody')})
    assert assert_envelope(response, 401)['details']['required_access'] == 'auth.config.read'


@pytest.mark.parametrize('token', [None, 'not-a-token', '00000000-0000-0000-0000-000000000000'])
def test_missing_or_unknown_token_is_refused(secret_client, token):
    headers = {'X-Auth-Token': token} if token else {}
    assert_envelope(secret_client.get('/0.1/config', headers=headers), 401)


def test_patch_is_not_served(secret_client, top_admin):
    response = secret_client.patch('/0.1/config', headers={'X-Auth-Token': top_admin},
                                   json=[{'op': 'replace', 'path': '/debug', 'value': True}])
    assert_envelope(response, 405)
    assert 'PATCH' not in response.headers['Allow'] and 'GET' in response.headers['Allow']


@pytest.mark.parametrize('prefix', PREFIXES)
def test_backends_lists_wazo_user_without_authentication(client, prefix):
    response = client.get(f'{prefix}/backends')
    assert response.status_code == 200
    assert response.get_json() == {'data': ['wazo_user']}
