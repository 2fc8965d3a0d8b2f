"""Rotating ``token_secret`` (spec D3): every refresh token issued under the old secret stops
working, and the next offline login of the same client gets a working one."""
from __future__ import annotations

from tests.support.apps import running_app
from tests.support.credentials import basic

OLD_SECRET = 'old-secret-' + 'o' * 40
NEW_SECRET = 'new-secret-' + 'n' * 40


def offline_login(client) -> str:
    response = client.post('/0.1/token', json={'access_type': 'offline', 'client_id': 'app'},
                           headers=basic('alice', 's3cret'))
    assert response.status_code == 200, response.get_data()
    return response.get_json()['data']['refresh_token']


def refresh(client, value: str) -> int:
    return client.post('/0.1/token', json={'refresh_token': value, 'client_id': 'app'},
                       headers={'Authorization': 'Basic Og=='}).status_code


def test_rotating_the_secret_invalidates_refresh_tokens_until_the_next_offline_login(
        make_user, make_config, db_uri, engine):
    make_user('alice')
    with running_app(make_config(db_uri=db_uri, token_secret=OLD_SECRET), engine) as app:
        old_client = app.test_client()
        old = offline_login(old_client)
        assert refresh(old_client, old) == 200
    with running_app(make_config(db_uri=db_uri, token_secret=NEW_SECRET), engine) as app:
        client = app.test_client()
        assert refresh(client, old) == 401
        new = offline_login(client)
        assert new != old
        assert refresh(client, new) == 200
        assert offline_login(client) == new  # re-derivable again, under the new secret
        assert refresh(client, old) == 401
