"""The console commands other than serve: upgrade-db, bootstrap, and configuration errors."""
from __future__ import annotations

import base64
import io

import pytest
from sqlalchemy import text

from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.cli import main
from wazo_like_auth.passwords import PasswordHasher


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / 'config.yml'
    path.write_text(f'state_dir: {tmp_path}/state\npassword_hash_rounds: 4\n'
                    f'token_secret: {"s" * 40}\n')
    return str(path)


def test_upgrade_db_migrates_and_says_so(config_file, db_uri, engine, capsys):
    assert main(['upgrade-db', '--config', config_file, '--db-uri', db_uri]) == 0
    assert 'up to date' in capsys.readouterr().out


def test_bootstrap_gives_a_user_full_access(config_file, db_uri, engine, make_config):
    args = ['bootstrap', '--config', config_file, '--db-uri', db_uri,
            '--username', 'operator', '--password', 'op-secret']
    assert main(args) == 0
    assert main(args) == 0  # idempotent
    app = create_app(make_config(db_uri=db_uri), engine=engine)
    try:
        basic = base64.b64encode(b'operator:op-secret').decode()
        answer = app.test_client().post('/0.1/token', json={},
                                        headers={'Authorization': f'Basic {basic}'})
    finally:
        shutdown(app)
    assert answer.status_code == 200 and answer.get_json()['data']['acl'] == ['#']


def test_bootstrap_reads_the_password_from_standard_input(config_file, db_uri, engine,
                                                          monkeypatch):
    monkeypatch.setattr('sys.stdin', io.StringIO('from-stdin\n'))
    assert main(['bootstrap', '--config', config_file, '--db-uri', db_uri,
                 '--username', 'piped', '--password', '-']) == 0
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM auth_user "
                                   "WHERE username = 'piped'")).scalar()
    assert PasswordHasher(rounds=4).verify('from-stdin', stored)


def test_a_bad_configuration_value_stops_with_the_key_named(tmp_path, capsys):
    path = tmp_path / 'config.yml'
    path.write_text('rest_api:\n  port: 70000\n')
    assert main(['upgrade-db', '--config', str(path), '--db-uri', 'postgresql://x/y']) == 2
    assert 'rest_api.port' in capsys.readouterr().err


def test_upgrade_db_without_a_database_says_what_is_missing(config_file, capsys):
    assert main(['upgrade-db', '--config', config_file]) == 1
    assert 'db_uri' in capsys.readouterr().err


def test_a_db_uri_that_is_none_is_a_configuration_error(config_file, capsys):
    assert main(['upgrade-db', '--db-uri', 'postgres ql://', '--config', config_file]) == 2
    err = capsys.readouterr().err
    assert err.startswith('wazo-like-auth: configuration error: ') and len(err.splitlines()) == 1
    assert err.endswith('db_uri: not a URI: expected postgresql://user:password@host:port/'
                        'database\n'), err


@pytest.mark.parametrize('args, message', [
    (['bootstrap', '--db-uri', 'postgresql://auth:secret@127.0.0.1:1/auth', '--username', 'a',
      '--password', 'pw'],
     'cannot use the database: connection to server at "127.0.0.1", port 1 failed: '
     'Connection refused'),
    *((['keys', *action, '--db-uri', 'postgresql://auth:secret@127.0.0.1:1/auth'],
       'cannot use the database: connection to server at "127.0.0.1", port 1 failed: '
       'Connection refused') for action in (['rotate', '--now'], ['list'], ['retire', 'k'])),
])
def test_a_database_problem_is_one_line_without_the_password(args, message, config_file,
                                                             capsys):
    assert main([*args, '--config', config_file]) == 1
    assert capsys.readouterr().err == f'wazo-like-auth: {message}\n'


def test_bootstrap_refuses_a_password_bcrypt_would_cut(config_file, db_uri, engine, capsys):
    assert main(['bootstrap', '--config', config_file, '--db-uri', db_uri,
                 '--username', 'long', '--password', 'p' * 73]) == 1
    assert capsys.readouterr().err == ('wazo-like-auth: Password must be at most 72 bytes in '
                                       'UTF-8\n')


@pytest.mark.parametrize('username, password', [('boot\udcff', 'pw'), ('boot', 'pw\udcff')],
                         ids=['username', 'password'])
def test_bootstrap_refuses_an_argument_that_is_no_utf8_text_in_one_line(
        username, password, config_file, db_uri, engine, capsys):
    """Bytes that are not UTF-8 reach Python as lone surrogates: they were a
    UnicodeEncodeError traceback (bcrypt, then the database driver)."""
    assert main(['bootstrap', '--config', config_file, '--db-uri', db_uri,
                 '--username', username, '--password', password]) == 1
    err = capsys.readouterr().err
    assert err.startswith('wazo-like-auth: ') and len(err.splitlines()) == 1, err
    assert ('username' if username != 'boot' else 'Password') in err


@pytest.mark.parametrize('username', ['', 'u' * 257])
def test_bootstrap_refuses_a_username_no_login_could_use(username, config_file, db_uri,
                                                        engine, capsys):
    # '' (an unset shell variable) was created and announced as having full access, though
    # no login can name it; an over-long one ended in a database traceback.
    assert main(['bootstrap', '--config', config_file, '--db-uri', db_uri,
                 '--username', username, '--password', 'pw']) == 1
    err = capsys.readouterr().err
    assert err.startswith('wazo-like-auth: ') and 'username' in err and len(err.splitlines()) == 1
    with engine.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM auth_user WHERE username = :u'),
                            {'u': username}).scalar() == 0
