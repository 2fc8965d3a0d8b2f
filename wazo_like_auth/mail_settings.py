"""Mail configuration: SMTP, templates, links, request budgets (read from the validated config).

Rules checked at start-up (a bad value names its key):
- ``smtp.host`` set ⇒ ``public_url`` set. Links in mails are never built from a request's Host
  header: a forged Host would otherwise send a victim a reset link to the attacker's site
  ("password-reset poisoning").
- ``registration.enabled`` ⇒ ``smtp.host``: a registration whose confirmation mail cannot be
  sent is refused, so mail must be configured for registration to exist at all.
- ``mail.password_reset_link`` is an http(s) URL template holding ``{token}``.
- ``mail.templates_dir``: every template read and rendered as a mail would be (config.py
  runs mail/messages.py's check_templates: mail imports this module), so a broken one stops
  start-up, not every mail.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config_checks import RequiredBy, one_of, required_together, strict_boolean

SECURITY_MODES = ('none', 'starttls', 'tls')
_HOST_RE = re.compile(r'^[A-Za-z0-9.:\[\]-]{1,253}$')
_ADDRESS_RE = re.compile(r'^[^\s@<>"]+@[^\s@<>"]+$')


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError('must be an integer')
        try:
            number = int(value)
        except ValueError:
            raise ValueError('must be an integer') from None
        if not low <= number <= high:
            raise ValueError(f'must be between {low} and {high}')
        return number
    return check


def _optional_text(pattern: re.Pattern | None = None, what: str = 'a string'):
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value or any(c in value for c in '\r\n\x00') \
                or (pattern is not None and not pattern.match(value)):
            raise ValueError(f'must be {what}')
        return value
    return check


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS_RE.match(value) or len(value) > 254:
        raise ValueError('must be an e-mail address such as auth@example.com')
    return value


def _directory(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _is(Path.is_dir, value):
        raise ValueError('must be an existing directory')
    return value


def _file(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _is(Path.is_file, value):
        raise ValueError('must be an existing file')
    return value


def _is(test, value: str) -> bool:
    """``test(Path(value))``, False for a path the system refuses (too long, a NUL)."""
    try:
        return test(Path(value))
    except (OSError, ValueError):
        return False


def _link(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(('http://', 'https://')) \
            or '{token}' not in value:
        raise ValueError('must be an http(s) URL containing {token}')
    return value


MAIL_VALIDATORS: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ('smtp', 'host'): _optional_text(_HOST_RE, 'a host name or address'),
    ('smtp', 'port'): _int_between(1, 65535),
    ('smtp', 'security'): one_of(*SECURITY_MODES),
    ('smtp', 'username'): _optional_text(),
    ('smtp', 'password'): _optional_text(),
    ('smtp', 'timeout'): _int_between(1, 300),
    ('smtp', 'ca_file'): _file,
    ('smtp', 'from_address'): _address,
    ('smtp', 'from_name'): _optional_text(),
    ('mail', 'templates_dir'): _directory,
    ('mail', 'password_reset_link'): _link,
    ('mail', 'poll_interval'): _int_between(1, 3600),
    ('mail', 'retry_initial_delay'): _int_between(1, 86400),
    ('mail', 'retry_max_delay'): _int_between(1, 86400),
    ('mail', 'requests_per_address'): _int_between(1, 10000),
    ('mail', 'requests_per_user'): _int_between(1, 10000),
    ('mail', 'requests_per_client'): _int_between(1, 100000),
    ('mail', 'request_window'): _int_between(1, 86400),
    ('password_reset_expiration',): _int_between(60, 31_536_000),
    ('email_confirmation_expiration',): _int_between(60, 31_536_000),
    ('registration', 'enabled'): strict_boolean,
}


def check_mail(config: dict) -> None:
    """The cross-key rules above; raises ValueError naming the key (RequiredBy for a key
    missing for another one's sake; config.validate turns it into a ConfigError)."""
    if config['smtp']['host'] and not config['public_url']:
        raise RequiredBy('public_url', 'smtp.host', '(links in mails)')
    if config['registration']['enabled'] and not config['smtp']['host']:
        raise ValueError('registration.enabled: needs smtp.host (confirmation mails)')
    required_together(('smtp.username', config['smtp']['username']),
                      ('smtp.password', config['smtp']['password']))


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    security: str
    username: str | None
    password: str | None
    timeout: int
    ca_file: str | None
    from_address: str
    from_name: str | None


@dataclass(frozen=True)
class MailSettings:
    smtp: SmtpSettings
    public_url: str | None
    templates_dir: str | None
    password_reset_link: str
    email_confirmation_link: str
    poll_interval: int
    retry_initial_delay: int
    retry_max_delay: int
    requests_per_address: int
    requests_per_user: int
    requests_per_client: int
    request_window: int
    password_reset_expiration: int
    email_confirmation_expiration: int
    registration_enabled: bool

    @property
    def enabled(self) -> bool:
        return self.smtp.host is not None

    @classmethod
    def from_config(cls, config: dict) -> MailSettings:
        mail, base = config['mail'], config['public_url'] or ''
        return cls(
            smtp=SmtpSettings(**config['smtp']), public_url=config['public_url'],
            templates_dir=mail['templates_dir'],
            password_reset_link=mail['password_reset_link'] or
            base + '/users/password/reset/page?user_uuid={user_uuid}&token={token}',
            email_confirmation_link=base + '/emails/{email_uuid}/confirm?token={token}',
            poll_interval=mail['poll_interval'],
            retry_initial_delay=mail['retry_initial_delay'],
            retry_max_delay=mail['retry_max_delay'],
            requests_per_address=mail['requests_per_address'],
            requests_per_user=mail['requests_per_user'],
            requests_per_client=mail['requests_per_client'],
            request_window=mail['request_window'],
            password_reset_expiration=config['password_reset_expiration'],
            email_confirmation_expiration=config['email_confirmation_expiration'],
            registration_enabled=config['registration']['enabled'])
