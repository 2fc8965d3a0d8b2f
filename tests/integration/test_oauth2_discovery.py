"""Discovery (RFC 8414), userinfo, and Bearer challenges on protected endpoints (RFC 6750)."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.support.envelope import RequestsAdapter, assert_envelope


def fetch_metadata(api, path='/.well-known/oauth-authorization-server') -> dict:
    response = api.session.get(api.base + path, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers['Content-Type'].startswith('application/json')
    return response.json()


def test_metadata_passes_authlib_validation(api):
    document = fetch_metadata(api)
    metadata = AuthorizationServerMetadata(document)

    metadata.validate()

    assert document['issuer'] == f'{api.base}/api/auth/0.1'
    assert document['response_types_supported'] == ['code']
    assert set(document['grant_types_supported']) == {
        'authorization_code', 'password', 'client_credentials', 'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code'}


@pytest.mark.parametrize('path', ['/.well-known/openid-configuration',
                                  '/.well-known/oauth-authorization-server/api/auth/0.1',
                                  '/api/auth/0.1/.well-known/openid-configuration',
                                  '/0.1/.well-known/oauth-authorization-server'])
def test_every_discovery_path_serves_the_same_document(api, path):
    assert fetch_metadata(api, path) == fetch_metadata(api)


def test_every_announced_endpoint_answers_oauth_errors(api):
    document = fetch_metadata(api)
    for key in ('token_endpoint', 'device_authorization_endpoint', 'introspection_endpoint',
                'revocation_endpoint'):
        response = api.session.post(document[key], data={'grant_type': 'x'}, timeout=10)
        assert response.status_code in (400, 401), (key, response.status_code)
        assert 'error' in response.json(), key
    userinfo = api.session.get(document['userinfo_endpoint'], timeout=10)
    assert userinfo.status_code == 401 and userinfo.json()['error'] == 'invalid_token'


def test_configured_public_url_is_the_issuer(make_config, db_uri, engine):
    from tests.support.apps import running_app
    config = make_config(db_uri=db_uri, public_url='https://auth.example.com/api/auth/0.1/')
    with running_app(config, engine) as app:
        document = app.test_client().get('/.well-known/oauth-authorization-server').get_json()
    assert document['issuer'] == 'https://auth.example.com/api/auth/0.1'
    assert document['token_endpoint'] == 'https://auth.example.com/api/auth/0.1/oauth2/token'


def test_errors_on_root_discovery_paths_are_json(api):
    wrong_method = api.session.post(api.base + '/.well-known/openid-configuration', timeout=10)
    unknown = api.session.get(api.base + '/.well-known/unknown', timeout=10)

    assert_envelope(RequestsAdapter(wrong_method), 405)
    assert_envelope(RequestsAdapter(unknown), 404)


def test_userinfo_with_authlib(api, make_client, make_user):
    alice = make_user('alice', 's3cret', email='alice@example.com')
    make_client('tv', public=True, grant_types=['password'])
    session = OAuth2Session('tv', token_endpoint_auth_method='none')
    session.fetch_token(api.token_url(), username='alice', password='s3cret')

    claims = session.get(fetch_metadata(api)['userinfo_endpoint'], timeout=10).json()

    assert claims['preferred_username'] == 'alice'
    assert claims['email'] == 'alice@example.com'
    assert claims['sub'] == str(alice)


def test_protected_endpoint_answers_a_bearer_challenge(api, make_user):
    make_user('alice', 's3cret')
    token = api.login('alice', 's3cret')  # no ACL at all

    unknown = api.session.get(f'{api.url}/users', timeout=10,
                              headers={'Authorization': 'Bearer ' + '0' * 36})
    no_acl = api.session.get(f'{api.url}/users', timeout=10,
                             headers={'Authorization': f'Bearer {token}'})
    wazo_header = api.session.get(f'{api.url}/users', timeout=10,
                                  headers={'X-Auth-Token': token})

    assert_envelope(RequestsAdapter(unknown), 401)
    assert unknown.headers['WWW-Authenticate'] == \
        'Bearer realm="wazo-like-auth", error="invalid_token"'
    assert no_acl.headers['WWW-Authenticate'] == \
        'Bearer realm="wazo-like-auth", error="insufficient_scope"'
    assert 'WWW-Authenticate' not in wazo_header.headers



@pytest.mark.parametrize('method', ['GET', 'POST'])
@pytest.mark.parametrize('path', ['/api/auth/0.1/oauth2/userinfo',
                                  '/realms/acme/protocol/openid-connect/userinfo'])
def test_userinfo_without_a_token_is_a_challenge_without_an_error_code(api, admin, method,
                                                                       path):
    # RFC 6750 §3.1: a request without authentication SHOULD NOT get an error code (the
    # client may not have known authentication was needed); a bad token does get one.
    admin.ok('POST', '/tenants', json={'name': 'Acme', 'slug': 'acme'})
    url = api.base + path
    bare = api.session.request(method, url, timeout=10)
    other_scheme = api.session.request(method, url, timeout=10, auth=('alice', 's3cret'))
    bad = api.session.request(method, url, timeout=10,
                              headers={'Authorization': 'Bearer ' + '0' * 36})

    for response in (bare, other_scheme):
        assert response.status_code == 401
        assert response.headers['WWW-Authenticate'] == 'Bearer realm="wazo-like-auth"'
    assert bad.status_code == 401 and bad.json()['error'] == 'invalid_token'
    assert bad.headers['WWW-Authenticate'] == \
        'Bearer realm="wazo-like-auth", error="invalid_token"'
