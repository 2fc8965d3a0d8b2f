"""Uniqueness rules whose service check and database index must agree (review round 9): a login
that the unique indexes hold equal to another must be refused by the login check, with the
spec's 409 naming the field, whatever the database's locale (README: logins match "whatever
the database's locale"). A C.UTF-8 database's lower() lowers Unicode, but not as Python does:
'İ' to 'i', a final 'Σ' to 'σ'."""
from __future__ import annotations


import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.scratch_db import database
from wazo_like_auth import db
from wazo_like_auth.app import create_app, shutdown


@pytest.fixture
def utf8_app(postgres, make_config):
    """An application on a database of its own whose lower() knows Unicode (C.UTF-8)."""
    options = "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'"
    with database(postgres, 'utf8', options) as (uri, engine):
        db.upgrade(engine)
        app = create_app(make_config(db_uri=uri), engine=engine)
        try:
            yield app
        finally:
            shutdown(app)


@pytest.fixture
def utf8_admin(utf8_app):
    utf8_app.extensions['wazo_like_auth'].bootstrap.ensure_admin('root', 's3cret')
    client = utf8_app.test_client()

    def login(username, password):
        return client.post('/0.1/token', json={}, headers=basic(username, password))
    return AdminClient(client, token_of(login, 'root'))


def _login(app, username, password):
    return app.test_client().post('/0.1/token', json={}, headers=basic(username, password))


@pytest.mark.parametrize('taken, asked', [('ΟΔΟΣ', 'οδοσ'), ('İpek', 'ipek')])
@pytest.mark.parametrize('field', ['username', 'email_address'])
def test_a_login_the_index_holds_taken_is_a_409_naming_the_field(utf8_admin, taken, asked,
                                                                 field):
    # The check found it free (Python lowers 'ΟΔΟΣ' to 'οδος', 'İ' to 'i' and a combining
    # dot), the index did not: a 409 without details and a warning in the log.
    domain = '@example.com' if field == 'email_address' else ''
    utf8_admin.ok('POST', '/users', json={'username': 'first', 'password': 'x',
                                          field: taken + domain})

    response = utf8_admin.post('/users', json={'username': 'other', 'password': 'x',
                                               field: asked + domain})

    assert response.status_code == 409
    assert response.get_json()['details'] == {field: {
        'constraint_id': 'unique', 'message': f'The login "{asked + domain}" is already used'}}


def test_an_address_the_database_lowers_as_a_username_does_not_take_that_login(
        utf8_app, utf8_admin):
    # No index spans usernames and addresses: 'οδοσ@…' was given to another user, and the
    # username's owner, logging in as written, reached that address first (PostgreSQL
    # lowers both alike): locked out, while the other user's password let in.
    utf8_admin.ok('POST', '/users', json={'username': 'ΟΔΟΣ@example.com', 'password': 'own'})

    response = utf8_admin.post('/users', json={'username': 'mallory', 'password': 'x',
                                               'email_address': 'οδοσ@example.com'})

    assert response.status_code == 409, response.get_json()
    assert _login(utf8_app, 'ΟΔΟΣ@example.com', 'own').status_code == 200
