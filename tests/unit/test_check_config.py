"""`wazo-like-auth check-config`, what the Debian postinst runs: an invalid configuration is one
line naming the file and the key, exit status 2, never a traceback; and no value of any key
makes the configuration loader fail any other way."""
from __future__ import annotations

import math
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
    ('rest_api:\n  certificate: /etc/ssl/auth.pem\n', 'rest_api.certificate'),  # no key
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
