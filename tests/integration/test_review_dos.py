"""Review (resource exhaustion): what a client with little or no privilege can make the
service store or spend, measured by counts and sizes, not by wall time."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.integration.test_refresh_token_rotation import _refresh, _refused, spa  # noqa: F401
from tests.support.oauth_live import assert_oauth_error
from tests.support.oidc import realm  # noqa: F401
from wazo_like_auth.services import refresh_tokens


def test_device_authorization_with_a_huge_scope_stores_nothing(api, make_client, engine):
    # A public client is all anyone needs to start device authorizations: its scope was
    # stored whole, up to the 1 MiB body limit per row, for each request (about 20 minutes).
    make_client('tv', public=True, name='Living room TV')
    scope = ' '.join(f's{i:06d}' for i in range(100_000))  # 800 kB of distinct tokens

    response = api.post_form('/oauth2/device_authorization',
                             {'client_id': 'tv', 'scope': scope})

    assert_oauth_error(response, 400, 'invalid_scope')
    with engine.connect() as conn:
        assert conn.scalar(text('SELECT count(*) FROM auth_device_code')) == 0


def test_a_rotating_refresh_token_keeps_a_bounded_history(api, spa, engine, monkeypatch):
    # Every exchange of a public client's refresh token remembered the value it rotated away
    # from, for the life of the grant: a holder of one grant exchanging in a loop (deleting
    # each new access token, so no session limit applies) grew the table without end. The
    # last RETIRED_VALUES_KEPT values are remembered (a copy of one of them still revokes
    # the grant); older ones are refused as unknown.
    monkeypatch.setattr(refresh_tokens, 'RETIRED_VALUES_KEPT', 3)
    values = [spa['sign_in']()['refresh_token']]
    for _ in range(8):
        answer = _refresh(spa, values[-1])
        api.session.delete(f'{api.url}/token/{answer["access_token"]}', timeout=10)
        values.append(answer['refresh_token'])

    with engine.connect() as conn:
        assert conn.scalar(text('SELECT count(*) FROM auth_refresh_token_retired')) == 3
    _refused(spa, values[0])  # forgotten: refused, the grant kept
    assert _refresh(spa, values[-1])['refresh_token']


def test_a_host_header_longer_than_a_host_name_is_refused_and_stores_nothing(api, make_client,
                                                                             engine):
    # Without public_url the issuer is the request's Host: a device authorization stored it
    # whole with its device code, up to the server's 32 KiB head limit per request. A host
    # name has at most 255 characters (RFC 1035), a port 6 more.
    make_client('tv', public=True, name='Living room TV')
    host = 'a' * 16 * 1024 + '.example'

    response = api.post_form('/oauth2/device_authorization', {'client_id': 'tv'},
                             headers={'Host': host})

    assert response.status_code == 400
    assert response.json()['error_id'] == 'invalid-host'
    assert response.headers.get('X-Request-Id')
    with engine.connect() as conn:
        assert conn.scalar(text('SELECT count(*) FROM auth_device_code')) == 0
    assert api.post_form('/oauth2/device_authorization', {'client_id': 'tv'},
                         headers={'Host': 'a.' * 121 + 'example:8443'}).status_code == 200


@pytest.mark.parametrize('host', ['a' * 64 + '.example', 'auth..example', '.example:443'])
def test_a_host_name_flask_cannot_route_with_is_a_400_not_a_500(client, host):
    # werkzeug encodes the Host's name to IDNA to route: a label over 63 characters or an
    # empty one raised BadHost, raised again while flask-restful chose who answers it.
    for path in ('/0.1/status', '/0.1/token/' + 'x' * 36):
        response = client.get(path, headers={'Host': host})
        assert response.status_code == 400, (path, response.status_code)
        assert response.get_json()['error_id'] == 'invalid-host'


@pytest.mark.parametrize('host', ['xn--zz', 'XN--A', 'auth.xn--.example:8443'])
def test_a_host_name_werkzeug_cannot_decode_is_a_400_not_a_500(api, make_client, host):
    # A label starting xn-- that is no punycode encodes to IDNA as it is (the check above
    # passed it) but cannot be decoded: werkzeug decodes the Host whenever the request's URL
    # is built (request.host_url: the issuer without public_url) and let the codec's
    # UnicodeError through: discovery, the OAuth endpoints and the pages answered 500.
    make_client('tv', public=True, name='Living room TV')
    for path in ('/.well-known/openid-configuration', '/oauth2/device_authorization',
                 '/oauth2/authorize?client_id=tv', '/device'):
        method = 'POST' if path == '/oauth2/device_authorization' else 'GET'
        response = api.session.request(method, api.url + path, data={'client_id': 'tv'},
                                       headers={'Host': host}, timeout=10)
        assert response.status_code == 400, (path, response.status_code)
        assert response.json()['error_id'] == 'invalid-host'
