"""Issue 16 end to end: a backend guarded by ``wazo_like_auth.verifier``'s JWT mode accepts the
RFC 9068 tokens the service issues to a ``jwt`` client, with no call per request, and refuses
one revoked at the service once it has polled the service's real revocation feed."""
from __future__ import annotations

import pytest
import requests

jwt_verifier = pytest.importorskip(
    'tests.support.jwt_verifier', reason='the JWT-mode verifier (branch i16-verifier)')
from tests.support.jwt_verifier import (auth_server, backend, get, issuer,  # noqa: E402,F401
                                        make_verifier, mono, signing_keys)
from tests.support.polling import wait_until  # noqa: E402

PROFILE = '/users/someone/profile'


def _token(base: str, client_id: str, secret: str) -> str:
    answer = requests.post(f'{base}/oauth2/token', data={'grant_type': 'client_credentials'},
                           auth=(client_id, secret), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()['access_token']


@pytest.fixture
def clients(auth_server, issuer, make_user, login):
    make_user('root', 'rootpass', acl=['#'])
    admin = login('root', 'rootpass').get_json()['data']['token']
    made = {}
    for client_id, fields in (('billing', {'acl': ['#'], 'access_token_format': 'jwt',
                                           'access_token_audience': jwt_verifier.AUDIENCE}),
                              ('feed-reader', {'acl': ['auth.tokens.revoked.read']})):
        response = requests.post(f'{issuer}/clients', json={'client_id': client_id, **fields},
                                 headers={'X-Auth-Token': admin}, timeout=10)
        assert response.status_code == 200, response.text
        made[client_id] = response.json()['client_secret']
    return made


def test_an_issued_jwt_is_verified_offline_until_its_revocation_is_polled(
        make_verifier, backend, issuer, auth_server, clients):
    feed_token = _token(issuer, 'feed-reader', clients['feed-reader'])
    server = backend(make_verifier(auth_url=issuer, revocation_token=feed_token,
                                   revocation_poll_interval=0.05))
    token, other = (_token(issuer, 'billing', clients['billing']) for _ in range(2))
    assert get(server, PROFILE, token).status_code == 200
    checks = auth_server.count('HEAD', '/api/auth/0.1/token/')
    assert all(get(server, PROFILE, token).status_code == 200 for _ in range(5))
    assert auth_server.count('HEAD', '/api/auth/0.1/token/') == checks  # offline

    assert requests.delete(f'{issuer}/token/{token}', timeout=10).status_code == 200

    assert wait_until(lambda: get(server, PROFILE, token).status_code == 401)
    assert get(server, PROFILE, other).status_code == 200
