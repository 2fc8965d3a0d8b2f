"""What an attacker with a database dump, the logs or a stopwatch learns (spec D3, D6)."""
from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.credentials import basic


def issue(login, *args, **kwargs) -> dict:
    response = login(*args, **kwargs)
    assert response.status_code == 200, response.get_data()
    return response.get_json()['data']


@pytest.fixture
def issued(make_user, login, client) -> list[dict]:
    """Tokens of several kinds: online, offline, from a refresh token, one revoked."""
    make_user('alice', 's3cret', acl=['confd.#'], email='alice@example.com')
    make_user('bob', 'pw-bob', purpose='internal')
    online = [issue(login), issue(login, 'alice@example.com'), issue(login, 'bob', 'pw-bob')]
    offline = issue(login, body={'access_type': 'offline', 'client_id': 'my-app'})
    refreshed = issue(login, '', '', body={'refresh_token': offline['refresh_token'],
                                           'client_id': 'my-app'})
    revoked = issue(login)
    client.delete(f"/0.1/token/{revoked['token']}")
    return [*online, offline, refreshed, revoked]


def secrets_of(tokens: list[dict]) -> list[str]:
    values = [t['token'] for t in tokens] + [t['refresh_token'] for t in tokens
                                             if 'refresh_token' in t]
    return [form for v in values for form in (v, v.upper(), v.replace('-', ''))]


def database_text(engine) -> str:
    """Every row of every table of the database, as JSON text."""
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')")).scalars().all()
        assert 'public.auth_token' in tables
        rows = [row for table in tables for row in conn.execute(
            text(f'SELECT row_to_json(t)::text FROM {table} t')).scalars()]
    return '\n'.join(rows)


def test_database_holds_no_usable_token(issued, engine):
    dump = database_text(engine)
    assert 'auth_id' in dump  # the dump did read the token rows
    for secret in secrets_of(issued):
        assert secret not in dump


def test_token_rows_are_stored_by_sha256_of_the_value(issued, engine):
    with engine.connect() as conn:
        for token in issued[:-1]:  # the last one was revoked
            stored = conn.execute(text('SELECT token_hash FROM auth_token '
                                       'WHERE session_uuid = :s'),
                                  {'s': token['session_uuid']}).scalar_one()
            assert bytes(stored) == hashlib.sha256(token['token'].encode()).digest()


def test_refresh_token_row_is_stored_by_sha256_of_the_value(issued, engine):
    value = next(t['refresh_token'] for t in issued if 'refresh_token' in t)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM auth_refresh_token "
                                   "WHERE client_id = 'my-app'")).scalar_one()
    assert bytes(stored) == hashlib.sha256(value.encode()).digest()


def test_passwords_are_not_stored(issued, engine):
    dump = database_text(engine)
    assert 's3cret' not in dump and 'pw-bob' not in dump


def test_logs_show_tokens_only_redacted(make_user, login, client, caplog):
    make_user('alice', 's3cret', acl=['confd.#'])
    with caplog.at_level(logging.DEBUG):
        tokens = [issue(login), issue(login, body={'access_type': 'offline',
                                                   'client_id': 'my-app'})]
        for token in tokens:
            client.head(f"/0.1/token/{token['token']}?scope=confd.users.read")
            client.get(f"/0.1/token/{token['token']}")
            client.delete(f"/0.1/token/{token['token']}")
        login('alice', 'wrong-password')
    logged = '\n'.join(r.getMessage() for r in caplog.records)
    for secret in secrets_of(tokens):
        assert secret not in logged
    assert 'wrong-password' not in logged and 's3cret' not in logged
    assert 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + tokens[0]['token'][-8:] in logged


def stored_hash(engine, username: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text('SELECT password_hash FROM auth_user WHERE username = :u'),
                            {'u': username}).scalar_one()


def test_weaker_password_hash_is_upgraded_on_successful_login(make_user, make_config, db_uri,
                                                             engine):
    make_user('alice', 's3cret')  # hashed at cost 4
    with running_app(make_config(db_uri=db_uri, password_hash_rounds=5), engine) as app:
        client = app.test_client()
        assert client.post('/0.1/token', json={},
                           headers=basic('alice', 'wrong')).status_code == 401
        assert stored_hash(engine, 'alice').split('$')[2] == '04'
        assert client.post('/0.1/token', json={},
                           headers=basic('alice', 's3cret')).status_code == 200
        upgraded = stored_hash(engine, 'alice')
        assert upgraded.split('$')[2] == '05'
        assert client.post('/0.1/token', json={},
                           headers=basic('alice', 's3cret')).status_code == 200
    assert 's3cret' not in upgraded
