"""Bad requests to the OAuth 2.0 endpoints: each answers its RFC error body, no-store, never
a 5xx and never the Wazo envelope."""
from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.support.oauth_live import assert_oauth_error, basic_header
from wazo_like_auth.app import services_of

FORM = {'Content-Type': 'application/x-www-form-urlencoded'}



@pytest.fixture
def backend(make_client):
    return make_client('backend', acl=['confd.#'])


def test_missing_grant_type_is_invalid_request(api, backend):
    response = api.post_form('/oauth2/token', {'client_id': 'backend'})
    assert_oauth_error(response, 400, 'invalid_request')


def test_unknown_grant_type_is_unsupported_grant_type(api, backend):
    response = api.post_form('/oauth2/token', {'grant_type': 'implicit'},
                             headers=basic_header('backend', backend['client_secret']))
    assert_oauth_error(response, 400, 'unsupported_grant_type')


def test_json_body_is_invalid_request(api, backend):
    response = api.session.post(api.token_url(), json={'grant_type': 'client_credentials'},
                                headers=basic_header('backend', backend['client_secret']))
    assert_oauth_error(response, 400, 'invalid_request')


def test_repeated_parameter_is_invalid_request(api, backend):
    response = api.post_form('/oauth2/token',
                             'grant_type=client_credentials&grant_type=client_credentials',
                             headers={**FORM, **basic_header('backend',
                                                             backend['client_secret'])})
    body = assert_oauth_error(response, 400, 'invalid_request')
    assert 'grant_type' in body['error_description']


@pytest.mark.parametrize('raw', [b'grant_type=%ff', b'grant_type=client_credentials%00',
                                 b'&'.join([b'a%d=1' % i for i in range(100)])])
def test_malformed_form_is_invalid_request(api, backend, raw):
    response = api.post_form('/oauth2/token', raw, headers={
        **FORM, **basic_header('backend', backend['client_secret'])})
    assert_oauth_error(response, 400, 'invalid_request')


def test_unknown_client_is_invalid_client_with_a_basic_challenge(api):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials'},
                             headers=basic_header('nobody', 'x' * 20))
    assert_oauth_error(response, 401, 'invalid_client')
    assert response.headers['WWW-Authenticate'] == 'Basic realm="wazo-like-auth"'


@pytest.mark.parametrize('authorization', ['Basic !!!', 'Basic ' + base64.b64encode(
    b'no-colon').decode(), 'Basic ' + base64.b64encode(b'\xff\xfe:x').decode()])
def test_malformed_basic_credentials_are_invalid_client(api, authorization):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials'},
                             headers={'Authorization': authorization})
    assert_oauth_error(response, 401, 'invalid_client')


def test_wrong_secret_is_invalid_client(api, backend):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials',
                                               'client_id': 'backend',
                                               'client_secret': 'wrong-secret'})
    assert_oauth_error(response, 401, 'invalid_client')


def test_confidential_client_without_secret_is_invalid_client(api, backend):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials',
                                               'client_id': 'backend'})
    assert_oauth_error(response, 401, 'invalid_client')


def test_two_authentication_methods_at_once_is_invalid_request(api, backend):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials',
                                               'client_secret': backend['client_secret']},
                             headers=basic_header('backend', backend['client_secret']))
    assert_oauth_error(response, 400, 'invalid_request')


def test_public_client_asking_client_credentials_is_unauthorized_client(api, make_client):
    make_client('tv', public=True)
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials',
                                               'client_id': 'tv'})
    assert_oauth_error(response, 400, 'unauthorized_client')


def test_public_client_presenting_a_secret_is_invalid_client(api, make_client):
    make_client('tv', public=True)
    response = api.post_form('/oauth2/token', {'grant_type': 'refresh_token',
                                               'refresh_token': 'x', 'client_id': 'tv',
                                               'client_secret': 'guess'})
    assert_oauth_error(response, 401, 'invalid_client')


def test_grant_not_allowed_for_the_client_is_unauthorized_client(api, backend, make_user):
    make_user('alice', 's3cret')
    response = api.post_form('/oauth2/token', {'grant_type': 'password', 'username': 'alice',
                                               'password': 's3cret'},
                             headers=basic_header('backend', backend['client_secret']))
    assert_oauth_error(response, 400, 'unauthorized_client')


@pytest.mark.parametrize('scope', ['offline_access', 'a"b'])
def test_bad_scope_for_client_credentials_is_invalid_scope(api, backend, scope):
    response = api.post_form('/oauth2/token', {'grant_type': 'client_credentials',
                                               'scope': scope},
                             headers=basic_header('backend', backend['client_secret']))
    assert_oauth_error(response, 400, 'invalid_scope')


def test_offline_access_without_the_refresh_grant_is_invalid_scope(api, make_client,
                                                                   make_user):
    make_user('alice', 's3cret')
    make_client('tv', public=True, grant_types=['password'])
    response = api.post_form('/oauth2/token', {
        'grant_type': 'password', 'client_id': 'tv', 'username': 'alice',
        'password': 's3cret', 'scope': 'offline_access'})
    assert_oauth_error(response, 400, 'invalid_scope')


@pytest.mark.parametrize('form', [
    {'grant_type': 'password', 'username': 'alice'},
    {'grant_type': 'refresh_token'},
    {'grant_type': 'urn:ietf:params:oauth:grant-type:device_code'},
])
def test_missing_grant_parameter_is_invalid_request(api, make_client, form):
    make_client('tv', public=True, grant_types=[
        'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'])
    response = api.post_form('/oauth2/token', {**form, 'client_id': 'tv'})
    assert_oauth_error(response, 400, 'invalid_request')


@pytest.mark.parametrize('refresh_token', ['not-a-token', '0' * 36,
                                           '12345678-1234-1234-1234-123456789abc'])
def test_unknown_refresh_token_is_invalid_grant(api, make_client, refresh_token):
    make_client('tv', public=True, grant_types=['refresh_token'])
    response = api.post_form('/oauth2/token', {'grant_type': 'refresh_token',
                                               'client_id': 'tv',
                                               'refresh_token': refresh_token})
    assert_oauth_error(response, 400, 'invalid_grant')


def test_wrong_method_on_the_token_endpoint_keeps_the_json_envelope(api):
    response = api.session.get(api.token_url(), timeout=10)
    assert response.status_code == 405
    assert response.json()['error_id'] == 'method-not-allowed'


def test_basic_credentials_are_form_decoded_as_rfc_6749_requires(api, oauth_app):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic. Libraries that skip
    it (authlib) still work: the raw value is tried too."""
    secret = 'a b+c%d/e:f=g&h-long-enough'
    services_of(oauth_app).client_service.reconcile([{
        'client_id': 'conf.client~1', 'client_secret': secret, 'public': False,
        'name': 'Configured', 'grant_types': ['client_credentials'], 'acl': ['x.y'],
        'policies': []}])
    encoded = basic_header(quote_plus('conf.client~1'), quote_plus(secret))

    rfc = api.post_form('/oauth2/token', {'grant_type': 'client_credentials'},
                        headers=encoded)
    raw = OAuth2Session('conf.client~1', secret).fetch_token(
        api.token_url(), grant_type='client_credentials')

    assert rfc.status_code == 200, rfc.text
    assert api.is_valid(rfc.json()['access_token'], scope='x.y')
    assert api.is_valid(raw['access_token'], scope='x.y')


@pytest.mark.parametrize('path', ['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke'])
def test_a_basic_client_id_with_nul_is_an_unknown_client(api, backend, path):
    """PostgreSQL cannot hold NUL: such a client_id is unknown, never a 500 from the lookup
    (found by the fuzz suite). Form values with NUL are an invalid_request already."""
    response = api.post_form(path, {'grant_type': 'client_credentials', 'token': 'x'},
                             headers=basic_header('back\x00end', 'secret'))
    assert_oauth_error(response, 401, 'invalid_client')


@pytest.mark.parametrize('path', ['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke'])
def test_an_empty_body_is_a_form_without_parameters(api, backend, path):
    # No body, so no Content-Type: the request lacks its parameters, it is not of another
    # media type.
    response = api.session.post(api.url + path, timeout=10,
                                headers=basic_header('backend', backend['client_secret']))
    body = assert_oauth_error(response, 400, 'invalid_request')
    assert body['error_description'].startswith('Missing parameter')
