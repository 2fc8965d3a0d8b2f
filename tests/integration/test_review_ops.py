"""What an operator meets when the host gets in the way: a log file or state directory that
cannot be written, a token_secret file left empty (a full disk), an embedded PostgreSQL that
fails to start. Each is one line naming the culprit, no traceback, nothing left running."""
from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from wazo_like_auth import db
from wazo_like_auth.cli import main
from wazo_like_auth.embedded_db import EmbeddedDatabaseError, EmbeddedPostgres


def _config(tmp_path: Path, body: str) -> str:
    path = tmp_path / 'config.yml'
    path.write_text(f'password_hash_rounds: 4\n{body}')
    return str(path)


def test_a_log_filename_that_cannot_be_opened_is_one_line_naming_the_key(tmp_path, capsys):
    config = _config(tmp_path, f'log_filename: {tmp_path}/missing/auth.log\n')
    assert main(['upgrade-db', '--config', config, '--db-uri', 'postgresql://x@127.0.0.1:1/x']) == 2
    err = capsys.readouterr().err
    assert 'log_filename' in err and 'Traceback' not in err


def test_an_empty_token_secret_file_is_one_line_naming_the_file(tmp_path, capsys):
    state = tmp_path / 'state'
    state.mkdir()
    (state / 'token_secret').write_text('')  # what a full disk leaves behind
    config = _config(tmp_path, f'state_dir: {state}\n')
    assert main(['serve', '--config', config, '--db-uri', 'postgresql://x@127.0.0.1:1/x']) == 1
    err = capsys.readouterr().err
    assert f'{state}/token_secret' in err and 'Traceback' not in err


def test_an_empty_token_secret_file_stops_serve_before_any_embedded_postgresql(tmp_path, capsys):
    """README, Configuration: serve checks state_dir and its token_secret before it starts
    anything. It used to create and start the embedded PostgreSQL first (initdb: seconds),
    then stop it and refuse the token_secret."""
    state = tmp_path / 'state'
    state.mkdir()
    (state / 'token_secret').write_text('')
    config = _config(tmp_path, f'state_dir: {state}\n')
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    assert main(['serve', '--config', config, '--listen', '127.0.0.1', '--port', str(port)]) == 1
    assert f'{state}/token_secret' in capsys.readouterr().err
    assert not (state / 'postgresql').exists()


def test_a_state_dir_that_cannot_be_created_is_one_line_naming_it(tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    config = _config(tmp_path, f'state_dir: {blocker}/state\n')
    assert main(['serve', '--config', config]) == 1
    err = capsys.readouterr().err
    assert f'{blocker}/state' in err and 'Traceback' not in err


def test_a_failed_embedded_start_leaves_no_postgresql_running():
    base = Path(tempfile.mkdtemp(prefix='wla-review-ops-'))
    base.chmod(0o711)  # as root the server runs as another user, who must traverse it
    database = EmbeddedPostgres(base / 'postgresql' / 'data')
    try:
        with pytest.raises(EmbeddedDatabaseError):
            database.start(timeout=-1)  # gives up at its first connection attempt
        server = database._process  # the server process it launched, if it is still ours
        assert server is None or server.poll() is not None
    finally:
        if database._process is not None and database._process.poll() is None:
            database._process.kill()
            database._process.wait()
        shutil.rmtree(base, ignore_errors=True)


def test_a_certificate_that_cannot_be_loaded_stops_serve_with_the_key_named(tmp_path, capsys):
    """Exit 2, as for any invalid configuration: the systemd unit does not restart it (a
    port in use, below, exits 1: it may be freed)."""
    (tmp_path / 'auth.key').write_text('not a key\n')
    config = _config(tmp_path, f'state_dir: {tmp_path}/state\ntoken_secret: {"s" * 40}\n'
                               f'rest_api:\n  certificate: {tmp_path}/missing.crt\n'
                               f'  private_key: {tmp_path}/auth.key\n')
    assert main(['serve', '--config', config, '--db-uri', 'postgresql://x@127.0.0.1:1/x']) == 2
    err = capsys.readouterr().err
    assert 'rest_api.certificate' in err and 'Traceback' not in err


def test_a_port_already_in_use_stops_serve_with_the_key_named(tmp_path, capsys):
    config = _config(tmp_path, f'state_dir: {tmp_path}/state\ntoken_secret: {"s" * 40}\n')
    with socket.socket() as taken:  # another service on the port
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(['serve', '--config', config, '--db-uri', 'postgresql://x@127.0.0.1:1/x',
                     '--listen', '127.0.0.1', '--port', str(port)]) == 1
    err = capsys.readouterr().err
    assert 'rest_api.port' in err and 'in use' in err and 'Traceback' not in err


def test_keys_rotate_with_a_state_dir_it_cannot_create_is_one_line_naming_it(tmp_path, db_uri,
                                                                             engine, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    config = _config(tmp_path, f'state_dir: {blocker}/state\n')  # no token_secret configured
    assert main(['keys', 'rotate', '--config', config, '--db-uri', db_uri]) == 1
    err = capsys.readouterr().err
    assert f'{blocker}/state' in err and 'Traceback' not in err


def test_a_failed_statement_logged_never_quotes_its_parameters(make_config, db_uri):
    # What a logged database error (a statement timeout, a deadlock) would show: a
    # password hash, an e-mail address... the values a statement carries stay out of logs.
    engine = db.make_engine(make_config(db_uri=db_uri, db_statement_timeout=1), pool_size=1)
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as conn:
            conn.execute(text('SELECT pg_sleep(2) WHERE :value IS NOT NULL'),
                         {'value': 'hash-$2b$04$marker'})
    finally:
        engine.dispose()
    assert 'marker' not in str(raised.value)
