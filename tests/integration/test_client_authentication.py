"""OAuth 2.0 client authentication at the token endpoint: what a remembered secret check
saves, and a stored hash that cannot be read."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import update

from tests.support.apps import running_app
from wazo_like_auth.oauth_models import Client
from wazo_like_auth.passwords import PasswordHasher
from wazo_like_auth.server import prepare_database

TOKEN = '/0.1/oauth2/token'
FORM = {'grant_type': 'client_credentials'}


class CountingHasher(PasswordHasher):
    """The real hasher, counting the bcrypt verifications it runs."""

    def __init__(self, **options):
        super().__init__(**options)
        self.verifications = 0

    def verify(self, password, password_hash):
        self.verifications += 1
        return super().verify(password, password_hash)


def raw_basic(client_id: str, secret: str) -> dict:
    """Basic credentials as requests' HTTPBasicAuth and authlib send them: not form-encoded
    first (RFC 6749 §2.3.1 says they should be)."""
    return {'Authorization': 'Basic ' + base64.b64encode(f'{client_id}:{secret}'.encode())
            .decode()}


def test_a_secret_sent_raw_with_a_plus_is_checked_with_bcrypt_once_then_remembered(
        make_config, db_uri, engine):
    secret = 'q8+Zk1m/Vx0Pl2+Wn3Rt4Ys5Ab6Cd7Ef8Gh9='  # openssl rand -base64 27
    config = make_config(db_uri=db_uri, clients=[{'client_id': 'backend',
                                                  'client_secret': secret}])
    prepare_database(config)
    hasher = CountingHasher(rounds=4)
    with running_app(config, engine, hasher=hasher) as app:
        client = app.test_client()
        assert client.post(TOKEN, data=FORM, headers=raw_basic('backend', secret)) \
            .status_code == 200
        first = hasher.verifications
        for _ in range(10):
            assert client.post(TOKEN, data=FORM, headers=raw_basic('backend', secret)) \
                .status_code == 200
    # Before: the '+'-decoded candidate (never right, so never remembered) ran bcrypt on
    # every request, about 250 ms of CPU each at the default cost.
    assert hasher.verifications == first


@pytest.mark.parametrize('stored', ['not-a-bcrypt-hash', '$2b$04$' + 'é' * 53])
def test_a_stored_secret_hash_that_cannot_be_read_refuses_the_client_as_invalid(
        client, admin, sessions, stored):
    secret = admin.ok('POST', '/clients', json={'client_id': 'backend'})['client_secret']
    with sessions.begin() as db:
        db.execute(update(Client).where(Client.client_id == 'backend')
                   .values(secret_hash=stored))
    response = client.post(TOKEN, data=FORM, headers=raw_basic('backend', secret))
    assert response.status_code == 401, response.get_data()  # not a 500
    assert response.get_json()['error'] == 'invalid_client'
