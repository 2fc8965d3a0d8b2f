"""Review of what the discovery documents advertise against what the endpoints do: each
issuer (a realm, or the global /api/auth/0.1) is an authorization server of its own, whose
tokens name it, and the URLs it advertises are the ones it serves."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.integration.test_oidc_flow import discover, validated_id_token
from tests.support.oauth_live import assert_oauth_error
from tests.support.oidc import realm, register_client  # noqa: F401


@pytest.mark.parametrize('granted_at, refreshed_at', [('/realms/acme', '/api/auth/0.1'),
                                                      ('/api/auth/0.1', '/realms/acme')])
def test_a_refresh_token_of_an_openid_grant_answers_only_at_its_issuer(
        api, admin_token, make_user, realm, granted_at, refreshed_at):
    # Its ID tokens keep the issuer of the grant (OIDC Core §12.2) while its access tokens
    # name the issuer that answered: the other issuer's token endpoint refuses it, as it
    # refuses an authorization code or a device code of another issuer, and leaves it usable.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    redirect_uris=[], grant_types=['password', 'refresh_token'])
    issuer = discover(api.base + granted_at)
    rp = OAuth2Session('cli', scope='openid offline_access', token_endpoint_auth_method='none')
    token = rp.fetch_token(issuer['token_endpoint'], username='alice', password='s3cret')

    elsewhere = api.session.post(discover(api.base + refreshed_at)['token_endpoint'], data={
        'grant_type': 'refresh_token', 'client_id': 'cli',
        'refresh_token': token['refresh_token']}, timeout=10)

    assert_oauth_error(elsewhere, 400, 'invalid_grant')
    refreshed = rp.refresh_token(issuer['token_endpoint'], refresh_token=token['refresh_token'])
    assert validated_id_token(issuer, refreshed, 'cli', None)['iss'] == issuer['issuer']


@pytest.mark.parametrize('host', ['auth.example/realms/acme?x=', 'auth example', 'a@b',
                                  'auth.example:http', 'auth.example:70000', 'bücher.example',
                                  'web_app:8080'])
def test_a_host_header_that_is_no_host_name_is_refused_not_made_an_issuer(client, realm, host):
    # Without public_url the issuer is built from the Host; werkzeug reads a Host holding
    # other characters than a host name's as an empty one, and the documents then advertised
    # the issuer "http:/api/auth/0.1" (and its JWT access tokens and device codes named it).
    for path in ('/.well-known/openid-configuration',
                 '/realms/acme/.well-known/openid-configuration'):
        response = client.get(path, headers={'Host': host})
        assert response.status_code == 400, (path, response.get_json())
        assert response.get_json()['error_id'] == 'invalid-host'


def test_a_host_that_is_no_host_name_is_refused_by_oauth_but_not_by_the_wazo_api(
        client, login, make_user):
    # An underscore is common in container names, and only what names the service by its
    # host needs one werkzeug reads: the Wazo API answers, the token endpoint refuses in
    # RFC 6749's terms rather than issue tokens naming the issuer "http:/api/auth/0.1".
    make_user('alice', 's3cret')
    assert login(headers={'Host': 'wazo_auth:9497'}).status_code == 200
    refused = client.post('/api/auth/0.1/oauth2/token', headers={'Host': 'wazo_auth:9497'},
                          data={'grant_type': 'client_credentials'})
    assert refused.status_code == 400
    assert refused.get_json()['error'] == 'invalid_request'
