"""Review of upgrades, configuration and operations (tests by a review helper): values the
configuration accepts (check-config says valid) that the service then cannot use, and what
upgrade-db says on a database holding another application's tables."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.scratch_db import scratch  # noqa: F401
from wazo_like_auth import db, server
from wazo_like_auth.cli import main
from wazo_like_auth.config import ConfigError

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'


def _config_file(tmp_path, body: str) -> str:
    path = tmp_path / 'config.yml'
    path.write_text(f'state_dir: {tmp_path}/state\ntoken_secret: {"s" * 40}\n' + body)
    return str(path)


# A NUL byte cannot be stored in PostgreSQL text: serve's preparation stopped on
# "ValueError: A string literal cannot contain NUL (0x00) characters." with a traceback (exit
# 1, restarted by systemd for ever) where check-config said the configuration was valid. The
# other strings of the configuration are refused with a NUL (47ce692).
@pytest.mark.parametrize('key, body', [
    ('clients', "clients:\n- {client_id: app, client_secret: 0123456789abcdef, "
                "name: \"App\\0\"}\n"),
    ('clients', "clients:\n- {client_id: app, client_secret: 0123456789abcdef, "
                "acl: [\"confd.#\\0\"]}\n"),
    ('default_policies', "default_policies:\n  operators: {acl: [confd.#], "
                         "description: \"Operators\\0\"}\n"),
])
def test_a_nul_byte_serve_cannot_store_is_refused_by_check_config(key, body, tmp_path, capsys):
    assert main(['check-config', '--config', _config_file(tmp_path, body)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f'config.yml: {key}' in err, err


def test_nul_bytes_check_config_accepts_stop_the_preparation_with_a_traceback(make_config,
                                                                               db_uri, engine):
    # What serve meets with the configuration check-config accepted above.
    try:
        config = make_config(db_uri=db_uri, clients=[
            {'client_id': 'app', 'client_secret': '0123456789abcdef', 'name': 'App\x00'}])
    except ConfigError:
        return  # refused when read: fixed
    server.prepare_database(config)  # ValueError: A string literal cannot contain NUL


# A public_url whose host is an unclosed IPv6 literal (a typo of https://[fd00::1]/...) is
# accepted; the issuer comparison of the device grant (oidc.realms.same_issuer, urlsplit)
# then raises ValueError at every poll: 500 in the Wazo envelope, not an RFC 6749 error.
def test_a_public_url_that_is_no_url_is_refused_or_the_device_poll_answers_no_500(
        make_config, db_uri, engine):
    try:
        config = make_config(db_uri=db_uri, public_url='https://[fd00::1/api/auth/0.1',
                             clients=[{'client_id': 'tv', 'public': True}])
    except ConfigError as e:
        assert 'public_url' in str(e)
        return
    server.prepare_database(config)
    with running_app(config, engine) as app:
        client = app.test_client()
        started = client.post('/0.1/oauth2/device_authorization', data={'client_id': 'tv'})
        assert started.status_code == 200
        polled = client.post('/0.1/oauth2/token', data={
            'client_id': 'tv', 'grant_type': DEVICE,
            'device_code': started.get_json()['device_code']})
        assert polled.status_code == 400, polled.get_data()  # authorization_pending


# Integer options without an upper bound take values no part of the service can use; each is
# accepted by check-config:
# - throttle.login_window past about 6,700 years: now() - make_interval(secs => window) is out
#   of PostgreSQL's timestamp range, every login with a password answers 500;
# - db_statement_timeout past 2147483647 ms: PostgreSQL refuses every connection ("invalid
#   value for parameter statement_timeout"), serve logs 'Database unreachable' and answers 503
#   for ever.
def test_a_login_window_past_what_postgresql_can_count_is_refused_or_logins_answer(
        make_config, db_uri, engine, make_user, login):
    make_user('alice', 's3cret')
    try:
        config = make_config(db_uri=db_uri, throttle={'login_window': 10 ** 12})
    except ConfigError as e:
        assert 'throttle.login_window' in str(e)
        return
    with running_app(config, engine) as app:
        import base64
        basic = base64.b64encode(b'alice:s3cret').decode()
        answer = app.test_client().post('/0.1/token', json={},
                                        headers={'Authorization': f'Basic {basic}'},
                                        environ_base={'REMOTE_ADDR': '198.51.100.7'})
    assert answer.status_code == 200, answer.get_json()


def test_a_statement_timeout_postgresql_refuses_is_refused_or_connections_work(make_config,
                                                                              db_uri):
    try:
        config = make_config(db_uri=db_uri, db_statement_timeout=2 ** 31)
    except ConfigError as e:
        assert 'db_statement_timeout' in str(e)
        return
    engine = db.make_engine(config, pool_size=1)
    try:
        with engine.connect() as conn:  # OperationalError: invalid value for parameter
            assert conn.execute(text('SELECT 1')).scalar() == 1
    finally:
        engine.dispose()


# upgrade-db on a database that holds another application's tables (a wrong db_uri, a shared
# database): an uncaught ProgrammingError, a traceback of some 100 lines quoting the whole
# 0001 schema, where a database that is not this service's (foreign alembic revision, newer
# revision) gets one line.
def test_upgrade_db_on_another_applications_database_says_so_in_one_line(scratch, tmp_path,  # noqa: F811,E501
                                                                         capsys):
    with scratch.begin() as conn:
        conn.execute(text('CREATE TABLE tenant (id integer PRIMARY KEY, name text)'))
    uri = scratch.url.render_as_string(hide_password=False)

    status = main(['upgrade-db', '--config', _config_file(tmp_path, ''), '--db-uri', uri])

    err = capsys.readouterr().err
    assert status == 1
    assert len(err.splitlines()) == 1 and 'tenant' in err, err
