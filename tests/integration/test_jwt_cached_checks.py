"""JWT access tokens on the cached check path (http/check_fast_path.py): answered before Flask
like opaque tokens, with the full path's answer, and evicted by their revocation's notification
whichever process revoked them."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.credentials import basic
from tests.support.fast_path import Behind, ask
from tests.support.polling import wait_until
from wazo_like_auth.http.check_fast_path import CheckFastPath

SCOPE = 'confd.users.read'


@pytest.fixture
def jwt_token(services, admin, client):
    made = admin.ok('POST', '/clients', json={'client_id': 'billing', 'acl': [SCOPE],
                                              'access_token_format': 'jwt'})
    response = client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                           headers=basic('billing', made['client_secret']))
    assert response.status_code == 200, response.get_json()
    value = response.get_json()['access_token']
    assert value.count('.') == 2
    return value


@pytest.mark.parametrize('method', ['head', 'get'])
@pytest.mark.parametrize('prefix', ['/0.1', '/api/auth/0.1'])
def test_a_cached_jwt_check_answers_as_the_full_path(client, jwt_token, method, prefix):
    path = f'{prefix}/token/{jwt_token}?scope={SCOPE}'
    full = getattr(client, method)(path)
    cached = getattr(client, method)(path)
    assert full.status_code in (200, 204)
    assert (cached.status_code, cached.get_data()) == (full.status_code, full.get_data())


def test_a_cached_jwt_check_does_not_reach_flask(client, services, jwt_token):
    fast = CheckFastPath(behind := Behind(), services.token_checker)
    client.head(f'/0.1/token/{jwt_token}')  # fills the cache

    assert ask(fast, f'/0.1/token/{jwt_token}', query=f'scope={SCOPE}')[0] == '204 NO CONTENT'
    status, _, body = ask(fast, f'/api/auth/0.1/token/{jwt_token}', method='GET')
    assert status == '200 OK' and jwt_token.encode() in body
    assert behind.calls == 0
    # Another case is another string: not ours, so the full path answers it (404).
    assert ask(fast, f'/0.1/token/{jwt_token.swapcase()}')[0] == '299 BEHIND'


def test_a_jwt_revoked_by_another_process_is_evicted(client, services, jwt_token, engine):
    fast = CheckFastPath(behind := Behind(), services.token_checker)
    client.head(f'/0.1/token/{jwt_token}')
    with engine.begin() as conn:  # another process: its delete reaches us by NOTIFY only
        conn.execute(text('DELETE FROM auth_token WHERE jti IS NOT NULL'))

    assert wait_until(lambda: ask(fast, f'/0.1/token/{jwt_token}')[0] == '299 BEHIND')
    assert client.head(f'/0.1/token/{jwt_token}').status_code == 404
    assert behind.calls >= 1
