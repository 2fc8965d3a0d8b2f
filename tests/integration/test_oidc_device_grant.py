"""ID tokens of the device grant (RFC 8628) asked with the ``openid`` scope, as Keycloak gives
them: the token response has one (OIDC Core §3.1.3.3), and so have the refreshes of its refresh
token (§12.2). The device polls through authlib at the realm's endpoints (from its discovery
document); the person uses the verification page's forms; ID tokens are validated by authlib
against ``certs``."""
from __future__ import annotations

import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.integration.test_oidc_flow import discover, validated_id_token
from tests.integration.test_oidc_password_grant import ID_CLAIMS, session_of
from tests.support.device_flow import DEVICE, Person
from tests.support.oidc import realm, register_client  # noqa: F401

GRANTS = [DEVICE, 'refresh_token']


def _approved_device(api, admin_token, realm, scope: str) -> tuple[dict, OAuth2Session, dict]:
    """The realm's discovery document, the TV's session and the token it polled for, once
    alice approved it on the verification page."""
    register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                    redirect_uris=[], grant_types=GRANTS)
    metadata = discover(f'{api.base}/realms/acme')
    started = requests.post(metadata['device_authorization_endpoint'],
                            data={'client_id': 'tv', 'scope': scope}, timeout=10)
    assert started.status_code == 200, started.text
    person = Person()
    consent = person.sign_in(started.json()['verification_uri_complete'], 'alice', 's3cret')
    assert person.decide(consent, 'approve').status_code == 200
    tv = OAuth2Session('tv', token_endpoint_auth_method='none')
    token = tv.fetch_token(metadata['token_endpoint'], grant_type=DEVICE,
                           device_code=started.json()['device_code'])
    return metadata, tv, token


def test_device_grant_with_openid_answers_an_id_token_of_the_realm(api, admin_token,
                                                                   make_user, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], email='alice@acme.test',
                      acl=['confd.users.me.read'])
    metadata, tv, token = _approved_device(api, admin_token, realm,
                                           'openid profile email offline_access')

    claims = validated_id_token(metadata, token, 'tv', None)
    assert ID_CLAIMS <= set(claims) and 'nonce' not in claims
    assert claims['iss'] == f'{api.base}/realms/acme' and claims['sub'] == str(alice)
    assert claims['aud'] == 'tv' and claims['preferred_username'] == 'alice'
    assert claims['email'] == 'alice@acme.test'
    assert claims['sid'] == session_of(api, admin_token, token['access_token'])
    assert api.is_valid(token['access_token'], scope='confd.users.me.read')

    refreshed = tv.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])
    again = validated_id_token(metadata, refreshed, 'tv', None)
    assert (again['sub'], again['iss']) == (claims['sub'], claims['iss'])
    assert (again['auth_time'], again['sid']) == (claims['auth_time'], claims['sid'])


def test_device_grant_without_openid_answers_no_id_token(api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    metadata, tv, token = _approved_device(api, admin_token, realm, 'offline_access')

    assert 'id_token' not in token and api.is_valid(token['access_token'])
    refreshed = tv.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])
    assert 'id_token' not in refreshed
