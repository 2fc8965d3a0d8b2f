"""What each configuration value may be: one check per key, each returning the normalised value
or raising ValueError with a message that config.validate prefixes with the key's name."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .bus.settings import AMQP_VALIDATORS
from .config_checks import RequiredBy
from .config_checks import one_of as _one_of
from .db_uri import checked
from .exceptions import InvalidData
from .mail_settings import MAIL_VALIDATORS
from .oauth2.settings import validate_clients
from .passwords import PasswordHasher
from .usernames import username_error

MAX_TOKEN_LIFETIME = 315_360_000  # ten years, as wazo-auth
# Upper bounds of durations the database computes with (now() - make_interval(...) leaves
# PostgreSQL's timestamp range past some 6,000 years) or that a thread waits for.
YEAR = 366 * 86400
PG_INT_MAX = 2_147_483_647
LOG_LEVELS = ('debug', 'info', 'warning', 'error', 'critical')


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError('must be an integer')
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: YAML's .inf
            raise ValueError('must be an integer') from None
        if str(number) != str(value).strip() and not isinstance(value, int):
            raise ValueError('must be an integer')
        if number < minimum or (maximum is not None and number > maximum):
            raise ValueError(f'must be between {minimum} and {maximum}' if maximum is not None
                             else f'must be at least {minimum}')
        return number
    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError('must be a non-empty string')
    if '\x00' in value:  # no path, name or address holds one (open() would refuse it)
        raise ValueError('must not contain a NUL character')
    return value


def _text(value: Any) -> str:
    """A string the database stores: no lone surrogate (a YAML "\\udc80" escape), which
    psycopg2 cannot encode (every login answered 500 with one in default_user_policy or
    uuid). Paths keep ``_string``: a surrogate there names a non-UTF-8 file name."""
    value = _string(value)
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError('must be text without a lone surrogate (such as \\udc80)') from None
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false', '1', '0', 'yes', 'no'):
        return value.lower() in ('true', '1', 'yes')
    raise ValueError('must be true or false')


def _header_names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
            isinstance(v, str) and _TOKEN.fullmatch(v) for v in value):
        raise ValueError('must be a list of HTTP header names such as X-Auth-Token')
    return list(dict.fromkeys(value))


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")  # RFC 9110 §5.6.2


def _log_level(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in LOG_LEVELS:
        raise ValueError(f'must be one of {", ".join(LOG_LEVELS)}')
    return value.lower()


def _ip_address(value: Any) -> str:
    """An IPv4 or IPv6 address: the HTTP server binds addresses, it resolves no host name."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError('must be an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::') \
            from None


def _networks(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError('must be a list of networks such as 127.0.0.0/8')
    try:
        return [str(ipaddress.ip_network(item, strict=False)) for item in value]
    except (TypeError, ValueError) as e:
        raise ValueError(f'must be a list of networks: {e}') from None


def _public_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(('http://', 'https://')) \
            or '?' in value or '#' in value:
        raise ValueError('must be an http(s) URL without query or fragment')
    try:  # a host urlsplit cannot read (an unclosed [ of an IPv6 address, a port of letters)
        parts = urlsplit(value)
        if not parts.hostname:
            raise ValueError
        parts.port  # noqa: B018 (read for its ValueError)
    except ValueError:
        raise ValueError('must be an http(s) URL with a valid host and port') from None
    return value.rstrip('/')


def secret(value: Any) -> str:
    if not isinstance(value, str) or len(value) < 32:
        raise ValueError('must be a string of at least 32 characters')
    return value


def _default_policies(value: Any) -> dict[str, dict]:
    """slug -> {acl: [str], description: str | None}. A null entry is dropped, so a later
    conf.d file can remove a policy an earlier one declared."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError('must be a mapping of policy slug to {acl, description}')
    return {slug: _default_policy(slug, policy) for slug, policy in value.items()
            if policy is not None}


def _default_policy(slug: Any, policy: Any) -> dict:
    if not isinstance(slug, str) or not re.fullmatch(r'[a-zA-Z0-9_-]{1,80}', slug):
        raise ValueError(f'{slug!r}: a policy slug is 1 to 80 of a-z, A-Z, 0-9, _ and -')
    if not isinstance(policy, dict):
        raise ValueError(f'{slug}: must be a mapping with acl and description')
    acl = policy.get('acl') or []
    if not isinstance(acl, list) or not all(
            isinstance(a, str) and len(a) <= 1024 and '\x00' not in a for a in acl):
        raise ValueError(f'{slug}.acl: must be a list of strings of at most 1024 characters')
    description = policy.get('description')
    if description is not None and (not isinstance(description, str) or '\x00' in description):
        raise ValueError(f'{slug}.description: must be a string without a NUL character')
    return {'acl': list(dict.fromkeys(acl)), 'description': description}


def check_bootstrap_user(config: dict) -> None:
    """With ``bootstrap_user_on_startup``, what serve's ensure_admin would refuse once the
    database is migrated, failing every start (exit 1, restarted by systemd): a missing
    username or password, a username no login can name (usernames.username_error), a password
    bcrypt cannot hash whole (PasswordHasher.ensure_hashable). The same rules, not copies of
    them. Raises ValueError 'KEY: reason' (never quoting the password)."""
    if not config['bootstrap_user_on_startup']:
        return  # neither value is used
    for key in ('bootstrap_user_username', 'bootstrap_user_password'):
        if not config[key]:
            raise RequiredBy(key, 'bootstrap_user_on_startup', 'true')
    error = username_error(config['bootstrap_user_username'])
    if error:
        raise ValueError(f'bootstrap_user_username: {error}')
    try:
        PasswordHasher.ensure_hashable(config['bootstrap_user_password'])
    except InvalidData as e:
        raise ValueError(f'bootstrap_user_password: must be {e.details["password"]}') from None


VALIDATORS: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ('rest_api', 'listen'): _ip_address,
    ('rest_api', 'port'): _integer(1, 65535),
    ('rest_api', 'workers'): _optional(_integer(1, 256)),
    ('rest_api', 'threads'): _integer(1, 256),
    ('rest_api', 'certificate'): _optional(_string),
    ('rest_api', 'private_key'): _optional(_string),
    ('rest_api', 'num_proxies'): _integer(0, 10),
    ('rest_api', 'max_body_size'): _integer(1024),
    ('rest_api', 'cors', 'enabled'): _boolean,
    ('rest_api', 'cors', 'allow_headers'): _header_names,
    ('db_uri',): _optional(lambda value: checked(_string(value))),
    ('db_pool_size',): _integer(1, 500),
    ('db_connect_timeout',): _integer(1, 300),
    ('db_statement_timeout',): _integer(0, PG_INT_MAX),  # PostgreSQL refuses more
    ('state_dir',): _optional(_string),
    ('token_secret',): _optional(secret),
    ('default_token_lifetime',): _integer(1, MAX_TOKEN_LIFETIME),
    ('max_user_concurrent_sessions',): _integer(1),
    ('token_cleanup_interval',): _integer(0, YEAR),
    ('token_cleanup_batch_size',): _integer(1, 1_000_000),
    ('password_hash_rounds',): _integer(4, 31),
    ('password_hash_concurrency',): _optional(_integer(1, 256)),
    ('validation_cache',): _boolean,
    ('throttle', 'login_failures_per_address'): _integer(1),
    ('throttle', 'login_failures_per_login'): _integer(1),
    ('throttle', 'login_window'): _integer(1, YEAR),
    ('throttle', 'logins_in_flight'): _integer(1),
    ('throttle', 'known_address_days'): _integer(1, 36500),
    ('throttle', 'refresh_failures_per_address'): _integer(1),
    ('throttle', 'unknown_token_checks_per_minute'): _integer(1),
    ('throttle', 'trusted_networks'): _networks,
    ('validation_cache_size',): _integer(1),
    ('default_user_policy',): _optional(_text),
    ('default_policies',): _default_policies,
    ('update_policy_on_startup',): _boolean,
    ('uuid',): _optional(_text),
    ('bootstrap_user_on_startup',): _boolean,
    ('bootstrap_user_username',): _optional(_string),
    ('bootstrap_user_password',): _optional(_string),
    ('log_level',): _log_level,
    ('log_filename',): _optional(_string),
    ('public_url',): _optional(_public_url),
    ('clients',): validate_clients,
    ('oauth2', 'device_code_lifetime'): _integer(60, 86400),
    ('oauth2', 'device_poll_interval'): _integer(1, 3600),
    ('oauth2', 'device_max_failures'): _integer(1),
    ('oauth2', 'device_failure_window'): _integer(1, YEAR),
    ('oidc', 'signing_algorithm'): _one_of('RS256', 'ES256'),
    ('oidc', 'signin_session_lifetime'): _integer(60, 31 * 86400),
    ('log_format',): _one_of('plain', 'json'),
    ('access_log', 'successful_checks'): _boolean,
    ('metrics', 'enabled'): _boolean,
    ('metrics', 'allowed_networks'): _networks,
    ('events', 'retention_days'): _integer(1, 36500),
    ('events', 'publish_logins'): _boolean,
    **MAIL_VALIDATORS,
    **AMQP_VALIDATORS,
}
