"""Configuration: the only module that reads configuration files and the environment.

Precedence, lowest first: defaults (config_defaults.py) → the config file (``--config``, else
``/etc/wazo-like-auth/config.yml`` when it exists) → ``conf.d/*.yml`` beside it in sorted order
(last wins, dicts deep-merge) → environment allow-list → command-line flags. The result is
validated once; a bad value stops start-up with a message naming the key.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .config_checks import required_together
from .config_defaults import DEFAULTS
from .config_values import VALIDATORS, check_bootstrap_user
from .mail.messages import TemplateProblem, check_templates
from .mail_settings import check_mail

DEFAULT_CONFIG_FILE = '/etc/wazo-like-auth/config.yml'

ENVIRONMENT = {
    'WAZO_LIKE_AUTH_DB_URI': ('db_uri',),
    'WAZO_LIKE_AUTH_PORT': ('rest_api', 'port'),
    'XIVO_UUID': ('uuid',),
}


class ConfigError(Exception):
    """A configuration value is wrong; the message names the key (validate: it starts with
    the dotted key, which load_config then prefixes with the file that set it). ``by``: the
    key whose source to name instead, when the key named is missing for its sake."""

    def __init__(self, message: str, by: str | None = None):
        super().__init__(message)
        self.by = by


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


def workers(config: dict) -> int:
    """Worker processes of the HTTP server."""
    return config['rest_api']['workers'] or default_workers()


def hash_concurrency(config: dict) -> int:
    """bcrypt threads per process: by default the workers together use every core."""
    return config['password_hash_concurrency'] or max(1, -(-(os.cpu_count() or 1) //
                                                          workers(config)))


def default_state_dir() -> str:
    # Root's home is closed to the unprivileged user the embedded PostgreSQL runs as.
    return '/var/lib/wazo-like-auth' if os.geteuid() == 0 else '~/.local/state/wazo-like-auth'


def deep_merge(base: dict, overlay: Mapping) -> dict:
    """``overlay`` on top of ``base``: dicts merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_file(config: dict, content: Mapping) -> dict:
    """``deep_merge``, except that ``default_policies.<slug>.acl`` lists concatenate across
    files: each Wazo package ships a conf.d file adding its ACL to the same default policy."""
    merged = deep_merge(config, content)
    before, added = config.get('default_policies'), content.get('default_policies')
    if not isinstance(before, dict) or not isinstance(added, dict):
        return merged
    for slug, policy in added.items():
        previous = before.get(slug)
        if _has_acl_list(previous) and _has_acl_list(policy):
            merged['default_policies'][slug]['acl'] = previous['acl'] + policy['acl']
    return merged


def _has_acl_list(policy: Any) -> bool:
    return isinstance(policy, dict) and isinstance(policy.get('acl'), list)


def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text(encoding='utf-8'))
    except yaml.YAMLError as e:
        raise ConfigError(f'{path}: not valid YAML{_yaml_error(e)}') from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f'{path}: cannot be read: {" ".join(str(e).split())}') from None
    except (ValueError, RecursionError) as e:  # a date that is none, a 5,000-digit integer...
        # Not the message: it quotes the value, which may be a password.
        raise ConfigError(f'{path}: not valid YAML: a value cannot be read '
                          f'({type(e).__name__})') from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f'{path}: must contain a mapping of keys')
    return content


def _yaml_error(error: yaml.YAMLError) -> str:
    """Where, and what is wrong: never the line itself, as PyYAML's message quotes it (the
    line may hold a password, a secret or a URI with credentials, and this message goes to
    the service's log)."""
    mark = getattr(error, 'problem_mark', None)
    problem = getattr(error, 'problem', None) or type(error).__name__
    if mark is None:
        return f': {problem}'
    return f' at line {mark.line + 1}, column {mark.column + 1}: {problem}'


def _files(config_file: str | None) -> list[Path]:
    if config_file is None:
        if not Path(DEFAULT_CONFIG_FILE).exists():
            return []
        config_file = DEFAULT_CONFIG_FILE
    main = Path(config_file)
    try:
        found = main.exists()
    except OSError as e:  # a folder on its path this user may not enter
        raise ConfigError(f'{main}: cannot be read: {e.strerror}') from None
    if not found:
        raise ConfigError(f'{main}: no such configuration file')
    return [main, *_conf_d(main.parent / 'conf.d')]


def _check_pool_size(result: dict) -> None:
    # The worker publishing events keeps one connection for its lock, and so do the mail
    # sender and the expired-token purge while they run (each needs another one for its
    # work): with fewer, their work or the worker's requests would wait for a connection
    # that never comes back.
    keepers = [name for name, kept in (('amqp.enabled', result['amqp']['enabled']),
                                       ('smtp.host', result['smtp']['host']),
                                       ('token_cleanup_interval',
                                        result['token_cleanup_interval'] > 0)) if kept]
    if result['db_pool_size'] < 1 + len(keepers):
        raise ValueError(f'db_pool_size: must be at least {1 + len(keepers)} with '
                         f'{" and ".join(keepers)} set (each keeps one connection for its lock)')


def _check_device_flow(oauth2: dict) -> None:
    # A device told to wait as long as its code lives could never poll in time.
    lifetime = oauth2['device_code_lifetime']
    if oauth2['device_poll_interval'] >= lifetime:
        raise ValueError('oauth2.device_poll_interval: must be less than '
                         f'oauth2.device_code_lifetime ({lifetime})')


def _conf_d(conf_d: Path) -> list[Path]:
    """Its ``*.yml`` files in name order, none without it. One that cannot be listed is an
    error: skipped (as glob skips it), the service would start without part of its
    configuration, on another database or with a new token_secret."""
    try:
        names = os.listdir(conf_d)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as e:
        raise ConfigError(f'{conf_d}: cannot be read: {e.strerror}') from None
    return sorted(conf_d / n for n in names if n.endswith('.yml') and not n.startswith('.'))


def _overlay(config: dict, overlay: Mapping, source: str, above: tuple[str, ...] = (),
             sections: Mapping = DEFAULTS) -> None:
    """``overlay`` (from ``source``: an environment variable, the command line) into
    ``config`` in place, as deep_merge does. Raises ConfigError 'SECTION: must be a mapping
    (...)' where ``overlay`` sets keys of a section (a mapping in the defaults, ``sections``)
    that a file made something else (``rest_api: 8080``, or null: ``rest_api:`` with every
    sub-key commented out), rather than fail on it or replace the whole section."""
    for key, value in overlay.items():
        section, default = config.get(key), sections.get(key)
        if isinstance(value, Mapping) and isinstance(section, dict):
            _overlay(section, value, source, (*above, key),
                     default if isinstance(default, dict) else {})
        elif isinstance(value, Mapping) and isinstance(default, dict):
            path = '.'.join((*above, key))
            raise ConfigError(f'{path}: must be a mapping ({source} sets '
                              f'{", ".join(f"{path}.{k}" for k in value)})')
        else:
            config[key] = copy.deepcopy(value)


def validate(config: dict) -> dict:
    """Return a copy of ``config`` with every known key checked and normalised. Raises
    ConfigError starting with the dotted key."""
    result = copy.deepcopy(config)
    _check_values(result)
    try:
        _check_rules(result)
    except ValueError as e:  # config_checks.RequiredBy: a key missing for another one's sake
        raise ConfigError(str(e), by=getattr(e, 'by', None)) from None
    result['state_dir'] = str(Path(result['state_dir'] or default_state_dir()).expanduser())
    return result


def _check_values(result: dict) -> None:
    """Each value of VALIDATORS in place, normalised."""
    for path, check in VALIDATORS.items():
        node: Any = result
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(f'{".".join(path[:-1])}: must be a mapping')
        try:
            node[path[-1]] = check(node.get(path[-1]))
        except ValueError as e:
            raise ConfigError(f'{".".join(path)}: {e}') from None


def _check_rules(result: dict) -> None:
    """The rules between keys, on checked values; raises ValueError 'KEY: reason'."""
    rest = result['rest_api']
    required_together(('rest_api.certificate', rest['certificate']),
                      ('rest_api.private_key', rest['private_key']))
    check_bootstrap_user(result)  # else every start fails preparing the database
    _check_pool_size(result)
    _check_device_flow(result['oauth2'])
    check_mail(result)
    if result['mail']['templates_dir']:
        try:
            check_templates(result['mail']['templates_dir'])
        except TemplateProblem as e:
            raise ValueError(f'mail.templates_dir: {e}') from None


def load_config(config_file: str | None = None, flags: Mapping | None = None,
                environ: Mapping[str, str] | None = None) -> dict:
    """Defaults → files → environment → flags, validated. Raises ConfigError; a bad value's
    message starts with where it was set: 'FILE: KEY: reason' (a file, an environment
    variable, the command line)."""
    config = copy.deepcopy(DEFAULTS)
    sources: list[tuple[str, Mapping]] = []
    for path in _files(config_file):
        content = _read_yaml(path)
        config = _merge_file(config, content)
        sources.append((str(path), content))
    environ = os.environ if environ is None else environ
    try:
        for variable, path in ENVIRONMENT.items():
            if environ.get(variable):
                _overlay(config, _nested(path, environ[variable]),
                         f'environment variable {variable}')
                sources.append((f'environment variable {variable}', _nested(path, 'set')))
        _overlay(config, flags or {}, 'the command line')
        sources.append(('command line', flags or {}))
        return validate(config)
    except ConfigError as e:
        origin = (e.by and _origin(sources, e.by.split('.'))) or \
            _origin(sources, str(e).split(':', 1)[0].split('.'))
        raise ConfigError(f'{origin}: {e}' if origin else str(e)) from None


def _nested(path: tuple[str, ...], value: Any) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def _origin(sources: list[tuple[str, Mapping]], key: list[str]) -> str | None:
    """The last source setting ``key``, or a value above it (``rest_api: 5``); None when
    only the defaults do."""
    for origin, content in reversed(sources):
        node: Any = content
        for part in key:
            if not isinstance(node, Mapping):
                return origin
            if part not in node:
                break
            node = node[part]
        else:
            return origin
    return None
