"""What an operator reads (etc/wazo-like-auth/config.yml, README "Configuration" and "Commands",
the man page, --help) against what the service does with it."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wazo_like_auth.cli import main


@pytest.fixture
def etc(tmp_path, monkeypatch) -> Path:
    """A configuration folder as the package lays it out: config.yml and conf.d/."""
    for variable in ('WAZO_LIKE_AUTH_DB_URI', 'WAZO_LIKE_AUTH_PORT', 'XIVO_UUID'):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / 'conf.d').mkdir()
    (tmp_path / 'config.yml').write_text(
        f'state_dir: {tmp_path}/state\npassword_hash_rounds: 4\ntoken_secret: {"s" * 40}\n')
    return tmp_path


def one_line(err: str) -> str:
    assert 'Traceback' not in err and len(err.splitlines()) == 1, err
    assert err.startswith('wazo-like-auth: configuration error: '), err
    return err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


# --- values the checks accept that serve then fails on ------------------------------------


BOOTSTRAP_USERS = [
    # bcrypt reads 72 bytes: the service refuses longer passwords (README, Security), as the
    # configuration already does for clients[].client_secret.
    ('bootstrap_user_password', 'boot', 'p' * 73),
    # auth_user.username holds 256 characters: ensure_admin refuses more.
    ('bootstrap_user_username', 'u' * 257, 'boot-password'),
]


@pytest.mark.parametrize('key, username, password', BOOTSTRAP_USERS, ids=lambda v: v[:30])
def test_check_config_refuses_a_bootstrap_user_serve_cannot_create(etc, capsys, key, username,
                                                                   password):
    """check-config is what the Debian postinst runs 'as serve does before it starts
    anything' (man page): a bootstrap user serve will refuse must be refused here, exit 2."""
    (etc / 'conf.d' / '90-local.yml').write_text(
        f'bootstrap_user_on_startup: true\nbootstrap_user_username: {username}\n'
        f'bootstrap_user_password: {password}\n')
    status = main(['check-config', '--config', str(etc / 'config.yml')])
    err = capsys.readouterr().err
    assert status == 2, f'check-config accepted it (exit {status}); serve will not start'
    assert f'{etc}/conf.d/90-local.yml: {key}' in one_line(err)


def test_serve_with_a_bootstrap_password_bcrypt_would_cut_is_a_configuration_error(
        etc, capsys, db_uri, engine):
    """README, Configuration: a bad value stops the service with exit status 2 (which the
    systemd unit does not restart) and one line naming the file and the key. Today serve
    migrates, then fails preparing the database with exit 1: systemd restarts it every 2 s."""
    (etc / 'conf.d' / '90-local.yml').write_text(
        f'bootstrap_user_on_startup: true\nbootstrap_user_username: boot\n'
        f'bootstrap_user_password: {"p" * 73}\n')
    status = main(['serve', '--config', str(etc / 'config.yml'), '--db-uri', db_uri,
                   '--listen', '127.0.0.1', '--port', str(_free_port())])
    err = capsys.readouterr().err
    assert status == 2 and 'bootstrap_user_password' in err, (status, err)


# --- environment over a section that is not a mapping -------------------------------------


@pytest.mark.parametrize('section', ['rest_api: 8080\n', 'rest_api:\n'],
                         ids=['scalar', 'null (every sub-key commented out)'])
def test_an_environment_variable_over_a_section_that_is_no_mapping_is_one_line(
        etc, capsys, monkeypatch, section):
    """README: every value is checked at start, a bad one is one line naming where it was
    set and the key (the postinst prints that line). WAZO_LIKE_AUTH_PORT over a rest_api
    that is not a mapping raises TypeError out of load_config: a traceback, exit 1."""
    (etc / 'conf.d' / '90-local.yml').write_text(section)
    monkeypatch.setenv('WAZO_LIKE_AUTH_PORT', '9000')
    try:
        status = main(['check-config', '--config', str(etc / 'config.yml')])
    except TypeError as e:
        pytest.fail(f'check-config crashed: TypeError: {e}')
    err = capsys.readouterr().err
    assert status == 2 and 'rest_api' in one_line(err)


# --- --help ---------------------------------------------------------------------------------


@pytest.mark.parametrize('command', [['upgrade-db'], ['bootstrap'], ['keys', 'list']])
def test_db_uri_help_of_a_command_that_needs_one_promises_no_embedded_default(command, capsys):
    """`--db-uri` says '(default: embedded PostgreSQL)' on every subcommand, but upgrade-db,
    bootstrap and keys never use the embedded database: without db_uri they stop with
    '... needs db_uri (config, WAZO_LIKE_AUTH_DB_URI or --db-uri)'."""
    with pytest.raises(SystemExit):
        main([*command, '--help'])
    shown = ' '.join(capsys.readouterr().out.split())
    assert 'default: embedded PostgreSQL' not in shown, shown


# --- check-config names the file -------------------------------------------------------------


@pytest.mark.parametrize('local', [
    'smtp:\n  host: smtp.example.com\n',  # public_url is then required (mail links)
    'rest_api:\n  private_key: /etc/ssl/private/auth.key\n',  # certificate is then required
    'smtp:\n  password: relay-password\n',  # username is then required
], ids=['smtp.host without public_url', 'private_key without certificate',
        'smtp.password without username'])
def test_a_key_missing_for_another_ones_sake_names_the_file_that_set_the_other(etc, capsys,
                                                                                local):
    """Man page, check-config: 'Prints one line naming the file and the key, and exits 2,
    when it is invalid' (README: 'one line naming where it was set and the key'). When the
    rule is broken by a key a file set, the line names no file at all today."""
    (etc / 'conf.d' / '50-local.yml').write_text(local)
    status = main(['check-config', '--config', str(etc / 'config.yml')])
    err = one_line(capsys.readouterr().err)
    assert status == 2
    assert f'{etc}/conf.d/50-local.yml' in err, err
