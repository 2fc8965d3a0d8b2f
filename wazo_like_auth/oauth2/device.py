"""RFC 8628 device authorization grant: user codes and settings. Free of Flask and SQLAlchemy;
the use cases live in services/device_flow.py.

User codes are 8 letters from a 20-consonant alphabet (no vowels, so no words; no look-alike
letters such as I/O), shown ``XXXX-XXXX`` (RFC 8628 §6.1): 20^8 ≈ 2.6e10 codes, ~34 bits.
With codes living 10 minutes and the verification page allowing 10 failures per address per
10 minutes, a guesser has odds of about 1 in 10^9 per live code and window (§5.1).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: "the interval MUST be increased by 5 seconds"
# Characters of a device authorization's ``scope``, as at the authorization endpoint
# (oidc/authorize.MAX_LENGTH): it is stored with the authorization, which anyone knowing a
# public client's id may start, so unbounded it let each request store up to the body limit.
MAX_SCOPE_LENGTH = 1024


@dataclass(frozen=True)
class DeviceSettings:
    lifetime: int          # seconds a device code lives
    interval: int          # minimum seconds between polls
    max_failures: int      # failed codes or sign-ins per address and window
    failure_window: int    # seconds

    @classmethod
    def from_config(cls, config: dict) -> DeviceSettings:
        oauth2 = config['oauth2']
        return cls(lifetime=oauth2['device_code_lifetime'],
                   interval=oauth2['device_poll_interval'],
                   max_failures=oauth2['device_max_failures'],
                   failure_window=oauth2['device_failure_window'])


def new_user_code() -> str:
    """A fresh user code in its stored form (8 letters, no dash)."""
    return ''.join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    return f'{code[:4]}-{code[4:]}'


def normalize_user_code(typed: str | None) -> str | None:
    """The stored form of what a person typed: case, dashes and spaces ignored (RFC 8628
    §6.1); None when it cannot be a user code."""
    if not typed or len(typed) > 32:
        return None
    code = ''.join(c for c in typed.upper() if c not in '- \t')
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code
