"""Online-guessing defences (OWASP ASVS V6.3, RFC 6819 §4.4.3.6, RFC 7662 §4).

Logins: failures are counted in PostgreSQL, so every node shares them, per (user, address) and
per user, in a fixed window. The user is the one the login string names (its username or any of
its confirmed e-mails, in any case): all its login strings share one budget. A login string
naming no user is counted as itself, so unknown and known logins are throttled alike.
- After ``per_address`` failures for a user from one address, that address gets 429 with
  Retry-After for that user until the window ends; no bcrypt is spent on it.
- After ``per_login`` failures for a user from all addresses together, only addresses the user
  successfully logged in from within ``known_address_days`` may still try. So a distributed
  attack is slowed to ``per_login`` guesses per window, while the real user, from an address
  they used before, is never locked out (ASVS 6.3.1); from a new address they wait at most one
  window. Throttled attempts do not count as failures.
- Failures are known only once the password was checked, so attempts still being checked are
  counted apart, per (user, address) and per user: past ``in_flight`` of them at once, more
  are refused as over the limit. Without it a burst of guesses sent at once all passed the
  check before the first failure was counted (40 at once: 40 passwords tried).
- A successful login clears its (user, address) counter and remembers the address.
- A password change (PUT /users/{u}/password) checks ``old_password`` under the same budget: a
  wrong one counts as a failed login of that user.
Refresh-token logins: failures per address, same window.
An "address" above is a client's: an IPv4 address itself, the /64 of an IPv6 one
(``networks.client_network``, as for the device flow and the mail budgets). A client holds its
whole /64 and changes addresses inside it for free (SLAAC privacy addresses change daily):
counted per address, an attacker's budget would be unbounded and a person's known address lost
every day. The login trail records the exact address.
Every outcome counted here is also a row of the audit trail (services/login_trail.py), written
in the same transaction; a throttled attempt is recorded as a failure with reason throttled.
Token checks: unknown-token answers per address and minute, in memory per process (checks are
the hot path; a database write per check would be the attacker's amplifier). Trusted networks
(backend services, loopback by default) are never throttled.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker

from ..clock import Clock, utc_now
from ..exceptions import TooManyAttempts
from ..networks import client_network, networks, within
from ..repositories import login_throttle as throttle_repo
from ..repositories import logins as login_repo
from .login_trail import SESSION_LIMIT, THROTTLED, WRONG_PASSWORD, LoginAttempt, LoginTrail

@dataclass(frozen=True)
class ThrottleSettings:
    per_address: int = 5
    per_login: int = 20
    window: int = 900
    known_address_days: int = 30
    # Password checks of one user in progress at once, from one address or (but for its known
    # addresses) from all: enough for a person's devices and a service's parallel logins, and
    # a bound on what a burst of guesses gets past the failure counts.
    in_flight: int = 16
    refresh_per_address: int = 20
    checks_per_minute: int = 600
    trusted_networks: Sequence[str] = ('127.0.0.0/8', '::1/128')


class LoginThrottle:
    """Also the login trail's writer (services/login_trail.py): every outcome it counts, it
    records in the same transaction, so a refused login's row commits with its failure."""

    def __init__(self, *, sessions: sessionmaker, settings: ThrottleSettings,
                 trail: LoginTrail | None = None, clock: Clock = utc_now):
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._trail = trail or LoginTrail()
        self._trusted = networks(settings.trusted_networks)

    def check_login(self, attempt: LoginAttempt) -> None:
        """Raise TooManyAttempts (429) if the user ``attempt.login`` names may not be tried
        from this address now (the refusal is recorded as a failed login)."""
        with self._sessions() as db:
            owner = login_repo.owner(db, attempt.login)
            try:
                self._check(db, _subject(owner, attempt.login), attempt.address,
                            also_known_as=attempt.login.lower())
            except TooManyAttempts:
                self._record_refusal(db, attempt, owner)  # its in-flight count rolled back
                raise
            db.commit()

    def check_user(self, user_uuid: uuid.UUID, attempt: LoginAttempt) -> None:
        """check_login for a password check of a known user (PUT /users/{u}/password)."""
        with self._sessions() as db:
            try:
                self._check(db, _user_subject(user_uuid), attempt.address)
            except TooManyAttempts:
                self._record_refusal(db, attempt, login_repo.user(db, user_uuid))
                raise
            db.commit()

    def _record_refusal(self, db, attempt: LoginAttempt, owner: Any) -> None:
        """A throttled attempt is a failed login of the trail, committed on its own: the
        read transaction of the check ends, a write transaction records it."""
        db.rollback()
        self._trail.failed(db, attempt, owner, THROTTLED)
        db.commit()

    def _check(self, db, subject: str, address: str, also_known_as: str = '') -> None:
        s = self._settings
        pair, per_subject = _pair_key(subject, address), _subject_key(subject)
        # This attempt joins those in flight first (each outcome below takes it back): the
        # counters' rows stay locked, so the checks of one user take turns, and each reads
        # the failures of every attempt that landed before it. Not from trusted networks:
        # backend services logging a user in many times at once (and the benchmark).
        pair_flying = flying = (0, None)
        if not within(address, self._trusted):
            pair_flying = throttle_repo.record_failure(db, _in_flight(pair), IN_FLIGHT_WINDOW)
            flying = throttle_repo.record_failure(db, _in_flight(per_subject), IN_FLIGHT_WINDOW)
        counts = self._counts(db, [pair, per_subject])
        self._refuse_over(counts.get(pair), s.per_address)
        if pair_flying[0] > s.in_flight:
            _too_many_in_flight()
        over = (counts.get(per_subject) or (0,))[0] >= s.per_login or flying[0] > s.in_flight
        if over and not self._known(db, [subject, also_known_as], address):
            self._refuse_over(counts.get(per_subject), s.per_login)
            if flying[0] > s.in_flight:
                _too_many_in_flight()

    def _landed(self, db, subject: str, address: str) -> None:
        """An attempt counted in flight by ``_check`` has its outcome."""
        if within(address, self._trusted):
            return
        throttle_repo.uncount(db, _in_flight(_pair_key(subject, address)))
        throttle_repo.uncount(db, _in_flight(_subject_key(subject)))

    def login_failed(self, attempt: LoginAttempt, reason: str | None = None) -> None:
        """Count a failed login and record it (``reason`` None: inferred, login_trail.py)."""
        with self._sessions.begin() as db:
            owner = login_repo.owner(db, attempt.login)
            subject = _subject(owner, attempt.login)
            self._landed(db, subject, attempt.address)
            self._record(db, subject, attempt.address)
            self._trail.failed(db, attempt, owner, reason)

    def user_failed(self, user_uuid: uuid.UUID, attempt: LoginAttempt) -> None:
        with self._sessions.begin() as db:
            self._landed(db, _user_subject(user_uuid), attempt.address)
            self._record(db, _user_subject(user_uuid), attempt.address)
            self._trail.failed(db, attempt, login_repo.user(db, user_uuid), WRONG_PASSWORD)

    def login_succeeded(self, attempt: LoginAttempt, session_uuid: str | None = None) -> None:
        """Forget the address's failures, remember it, record the login (and the session it
        made, if any)."""
        with self._sessions.begin() as db:
            owner = login_repo.owner(db, attempt.login)
            self._succeeded(db, _subject(owner, attempt.login), attempt.address)
            self._trail.succeeded(db, attempt, owner, session_uuid)

    def user_landed(self, user_uuid: uuid.UUID, address: str) -> None:
        """A password check of a known user ended neither right nor wrong (the user changed
        meanwhile): no longer in flight, nothing counted."""
        with self._sessions.begin() as db:
            self._landed(db, _user_subject(user_uuid), address)

    def user_succeeded(self, user_uuid: uuid.UUID, address: str) -> None:
        """A password check of a known user passed (not a login: nothing recorded)."""
        with self._sessions.begin() as db:
            self._succeeded(db, _user_subject(user_uuid), address)

    def _succeeded(self, db, subject: str, address: str) -> None:
        self._landed(db, subject, address)
        throttle_repo.forget(db, _pair_key(subject, address))
        throttle_repo.remember_address(db, subject, client_network(address))

    def refresh_counter(self, address: str) -> tuple[str, int]:
        """The key and window of the refresh-failure counter of ``address``, for a statement
        that reads it beside other rows (the refresh exchange); ``check_refresh`` judges it."""
        return _refresh_key(address), self._settings.window

    def check_refresh(self, address: str, db=None, read: tuple | None = None) -> None:
        """Raise TooManyAttempts if this address guessed too many refresh tokens.

        ``read``: the (failures, window_start) of the counter as another statement read it
        (``refresh_counter``; both None when there is none). Otherwise it is read here, in
        ``db``'s transaction when given (one connection for the whole exchange)."""
        if read is not None:
            count = read if read[0] is not None else None
            return self._refuse_over(count, self._settings.refresh_per_address)
        if db is None:
            with self._sessions() as own:
                return self.check_refresh(address, own)
        key = _refresh_key(address)
        self._refuse_over(self._counts(db, [key]).get(key), self._settings.refresh_per_address)

    def refresh_failed(self, attempt: LoginAttempt, reason: str | None) -> None:
        """Count and record a failed refresh-token login (no user known)."""
        with self._sessions.begin() as db:
            self._count_failure(db, _refresh_key(attempt.address))
            self._trail.failed(db, attempt, None, reason)

    def over_session_limit(self, attempt: LoginAttempt) -> None:
        """Record a login refused at the session limit (429). Its credentials were right: not
        a guess, so no failure is counted."""
        with self._sessions.begin() as db:
            owner = login_repo.owner(db, attempt.login) if attempt.grant == 'password' else None
            if attempt.grant == 'password':  # checked by check_login: no longer in flight
                self._landed(db, _subject(owner, attempt.login), attempt.address)
            self._trail.failed(db, attempt, owner, SESSION_LIMIT)

    def refused(self, attempt: LoginAttempt) -> None:
        """Record a login refused by check_refresh (whose caller's transaction rolled back)."""
        with self._sessions.begin() as db:
            self._trail.failed(db, attempt, None, THROTTLED)

    def _counts(self, db, keys: list[str]) -> dict[str, tuple[int, dt.datetime]]:
        return throttle_repo.counts(db, keys, self._settings.window)

    def _known(self, db, subjects: list[str], address: str) -> bool:
        # Addresses remembered before failures were counted per user are keyed by the login
        # string: ``also_known_as`` finds them until they expire; likewise IPv6 addresses
        # remembered before they were remembered by their /64.
        return throttle_repo.is_known(db, subjects, {address, client_network(address)},
                                      self._settings.known_address_days)

    def _refuse_over(self, count: tuple[int, dt.datetime] | None, limit: int) -> None:
        if count is None or count[0] < limit:
            return
        end = count[1] + dt.timedelta(seconds=self._settings.window)
        wait = max(1, math.ceil((end - self._clock()).total_seconds()))
        raise TooManyAttempts(headers={'Retry-After': str(wait)}, details={'retry_after': wait})

    def _record(self, db, subject: str, address: str) -> None:
        self._count_failure(db, _pair_key(subject, address))
        self._count_failure(db, _subject_key(subject))

    def _count_failure(self, db, key: str) -> tuple[int, dt.datetime]:
        return throttle_repo.record_failure(db, key, self._settings.window)

    def purge(self) -> None:
        """Forget counters and addresses past their window (run with the token purge)."""
        with self._sessions.begin() as db:
            throttle_repo.purge(db, self._settings.window, self._settings.known_address_days)


class CheckGuard:
    """Per-process, per-address budget of unknown-token answers per minute."""

    def __init__(self, settings: ThrottleSettings):
        self._limit = settings.checks_per_minute
        self._trusted = networks(settings.trusted_networks)
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def refusing(self, address: str) -> bool:
        """True while ``address`` (its /64 network for IPv6, as logins count) is over its
        budget of unknown tokens for this minute."""
        count = self._counts.get(_check_key(address))
        return bool(count) and count[0] == int(time.monotonic() // 60) and \
            count[1] >= self._limit

    def refuse_if_scanning(self, address: str) -> None:
        if self.refusing(address):
            raise TooManyAttempts(headers={'Retry-After': str(60 - int(time.monotonic() % 60))})

    def not_found(self, address: str) -> None:
        if within(address, self._trusted):
            return
        minute = int(time.monotonic() // 60)
        with self._lock:
            if len(self._counts) > 100_000:  # bounded memory under address spraying
                self._counts.clear()
            key = _check_key(address)
            last = self._counts.get(key)
            self._counts[key] = (minute, last[1] + 1 if last and last[0] == minute else 1)


def _check_key(address: str) -> str:
    # Runs on every token check: an IPv4 address is its own key without parsing it, and an
    # IPv6 one's network is parsed once per address (a bounded cache).
    return _network_of(address) if ':' in address else address


_network_of = functools.lru_cache(maxsize=4096)(client_network)


def _subject(owner: Any, login: str) -> str:
    """Whose password a login tries: the enabled user ``login`` names (``owner``, found by
    username or any confirmed e-mail, so all its login strings share one budget), else the
    string itself."""
    if owner is not None and owner.enabled:
        return _user_subject(owner.uuid)
    return f'name:{login.lower()}'


def _user_subject(user_uuid: uuid.UUID) -> str:
    return f'user:{user_uuid}'


def _pair_key(subject: str, address: str) -> str:
    return f'subject-address:{subject}|{client_network(address)}'


def _subject_key(subject: str) -> str:
    return f'subject:{subject}'


# A check in flight ends within seconds; should one never report its outcome (the database
# failing in between), its count is gone after this rather than after the failure window.
IN_FLIGHT_WINDOW = 60


def _too_many_in_flight() -> None:
    # Checks in progress end within a second or so: retrying soon is fine, not at the
    # window's end as after failures.
    raise TooManyAttempts(headers={'Retry-After': '1'}, details={'retry_after': 1})


def _in_flight(key: str) -> str:
    return f'in-flight:{key}'


def _refresh_key(address: str) -> str:
    return f'refresh-address:{client_network(address)}'
