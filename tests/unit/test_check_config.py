"""`wazo-like-auth check-config`, what the Debian postinst runs: an invalid configuration is one
line naming the file and the key, exit status 2, never a traceback; and no value of any key
makes the configuration loader fail any other way."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from wazo_like_auth.cli import main
from wazo_like_auth.config import ConfigError, load_config
from wazo_like_auth.config_values import VALIDATORS


@pytest.fixture
def etc(tmp_path, monkeypatch) -> Path:
    """A configuration folder as the package lays it out: config.yml and conf.d/."""
    for variable in ('WAZO_LIKE_AUTH_DB_URI', 'WAZO_LIKE_AUTH_PORT', 'XIVO_UUID'):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / 'conf.d').mkdir()
    (tmp_path / 'config.yml').write_text(f'state_dir: {tmp_path}/state\nrest_api:\n'
                                         f'  listen: 127.0.0.1\n  port: 9497\n')
    return tmp_path


def check(etc: Path, capsys) -> tuple[int, str]:
    status = main(['check-config', '--config', str(etc / 'config.yml')])
    captured = capsys.readouterr()
    return status, captured.err


def one_line(err: str) -> str:
    assert 'Traceback' not in err and len(err.splitlines()) == 1, err
    assert err.startswith('wazo-like-auth: configuration error: '), err
    return err


def test_a_valid_configuration_passes(etc, capsys):
    assert main(['check-config', '--config', str(etc / 'config.yml')]) == 0
    assert capsys.readouterr().out == 'configuration is valid\n'


@pytest.mark.parametrize('local, key', [
    ('rest_api:\n  listen: auth.example.com\n', 'rest_api.listen'),  # a host name
    ('rest_api:\n  port: 70000\n', 'rest_api.port'),
    ('rest_api:\n  port: http\n', 'rest_api.port'),
    ('rest_api:\n  port: .inf\n', 'rest_api.port'),  # YAML's infinity
    ('rest_api: 8080\n', 'rest_api'),
    ('log_level: loud\n', 'log_level'),
    ('token_secret: short\n', 'token_secret'),
    ('smtp:\n  ca_file: ' + 'x' * 5000 + '\n', 'smtp.ca_file'),  # a name too long to stat
    # No key: the line names the key missing and the file that set the certificate.
    ('rest_api:\n  certificate: /etc/ssl/auth.pem\n', 'rest_api.private_key'),
])
def test_a_bad_value_in_a_conf_d_file_names_that_file_and_the_key(etc, capsys, local, key):
    (etc / 'conf.d' / '10-site.yml').write_text('rest_api:\n  workers: 2\n')
    (etc / 'conf.d' / '90-local.yml').write_text(local)
    status, err = check(etc, capsys)
    assert status == 2
    assert f': {etc}/conf.d/90-local.yml: {key}: ' in one_line(err)


def test_a_bad_value_of_config_yml_names_config_yml(etc, capsys):
    with open(etc / 'config.yml', 'a') as config:
        config.write('db_pool_size: many\n')
    status, err = check(etc, capsys)
    assert status == 2 and f': {etc}/config.yml: db_pool_size: ' in one_line(err)


def test_a_bad_value_from_the_environment_names_the_variable(etc, capsys, monkeypatch):
    monkeypatch.setenv('WAZO_LIKE_AUTH_PORT', 'ninety')
    status, err = check(etc, capsys)
    assert status == 2
    assert ': environment variable WAZO_LIKE_AUTH_PORT: rest_api.port: ' in one_line(err)


def test_a_file_that_is_not_yaml_is_named(etc, capsys):
    (etc / 'conf.d' / '90-local.yml').write_text('rest_api: [unclosed\n')
    status, err = check(etc, capsys)
    assert status == 2
    assert f'{etc}/conf.d/90-local.yml: not valid YAML at line 2, column 1: ' in one_line(err)


@pytest.mark.parametrize('certificate', ['missing', 'not-pem'])
def test_a_certificate_that_cannot_be_loaded_is_named_with_its_key(etc, capsys, certificate):
    (etc / 'not-pem').write_text('not a certificate\n')
    (etc / 'conf.d' / '90-local.yml').write_text(
        f'rest_api:\n  certificate: {etc}/{certificate}\n  private_key: {etc}/not-pem\n')
    status, err = check(etc, capsys)
    assert status == 2
    assert f'rest_api.certificate: cannot load {etc}/{certificate} ' in one_line(err)


def test_a_log_file_that_cannot_be_opened_is_named_with_its_key(etc, capsys):
    (etc / 'conf.d' / '90-local.yml').write_text(f'log_filename: {etc}/missing/auth.log\n')
    status, err = check(etc, capsys)
    assert status == 2 and f'log_filename: cannot open {etc}/missing/auth.log' in one_line(err)


BAD_VALUES = [[1, 2], {'a': 1}, [None], [{'a': 1}], 'x', '', '\x00', 'x' * 5000, -5, True, 1.5,
              math.inf, 10 ** 30]


def _nested(path: tuple[str, ...], value):
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize('path', list(VALIDATORS), ids='.'.join)
def test_no_value_of_any_key_fails_the_loader_other_than_naming_the_key(path, tmp_path):
    (tmp_path / 'config.yml').write_text('{}\n')
    for value in BAD_VALUES:
        try:
            load_config(str(tmp_path / 'config.yml'), flags=_nested(path, value), environ={})
        except ConfigError as e:  # anything else fails the test, with its traceback
            assert '\n' not in str(e), e


@pytest.mark.parametrize('local', [
    'uuid: 2024-13-45\n',  # a date YAML reads, that is none
    'bootstrap_user_password: 2024-02-30\n',
    'rest_api:\n  port: ' + '9' * 5000 + '\n',  # over Python's integer-string limit
])
def test_a_yaml_value_that_cannot_be_built_is_one_line_not_a_traceback(etc, capsys, local):
    (etc / 'conf.d' / '90-local.yml').write_text(local)
    status, err = check(etc, capsys)
    assert status == 2 and f'{etc}/conf.d/90-local.yml: not valid YAML' in one_line(err)
    assert '2024' not in err  # the value may be a password: never quoted


@pytest.fixture
def shared_tmp():
    """A folder other users may enter (pytest's own is its user's only)."""
    path = Path(tempfile.mkdtemp(prefix='wla-check-config-'))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_conf_d_the_service_cannot_list_is_an_error_not_skipped(shared_tmp):
    # glob() skipped it: check-config said valid, and serve started without its database
    # and token_secret (on an embedded database, with a new secret).
    if os.geteuid() == 0 and not shutil.which('setpriv'):
        pytest.skip('needs setpriv to leave root')
    tmp_path = shared_tmp
    etc = tmp_path / 'etc'
    (etc / 'conf.d').mkdir(parents=True)
    (etc / 'config.yml').write_text(f'state_dir: {tmp_path}/state\n')
    (etc / 'conf.d' / '40-db.yml').write_text('db_uri: postgresql://auth@db/auth\n')
    for path in (tmp_path, etc, etc / 'config.yml'):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (etc / 'conf.d').chmod(0o700)  # root's; the service runs as another user
    leave_root = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] \
        if os.geteuid() == 0 else []
    environment = {k: v for k, v in os.environ.items() if not k.startswith('WAZO_LIKE_AUTH_')}
    done = subprocess.run([*leave_root, sys.executable, '-m', 'wazo_like_auth.cli',
                           'check-config', '--config', str(etc / 'config.yml')],
                          capture_output=True, text=True, timeout=60, env=environment, cwd='/')
    (etc / 'conf.d').chmod(0o755)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f'{etc}/conf.d: cannot be read' in done.stderr


def test_an_encrypted_private_key_is_refused_without_asking_for_its_passphrase(tmp_path):
    # OpenSSL asked for the passphrase on the terminal (check-config, and the Debian
    # postinst, waited there); the service started by systemd could never give it.
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'auth')])
    now = dt.datetime.now(dt.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name) \
        .public_key(key.public_key()).serial_number(1).not_valid_before(now) \
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    (tmp_path / 'cert.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / 'key.pem').write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b'passphrase')))
    (tmp_path / 'config.yml').write_text(
        f'state_dir: {tmp_path}/state\nrest_api:\n  certificate: {tmp_path}/cert.pem\n'
        f'  private_key: {tmp_path}/key.pem\n')
    environment = {k: v for k, v in os.environ.items() if not k.startswith('WAZO_LIKE_AUTH_')}
    done = subprocess.run([sys.executable, '-m', 'wazo_like_auth.cli', 'check-config',
                           '--config', str(tmp_path / 'config.yml')], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, env=environment)
    assert done.returncode == 2, done.stderr
    assert f'rest_api.private_key: {tmp_path}/key.pem is encrypted' in one_line(done.stderr)


def test_a_configuration_folder_the_service_cannot_enter_is_one_line(shared_tmp):
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        pytest.skip('needs root and setpriv to run as another user')
    etc = shared_tmp / 'etc'
    etc.mkdir()
    (etc / 'config.yml').write_text('{}\n')
    shared_tmp.chmod(0o755)
    etc.chmod(0o700)
    done = subprocess.run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                           sys.executable, '-m', 'wazo_like_auth.cli', 'check-config',
                           '--config', str(etc / 'config.yml')],
                          capture_output=True, text=True, timeout=60, cwd='/', env={
                              k: v for k, v in os.environ.items()
                              if not k.startswith('WAZO_LIKE_AUTH_')})
    etc.chmod(0o755)
    assert done.returncode == 2, done.stderr  # was a traceback (PermissionError), exit 1
    assert f'{etc}/config.yml: cannot be read: Permission denied' in one_line(done.stderr)


@pytest.mark.parametrize('uri, said', [
    ('mysql://auth:hunter2@db/auth', 'mysql:// is not supported'),
    ('postgresql://auth:hunter2@db:notaport/auth', 'not a URI'),
    ('postgresql://auth:hunter2@db/auth?ssl=true', 'invalid connection option "ssl"'),
    ('postgresql://auth:hunter2@db/auth?port=abc', 'the port option must be a number'),
])
def test_check_config_refuses_the_db_uri_serve_would_refuse(etc, capsys, uri, said):
    # check-config said valid; serve then stopped on it (one line naming no key, or a
    # traceback for an option libpq does not know), and systemd restarted it for ever.
    (etc / 'conf.d' / '40-db.yml').write_text(f'db_uri: "{uri}"\n')
    status, err = check(etc, capsys)
    assert status == 2 and f'{etc}/conf.d/40-db.yml: db_uri: ' in one_line(err)
    assert said in err and 'hunter2' not in err


@pytest.mark.parametrize('command, promised', [
    (['serve'], 'embedded PostgreSQL'),
    (['upgrade-db'], 'needed unless db_uri'),
    (['bootstrap'], 'needed unless db_uri'),
    (['keys', 'rotate'], 'needed unless db_uri'),
])
def test_db_uri_help_says_what_each_command_does_without_one(command, promised, capsys):
    """Only serve embeds a PostgreSQL; the others stop saying they need db_uri."""
    with pytest.raises(SystemExit):
        main([*command, '--help'])
    assert promised in ' '.join(capsys.readouterr().out.split())


def test_a_token_secret_file_serve_would_refuse_is_refused(etc, capsys):
    """check-config --help: it checks the state directory as serve would use it. A
    token_secret file left empty (a full disk) stops serve; check-config said 'valid'."""
    state = etc / 'state'
    state.mkdir()
    (state / 'token_secret').write_text('')
    status, err = check(etc, capsys)
    assert status == 2
    assert f'{state}/token_secret' in one_line(err)


def test_a_missing_token_secret_file_is_valid_and_not_created(etc, capsys):
    """serve creates it at its first start; checking creates nothing."""
    status, err = check(etc, capsys)
    assert (status, err) == (0, '')
    assert not (etc / 'state').exists()


def test_a_mail_template_that_cannot_be_parsed_is_refused_naming_its_file_and_line(etc, capsys):
    """README, Mail: a broken template stops start-up. check-config (what postinst runs) said
    'configuration is valid', then serve failed with 'preparing the database failed:
    TemplateSyntaxError', naming neither the file nor the line."""
    templates = etc / 'mail'
    templates.mkdir()
    (templates / 'password_reset.html').write_text('<p>\n{{ link }\n</p>\n')
    with open(etc / 'config.yml', 'a') as config:
        config.write(f'mail:\n  templates_dir: {templates}\n')
    status, err = check(etc, capsys)
    assert status == 2
    assert f'mail.templates_dir: {templates}/password_reset.html, line 2: ' in one_line(err)


def test_a_state_dir_serve_cannot_create_is_refused(etc, capsys):
    """check-config --help: '--state-dir: state directory to check as serve would use it';
    README: it checks 'state_dir's token_secret'. Under a regular file no state_dir can be
    made: serve stops at once (exit 1, 'state_dir ...: cannot keep token_secret there'), while
    check-config, finding no token_secret file, said 'configuration is valid'."""
    blocker = etc / 'file'
    blocker.write_text('')
    status = main(['check-config', '--config', str(etc / 'config.yml'),
                   '--state-dir', f'{blocker}/state'])
    err = capsys.readouterr().err
    assert status != 0, 'check-config said valid; serve refuses this state_dir'
    assert f'{blocker}/state' in one_line(err)
    assert blocker.read_text() == '' and blocker.is_file()


def test_a_mail_template_that_never_finishes_rendering_does_not_hang_check_config(etc):
    """check_templates renders every override at load (check-config, serve, every command):
    a loop without end in one (here a range Python would take hours to walk) made
    check-config, what postinst runs, hang with no message, and serve never start."""
    templates = etc / 'mail'
    templates.mkdir()
    (templates / 'password_reset.txt').write_text(
        '{% for i in range(10 ** 12) %}{% endfor %}{{ link }}\n')
    with open(etc / 'config.yml', 'a') as config:
        config.write(f'mail:\n  templates_dir: {templates}\n')
    try:
        done = subprocess.run([sys.executable, '-m', 'wazo_like_auth.cli', 'check-config',
                               '--config', str(etc / 'config.yml')],
                              capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail('check-config still rendering the template after 15 s')
    assert done.returncode == 2 and 'password_reset.txt' in done.stderr, done
