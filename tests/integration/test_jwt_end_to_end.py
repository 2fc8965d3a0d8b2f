"""Issue 16 end to end: a backend guarded by ``wazo_like_auth.verifier``'s JWT mode, its feed
poller running in the background, accepts the RFC 9068 tokens the service issues to a ``jwt``
client with no call per request, and refuses one revoked at the service once it has polled the
service's real revocation feed."""
from __future__ import annotations

import requests

from tests.support.jwt_verifier import (auth_server, backend, feed_token, get, issue,  # noqa: F401
                                        issuer, make_verifier, mono)
from tests.support.polling import wait_until

PROFILE = '/users/someone/profile'


def test_an_issued_jwt_is_verified_offline_until_its_revocation_is_polled(
        make_verifier, backend, issuer, auth_server, feed_token, issue):
    server = backend(make_verifier(auth_url=issuer, revocation_token=feed_token,
                                   revocation_poll_interval=0.05))
    token, other = issue(), issue()
    assert get(server, PROFILE, token).status_code == 200
    checks = auth_server.count('HEAD', '/api/auth/0.1/token/')
    assert all(get(server, PROFILE, token).status_code == 200 for _ in range(5))
    assert auth_server.count('HEAD', '/api/auth/0.1/token/') == checks  # offline

    assert requests.delete(f'{issuer}/token/{token}', timeout=10).status_code == 200

    assert wait_until(lambda: get(server, PROFILE, token).status_code == 401)
    assert get(server, PROFILE, other).status_code == 200
