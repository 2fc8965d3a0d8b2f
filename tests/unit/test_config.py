"""Configuration: precedence, validation, secrets (design.md "Configuration", spec D3, D5)."""
from __future__ import annotations

import os
import stat

import pytest
import yaml

from wazo_like_auth.config import ConfigError, hash_concurrency, load_config
from wazo_like_auth.config_secret import token_secret
from wazo_like_auth.config_view import public_view


@pytest.fixture
def config_dir(tmp_path):
    directory = tmp_path / 'etc'
    (directory / 'conf.d').mkdir(parents=True)
    return directory


def write(path, content: dict) -> str:
    path.write_text(yaml.safe_dump(content))
    return str(path)


def load(config_dir, main: dict | None = None, conf_d: dict | None = None,
         environ: dict | None = None, flags: dict | None = None) -> dict:
    main_file = write(config_dir / 'config.yml', main or {})
    for name, content in (conf_d or {}).items():
        write(config_dir / 'conf.d' / name, content)
    return load_config(main_file, flags=flags, environ=environ or {})


def error_of(config_dir, **kwargs) -> str:
    with pytest.raises(ConfigError) as raised:
        load(config_dir, **kwargs)
    return str(raised.value)


# --- precedence -------------------------------------------------------------------------


def test_defaults_apply_without_any_setting(config_dir):
    config = load(config_dir)
    assert config['rest_api']['port'] == 9497
    assert config['rest_api']['listen'] == '127.0.0.1'
    assert config['default_token_lifetime'] == 7200
    assert config['password_hash_rounds'] == 12
    assert config['db_uri'] is None


def test_config_file_overrides_defaults(config_dir):
    config = load(config_dir, main={'default_token_lifetime': 60, 'rest_api': {'port': 9000}})
    assert config['default_token_lifetime'] == 60
    assert config['rest_api']['port'] == 9000
    assert config['rest_api']['listen'] == '127.0.0.1'  # nested defaults survive


def test_conf_d_overrides_the_config_file(config_dir):
    config = load(config_dir, main={'default_token_lifetime': 60},
                  conf_d={'50-local.yml': {'default_token_lifetime': 120}})
    assert config['default_token_lifetime'] == 120


def test_conf_d_files_apply_in_sorted_order_last_wins(config_dir):
    config = load(config_dir, conf_d={
        '20-second.yml': {'default_token_lifetime': 200},
        '10-first.yml': {'default_token_lifetime': 100},
        '30-third.yml': {'log_level': 'debug'},
    })
    assert config['default_token_lifetime'] == 200
    assert config['log_level'] == 'debug'


def test_conf_d_files_deep_merge_dicts(config_dir):
    config = load(config_dir, main={'rest_api': {'port': 9000, 'threads': 8}}, conf_d={
        '10-a.yml': {'rest_api': {'listen': '0.0.0.0'}},
        '20-b.yml': {'rest_api': {'threads': 16}},
    })
    assert config['rest_api']['port'] == 9000
    assert config['rest_api']['listen'] == '0.0.0.0'
    assert config['rest_api']['threads'] == 16
    assert config['rest_api']['num_proxies'] == 0


def test_conf_d_ignores_hidden_and_non_yml_files(config_dir):
    (config_dir / 'conf.d' / '.99-hidden.yml').write_text('default_token_lifetime: 5\n')
    (config_dir / 'conf.d' / '99-notes.txt').write_text('default_token_lifetime: 6\n')
    assert load(config_dir)['default_token_lifetime'] == 7200


def test_empty_conf_d_file_changes_nothing(config_dir):
    (config_dir / 'conf.d' / '10-empty.yml').write_text('')
    assert load(config_dir)['default_token_lifetime'] == 7200


def test_environment_overrides_files(config_dir):
    config = load(config_dir, main={'db_uri': 'postgresql://file/db', 'rest_api': {'port': 9000}},
                  conf_d={'10-a.yml': {'uuid': 'from-file'}},
                  environ={'WAZO_LIKE_AUTH_DB_URI': 'postgresql://env/db',
                           'WAZO_LIKE_AUTH_PORT': '9100', 'XIVO_UUID': 'from-env'})
    assert config['db_uri'] == 'postgresql://env/db'
    assert config['rest_api']['port'] == 9100
    assert config['uuid'] == 'from-env'


def test_only_allow_listed_environment_variables_are_read(config_dir):
    config = load(config_dir, environ={'WAZO_LIKE_AUTH_LOG_LEVEL': 'debug',
                                       'DEFAULT_TOKEN_LIFETIME': '5',
                                       'WAZO_LIKE_AUTH_TOKEN_SECRET': 'e' * 40})
    assert config['log_level'] == 'info'
    assert config['default_token_lifetime'] == 7200
    assert config['token_secret'] is None


def test_empty_environment_variable_is_ignored(config_dir):
    config = load(config_dir, main={'rest_api': {'port': 9000}},
                  environ={'WAZO_LIKE_AUTH_PORT': ''})
    assert config['rest_api']['port'] == 9000


def test_flags_override_environment_and_files(config_dir):
    config = load(config_dir, main={'rest_api': {'port': 9000}},
                  environ={'WAZO_LIKE_AUTH_PORT': '9100',
                           'WAZO_LIKE_AUTH_DB_URI': 'postgresql://env/db'},
                  flags={'rest_api': {'port': 9200}, 'db_uri': 'postgresql://flag/db'})
    assert config['rest_api']['port'] == 9200
    assert config['db_uri'] == 'postgresql://flag/db'


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path / 'nowhere.yml'), environ={})
    assert 'nowhere.yml' in str(raised.value)


def test_config_file_that_is_not_a_mapping_is_an_error(config_dir):
    (config_dir / 'config.yml').write_text('- a\n- b\n')
    with pytest.raises(ConfigError) as raised:
        load_config(str(config_dir / 'config.yml'), environ={})
    assert 'config.yml' in str(raised.value)


def test_unparsable_conf_d_file_is_an_error_naming_it(config_dir):
    (config_dir / 'conf.d' / '10-broken.yml').write_text('rest_api: [unclosed\n')
    assert '10-broken.yml' in error_of(config_dir)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize('settings, key', [
    ({'rest_api': {'port': 'abc'}}, 'rest_api.port'),
    ({'rest_api': {'port': 0}}, 'rest_api.port'),
    ({'rest_api': {'port': 70000}}, 'rest_api.port'),
    ({'rest_api': {'port': True}}, 'rest_api.port'),
    ({'rest_api': {'port': 80.5}}, 'rest_api.port'),
    ({'rest_api': {'workers': 0}}, 'rest_api.workers'),
    ({'rest_api': {'listen': 'localhost'}}, 'rest_api.listen'),  # granian binds IPs only
    ({'rest_api': {'listen': 'not-an-address'}}, 'rest_api.listen'),
    ({'rest_api': {'max_body_size': 'big'}}, 'rest_api.max_body_size'),
    ({'rest_api': 'everything'}, 'rest_api'),
    ({'password_hash_rounds': 3}, 'password_hash_rounds'),
    ({'password_hash_rounds': 32}, 'password_hash_rounds'),
    ({'password_hash_concurrency': 0}, 'password_hash_concurrency'),
    ({'log_level': 'loud'}, 'log_level'),
    ({'default_token_lifetime': 0}, 'default_token_lifetime'),
    ({'default_token_lifetime': 315360001}, 'default_token_lifetime'),
    ({'token_secret': 'short'}, 'token_secret'),
    ({'bootstrap_user_on_startup': 'perhaps'}, 'bootstrap_user_on_startup'),
    ({'db_uri': ''}, 'db_uri'),
    ({'db_uri': 42}, 'db_uri'),
])
def test_bad_value_is_an_error_naming_the_key(config_dir, settings, key):
    assert key in error_of(config_dir, main=settings)


def test_bad_environment_value_is_an_error_naming_the_key(config_dir):
    assert 'rest_api.port' in error_of(config_dir, environ={'WAZO_LIKE_AUTH_PORT': 'abc'})


@pytest.mark.parametrize('section', [8080, None, [], 'everything'],
                         ids=['scalar', 'null', 'list', 'string'])
@pytest.mark.parametrize('over', [
    {'environ': {'WAZO_LIKE_AUTH_PORT': '9000'}},
    {'flags': {'rest_api': {'port': 9000}}},
    {},
], ids=['environment', 'flag', 'nothing'])
def test_a_section_that_is_no_mapping_names_its_file_whatever_sets_keys_in_it(
        config_dir, section, over):
    """``rest_api:`` with every sub-key commented out is null: WAZO_LIKE_AUTH_PORT over it was
    a TypeError traceback, and --port replaced the section (then rest_api.listen was named)."""
    message = error_of(config_dir, conf_d={'90-local.yml': {'rest_api': section}}, **over)
    assert message.startswith(f'{config_dir}/conf.d/90-local.yml: rest_api: must be a mapping')


def test_a_mapping_given_for_a_value_is_that_values_error_not_a_section_error(config_dir):
    # Only sections (mappings in the defaults) must stay mappings; a value keeps its message.
    assert 'db_uri: must be a non-empty string' in error_of(config_dir,
                                                            flags={'db_uri': {'a': 1}})


def test_certificate_without_private_key_is_an_error(config_dir):
    assert 'rest_api' in error_of(config_dir, main={'rest_api': {'certificate': '/x.pem'}})


@pytest.mark.parametrize('local, message', [
    ({'rest_api': {'certificate': '/x.pem'}},
     'rest_api.private_key: must be set when rest_api.certificate is'),
    ({'rest_api': {'private_key': '/x.key'}},
     'rest_api.certificate: must be set when rest_api.private_key is'),
    ({'smtp': {'username': 'relay'}}, 'smtp.password: must be set when smtp.username is'),
    ({'smtp': {'password': 'relay-pw'}}, 'smtp.username: must be set when smtp.password is'),
    ({'smtp': {'host': 'mail.example.com'}}, 'public_url: must be set when smtp.host is'),
    ({'bootstrap_user_on_startup': True},
     'bootstrap_user_username: must be set when bootstrap_user_on_startup is true'),
])
def test_a_key_missing_for_another_ones_sake_names_the_file_that_set_the_other(
        config_dir, local, message):
    """The key named is missing (no file set it): the line names the file whose key asks for
    it, in the shape of every other error, 'FILE: KEY: reason'."""
    main = {} if 'public_url' in message else {'public_url': 'https://auth.example.com'}
    assert error_of(config_dir, main=main, conf_d={'50-local.yml': local}).startswith(
        f'{config_dir}/conf.d/50-local.yml: {message}')


@pytest.mark.parametrize('settings, key', [
    ({'bootstrap_user_on_startup': True}, 'bootstrap_user_username'),
    ({'bootstrap_user_on_startup': True, 'bootstrap_user_username': 'root'},
     'bootstrap_user_password'),
])
def test_bootstrap_on_startup_without_its_user_is_an_error_naming_the_key(config_dir,
                                                                         settings, key):
    # It passed validation, then every start failed preparing the database (AttributeError).
    assert key in error_of(config_dir, main=settings)


@pytest.mark.parametrize('username, password, key', [
    ('u' * 257, 'boot-password', 'bootstrap_user_username'),  # auth_user.username: 256
    ('boot\ud800', 'boot-password', 'bootstrap_user_username'),  # a YAML "\ud800" escape
    ('boot', 'é' * 37, 'bootstrap_user_password'),  # 74 bytes in UTF-8: bcrypt reads 72
    ('boot', 'pass\udcff', 'bootstrap_user_password'),  # no UTF-8 text: bcrypt cannot hash it
])
def test_a_bootstrap_user_ensure_admin_refuses_is_a_configuration_error(config_dir, username,
                                                                        password, key):
    """The rules ensure_admin and bcrypt apply once the database is migrated, applied first:
    else check-config passes and every start fails (exit 1, restarted by systemd)."""
    settings = {'bootstrap_user_on_startup': True, 'bootstrap_user_username': username,
                'bootstrap_user_password': password}
    message = error_of(config_dir, main=settings)
    assert f'config.yml: {key}: must be' in message
    assert password not in message
    # Not used without bootstrap_user_on_startup: a configuration that starts keeps starting.
    assert load(config_dir, main={**settings, 'bootstrap_user_on_startup': False})


def test_a_bootstrap_user_at_the_limits_is_accepted(config_dir):
    config = load(config_dir, main={'bootstrap_user_on_startup': True,
                                    'bootstrap_user_username': 'ü' * 256,
                                    'bootstrap_user_password': 'é' * 36})
    assert config['bootstrap_user_username'] == 'ü' * 256


def test_publishing_events_with_one_database_connection_is_an_error(config_dir):
    # The worker publishing events keeps one connection for its lock: with a pool of one,
    # every request on it waited db_connect_timeout and failed 503.
    message = error_of(config_dir, main={'amqp': {'enabled': True}, 'db_pool_size': 1,
                                         'token_cleanup_interval': 0})
    assert 'config.yml: db_pool_size: must be at least 2' in message and 'amqp.enabled' in message
    assert load(config_dir, main={'amqp': {'enabled': True}, 'db_pool_size': 2,
                                  'token_cleanup_interval': 0})
    # The expired-token purge keeps one while it runs (its lock) and works on another.
    message = error_of(config_dir, main={'amqp': {'enabled': True}, 'db_pool_size': 2})
    assert 'db_pool_size: must be at least 3 with amqp.enabled and token_cleanup_interval' \
        in message
    assert error_of(config_dir, main={'db_pool_size': 1})
    assert load(config_dir, main={'db_pool_size': 1, 'token_cleanup_interval': 0})


def test_a_device_poll_interval_not_below_the_code_lifetime_is_an_error(config_dir):
    # A device told to wait as long as its code lives could never poll in time: every device
    # authorization would expire unused.
    message = error_of(config_dir, main={'oauth2': {'device_code_lifetime': 60,
                                                    'device_poll_interval': 60}})
    assert 'config.yml: oauth2.device_poll_interval: must be less than ' \
        'oauth2.device_code_lifetime (60)' in message
    assert load(config_dir, main={'oauth2': {'device_code_lifetime': 60,
                                             'device_poll_interval': 59}})


def test_numeric_strings_become_integers(config_dir):
    config = load(config_dir, main={'rest_api': {'port': '8080'}, 'password_hash_rounds': '10'})
    assert config['rest_api']['port'] == 8080
    assert config['password_hash_rounds'] == 10


def test_log_level_is_case_insensitive(config_dir):
    assert load(config_dir, main={'log_level': 'DEBUG'})['log_level'] == 'debug'


def test_state_dir_home_is_expanded(config_dir):
    assert load(config_dir, main={'state_dir': '~/x'})['state_dir'] == \
        os.path.expanduser('~/x')


# --- secrets ----------------------------------------------------------------------------


def test_public_view_masks_the_token_secret_and_bootstrap_password(config_dir):
    config = load(config_dir, main={'token_secret': 's' * 40,
                                    'bootstrap_user_password': 'boot-pass-123'})
    shown = public_view(config)
    assert 's' * 40 not in str(shown)
    assert 'boot-pass-123' not in str(shown)
    assert shown['token_secret'] and shown['bootstrap_user_password']


def test_public_view_masks_the_database_password(config_dir):
    config = load(config_dir, main={'db_uri': 'postgresql://auth:hunter2@db.example:5432/auth'})
    shown = public_view(config)
    assert 'hunter2' not in str(shown)
    assert 'db.example' in shown['db_uri'] and 'auth' in shown['db_uri']


def test_public_view_leaves_the_configuration_untouched(config_dir):
    config = load(config_dir, main={'token_secret': 's' * 40,
                                    'db_uri': 'postgresql://auth:hunter2@db/auth'})
    public_view(config)
    assert config['token_secret'] == 's' * 40
    assert 'hunter2' in config['db_uri']


def test_configured_token_secret_is_used_and_no_file_written(config_dir, tmp_path):
    config = load(config_dir, main={'token_secret': 's' * 40,
                                    'state_dir': str(tmp_path / 'state')})
    assert token_secret(config) == b's' * 40
    assert not (tmp_path / 'state' / 'token_secret').exists()


def test_token_secret_is_created_once_with_mode_0600(config_dir, tmp_path):
    config = load(config_dir, main={'state_dir': str(tmp_path / 'state')})
    first = token_secret(config)
    path = tmp_path / 'state' / 'token_secret'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert token_secret(config) == first
    assert path.read_text().strip().encode() == first
    assert [p.name for p in path.parent.iterdir()] == ['token_secret']  # no temporary left


def test_token_secret_file_is_reread_by_a_new_configuration(config_dir, tmp_path):
    state = str(tmp_path / 'state')
    first = token_secret(load(config_dir, main={'state_dir': state}))
    assert token_secret(load(config_dir, main={'state_dir': state})) == first


def test_different_state_dirs_get_different_secrets(config_dir, tmp_path):
    a = token_secret(load(config_dir, main={'state_dir': str(tmp_path / 'a')}))
    b = token_secret(load(config_dir, main={'state_dir': str(tmp_path / 'b')}))
    assert a != b


@pytest.mark.parametrize('workers', [1, 2, 3, 64])
def test_hashing_threads_of_all_workers_cover_the_cores_by_default(config_dir, workers):
    config = load_config(write(config_dir / 'config.yml', {'rest_api': {'workers': workers}}),
                         environ={})
    per_worker = hash_concurrency(config)
    cores = os.cpu_count()
    assert per_worker >= 1
    assert per_worker * workers >= cores
    assert per_worker == 1 or (per_worker - 1) * workers < cores


def test_hashing_threads_can_be_set(config_dir):
    config = load_config(write(config_dir / 'config.yml', {'password_hash_concurrency': 3}),
                         environ={})
    assert hash_concurrency(config) == 3


@pytest.mark.parametrize('headers', ['X-Auth-Token', ['X Auth'], ['Wazo-Tenant', 3], [''],
                                     ['X-Auth-Token\r\nSet-Cookie: a=b']])
def test_cors_allow_headers_must_be_a_list_of_header_names(make_config, headers):
    with pytest.raises(ConfigError) as raised:
        make_config(rest_api={'cors': {'allow_headers': headers}})
    assert 'rest_api.cors.allow_headers' in str(raised.value)


@pytest.mark.parametrize('key', ['redirect_uris', 'post_logout_redirect_uris'])
@pytest.mark.parametrize('uri', ['javascript:alert(1)', 'Data:text/html,x', 'vbscript:x',
                                 'file:///etc/passwd', 'https://rp.example.com/cb#frag'])
def test_declared_client_with_an_unsafe_redirect_uri_stops_start_up(make_config, key, uri):
    declared = {'client_id': 'webapp', 'client_secret': 'x' * 32,
                'grant_types': ['authorization_code'],
                'redirect_uris': ['https://rp.example.com/cb'], key: [uri]}
    with pytest.raises(ConfigError) as raised:
        make_config(clients=[declared])
    assert f'clients: [0]: {key}: ' in str(raised.value)


def test_declared_client_may_use_https_http_and_a_native_app_scheme(make_config):
    uris = ['https://rp.example.com/cb', 'http://localhost:8080/cb', 'com.example.app:/cb']
    config = make_config(clients=[{'client_id': 'webapp', 'client_secret': 'x' * 32,
                                   'grant_types': ['authorization_code'],
                                   'redirect_uris': uris, 'post_logout_redirect_uris': uris}])
    assert config['clients'][0]['redirect_uris'] == uris


@pytest.mark.parametrize('listen, shown', [('0.0.0.0', '0.0.0.0'), ('::', '::'),
                                           (' 127.0.0.1 ', '127.0.0.1')])
def test_listen_takes_an_ipv4_or_ipv6_address(config_dir, listen, shown):
    assert load(config_dir, main={'rest_api': {'listen': listen}})['rest_api']['listen'] == shown


@pytest.mark.parametrize('text', ['bootstrap_user_password: S3cr3t-pw: x\n',
                                  'token_secret: "S3cr3t-pw\n',
                                  'db_uri: postgresql://u:S3cr3t-pw@h/d\n  bad: [x\n'])
def test_a_malformed_file_is_named_with_its_line_never_quoted(config_dir, text):
    # The message goes to the service's log: PyYAML's own quotes the line, secret included.
    main = config_dir / 'config.yml'
    main.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(str(main), environ={})
    message = str(raised.value)
    assert message.startswith(f'{main}: not valid YAML at line ')
    assert 'S3cr3t' not in message and '\n' not in message
