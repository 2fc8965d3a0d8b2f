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
