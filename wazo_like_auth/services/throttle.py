"""Online-guessing defences (OWASP ASVS V6.3, RFC 6819 §4.4.3.6, RFC 7662 §4).

Logins: failures are counted in PostgreSQL, so every node shares them, per (login, address) and
per login, in a fixed window.
- After ``per_address`` failures for a login from one address, that address gets 429 with
  Retry-After for that login until the window ends; no bcrypt is spent on it.
- After ``per_login`` failures for a login from all addresses together, only addresses the user
  successfully logged in from within ``known_address_days`` may still try. So a distributed
  attack is slowed to ``per_login`` guesses per window, while the real user, from an address
  they used before, is never locked out (ASVS 6.3.1); from a new address they wait at most one
  window. Throttled attempts do not count as failures.
- A successful login clears its (login, address) counter and remembers the address.
Refresh-token logins: failures per address, same window.
Token checks: unknown-token answers per address and minute, in memory per process (checks are
the hot path; a database write per check would be the attacker's amplifier). Trusted networks
(backend services, loopback by default) are never throttled.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from ..exceptions import TooManyAttempts
from ..prepared import PreparedQuery

_RECORD_FAILURE = text("""
INSERT INTO auth_login_failure (key, failures, window_start) VALUES (:key, 1, now())
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN auth_login_failure.window_start < now() - make_interval(secs => :window)
                    THEN 1 ELSE auth_login_failure.failures + 1 END,
    window_start = CASE WHEN auth_login_failure.window_start < now()
                                - make_interval(secs => :window)
                        THEN now() ELSE auth_login_failure.window_start END
""")

# Prepared: every login and refresh exchange runs it.
_COUNTS = PreparedQuery('wla_login_failures', text(
    'SELECT key, failures, window_start FROM auth_login_failure WHERE key = ANY(:keys) '
    'AND window_start >= now() - make_interval(secs => :window)'))

_REMEMBER_ADDRESS = text("""
INSERT INTO auth_login_known_address (login, address, last_success) VALUES (:login, :address, now())
ON CONFLICT (login, address) DO UPDATE SET last_success = now()
""")


@dataclass(frozen=True)
class ThrottleSettings:
    per_address: int = 5
    per_login: int = 20
    window: int = 900
    known_address_days: int = 30
    refresh_per_address: int = 20
    checks_per_minute: int = 600
    trusted_networks: Sequence[str] = ('127.0.0.0/8', '::1/128')


class LoginThrottle:
    def __init__(self, *, sessions: sessionmaker, settings: ThrottleSettings):
        self._sessions = sessions
        self._settings = settings

    def check_login(self, login: str, address: str) -> None:
        """Raise TooManyAttempts (429) if this login may not be tried from this address now."""
        s = self._settings
        pair, per_login = _pair_key(login, address), _login_key(login)
        with self._sessions() as db:
            counts = self._counts(db, [pair, per_login])
            self._refuse_over(counts.get(pair), s.per_address)
            if counts.get(per_login) and counts[per_login][0] >= s.per_login \
                    and not self._known(db, login, address):
                self._refuse_over(counts[per_login], s.per_login)

    def login_failed(self, login: str, address: str) -> None:
        self._record([_pair_key(login, address), _login_key(login)])

    def login_succeeded(self, login: str, address: str) -> None:
        with self._sessions.begin() as db:
            db.execute(text('DELETE FROM auth_login_failure WHERE key = :key'),
                       {'key': _pair_key(login, address)})
            db.execute(_REMEMBER_ADDRESS, {'login': login.lower(), 'address': address})

    def check_refresh(self, address: str, db=None) -> None:
        """Raise TooManyAttempts if this address guessed too many refresh tokens; ``db`` lets
        the check share the caller's transaction (one connection for the whole exchange)."""
        if db is None:
            with self._sessions() as own:
                return self.check_refresh(address, own)
        key = _refresh_key(address)
        self._refuse_over(self._counts(db, [key]).get(key), self._settings.refresh_per_address)

    def refresh_failed(self, address: str) -> None:
        self._record([_refresh_key(address)])

    def _counts(self, db, keys: list[str]) -> dict[str, tuple[int, dt.datetime]]:
        rows = _COUNTS.execute(db.connection(), {'keys': keys, 'window': self._settings.window})
        return {row.key: (row.failures, row.window_start) for row in rows}

    def _known(self, db, login: str, address: str) -> bool:
        return db.execute(text(
            'SELECT 1 FROM auth_login_known_address WHERE login = :login AND address = :address '
            'AND last_success >= now() - make_interval(days => :days)'),
            {'login': login.lower(), 'address': address,
             'days': self._settings.known_address_days}).first() is not None

    def _refuse_over(self, count: tuple[int, dt.datetime] | None, limit: int) -> None:
        if count is None or count[0] < limit:
            return
        end = count[1] + dt.timedelta(seconds=self._settings.window)
        wait = max(1, math.ceil((end - dt.datetime.now(dt.timezone.utc)).total_seconds()))
        raise TooManyAttempts(headers={'Retry-After': str(wait)}, details={'retry_after': wait})

    def _record(self, keys: list[str]) -> None:
        with self._sessions.begin() as db:
            for key in keys:
                db.execute(_RECORD_FAILURE, {'key': key, 'window': self._settings.window})

    def purge(self) -> None:
        """Forget counters and addresses past their window (run with the token purge)."""
        with self._sessions.begin() as db:
            db.execute(text('DELETE FROM auth_login_failure WHERE window_start < '
                            'now() - make_interval(secs => :w)'), {'w': self._settings.window})
            db.execute(text('DELETE FROM auth_login_known_address WHERE last_success < '
                            'now() - make_interval(days => :d)'),
                       {'d': self._settings.known_address_days})


class CheckGuard:
    """Per-process, per-address budget of unknown-token answers per minute."""

    def __init__(self, settings: ThrottleSettings):
        self._limit = settings.checks_per_minute
        self._trusted = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_networks]
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def refusing(self, address: str) -> bool:
        """True while ``address`` is over its budget of unknown tokens for this minute."""
        count = self._counts.get(address)
        return bool(count) and count[0] == int(time.monotonic() // 60) and \
            count[1] >= self._limit

    def refuse_if_scanning(self, address: str) -> None:
        if self.refusing(address):
            raise TooManyAttempts(headers={'Retry-After': str(60 - int(time.monotonic() % 60))})

    def not_found(self, address: str) -> None:
        if self._is_trusted(address):
            return
        minute = int(time.monotonic() // 60)
        with self._lock:
            if len(self._counts) > 100_000:  # bounded memory under address spraying
                self._counts.clear()
            last = self._counts.get(address)
            self._counts[address] = (minute, last[1] + 1 if last and last[0] == minute else 1)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


def _pair_key(login: str, address: str) -> str:
    return f'login-address:{login.lower()}|{address}'


def _login_key(login: str) -> str:
    return f'login:{login.lower()}'


def _refresh_key(address: str) -> str:
    return f'refresh-address:{address}'
