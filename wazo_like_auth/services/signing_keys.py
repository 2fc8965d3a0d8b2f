"""Signing keys of ID tokens and JWT access tokens: published before they sign, the latest
started signs, every key whose tokens may still be valid is published; rotation adds a key,
retirement (a leaked key) removes one at once.

Every node reads the signing key from PostgreSQL when it signs (one indexed read; decrypted
keys are cached by kid) and decides with its clock from the rows alone, so every change takes
effect on every node at its commit or at the time it sets (a key made to sign at once is
taken up at once by a node whose clock lags, within SKEW):

- ``rotate`` adds a key published at once that signs from ``CERTS_MAX_AGE`` later (a verifier
  or HTTP cache holding the ``certs`` fetched just before knows it by then); with ``now``, or
  when no key signs yet (the first key), it signs at once and keys waiting their turn go.
- A replaced key signs until its successor starts, then stays published until the last token
  it signed expires (``token_lifetime`` plus a clock skew margin); it is deleted after.
- ``retire`` deletes a key: off ``certs`` and no longer signing at once, and the JWT access
  tokens it signed are deleted (revoked everywhere). Retiring the signing key first hands
  signing to the next published key (it signs at once), or to a new key when none waits:
  signing never stops.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from ..clock import utc_now
from ..exceptions import SigningKeysUnreadable, UnknownSigningKey
from ..logs import get_logger
from ..oidc import keys
from ..oidc_models import SigningKey
from ..repositories import signing_keys as key_repo
from ..repositories import tokens as token_repo

logger = get_logger(__name__)

SKEW = dt.timedelta(seconds=60)
PREPUBLISH = dt.timedelta(seconds=keys.CERTS_MAX_AGE)
UNREADABLE = ('signing key {} does not decrypt with this token_secret: run keys with the '
              "service's configuration (token_secret, state_dir); after a change of "
              'token_secret, the service makes a new key when it next signs')


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    alg: str
    key: object  # a joserfc private key


@dataclass(frozen=True)
class KeyState:
    """A published key, as ``keys list`` shows it. ``state``: ``signing``, ``published-next``
    (signs from ``signs_from``), ``retiring`` (published until ``retire_at``) or
    ``unreadable`` (encrypted under another token_secret: never signs here)."""
    kid: str
    alg: str
    created_at: dt.datetime
    signs_from: dt.datetime
    retire_at: dt.datetime | None
    state: str


@dataclass(frozen=True)
class Retired:
    """What ``retire`` did: the tokens of the key it deleted, and the key that took over
    signing (None when the retired key was not signing)."""
    kid: str
    tokens: int
    successor: KeyState | None


class SigningKeyService:
    def __init__(self, *, sessions: sessionmaker, secret: bytes, algorithm: str,
                 token_lifetime: int, clock: Callable[[], dt.datetime] = utc_now):
        self._sessions = sessions
        self._key = keys.encryption_key(secret)
        self._algorithm = algorithm
        self._lifetime = dt.timedelta(seconds=token_lifetime)
        self._clock = clock
        self._cache: dict[str, ActiveKey] = {}
        self._unreadable: set[str] = set()  # warned about once (read on every signature)
        self._lock = threading.Lock()

    def active(self) -> ActiveKey:
        """The key to sign with now; a key signing at once is made when none signs."""
        with self._sessions() as db:
            found = self._signer(db, self._clock())
        if found is not None:
            return found
        with self._sessions.begin() as db:
            key_repo.lock(db)
            now = self._clock()
            found = self._signer(db, now)
            if found is None:
                found = self._readable(self._add_signing_now(db, self._algorithm, now))
        if found is None:
            raise RuntimeError('no readable signing key')
        return found

    def _signer(self, db: DbSession, at: dt.datetime) -> ActiveKey | None:
        """The key that signs at ``at``: the first readable one whose time has come, else
        one whose time comes within SKEW. Such a key was made to sign at once (first key,
        ``rotate --now``, ``retire``) by a node whose clock runs ahead of ours: it may have
        signed tokens already, so we sign with it too rather than replace (delete) it."""
        return (self._first_readable(key_repo.signing(db, at))
                or self._first_readable(key_repo.signing(db, at + SKEW)))

    def _signing_kid(self, db: DbSession, at: dt.datetime) -> str | None:
        """The kid of the key that signs at ``at``: ours (``_signer``) or, when none decrypts
        here, the one the schedule names (the service's, for a command run with another
        token_secret, or the unreadable key of a token_secret changed since)."""
        signer = self._signer(db, at)
        if signer is not None:
            return signer.kid
        started = key_repo.signing(db, at) or key_repo.signing(db, at + SKEW)
        return started[0].kid if started else None

    def _first_readable(self, rows: list[SigningKey]) -> ActiveKey | None:
        for row in rows:
            found = self._readable(row)
            if found is not None:
                return found
        return None

    def _readable(self, row: SigningKey) -> ActiveKey | None:
        cached = self._cache.get(row.kid)
        if cached is not None:
            return cached
        try:
            private = keys.private_key(row.kid, row.private_ciphertext, self._key)
        except keys.UnreadableKey:
            if row.kid not in self._unreadable:
                self._unreadable.add(row.kid)
                logger.warning('signing key %s does not decrypt with the current '
                               'token_secret: skipped', row.kid)
            return None
        with self._lock:
            self._cache[row.kid] = ActiveKey(row.kid, row.alg, private)
        return self._cache[row.kid]

    def rotate(self, algorithm: str | None = None, *, now: bool = False) -> KeyState:
        """Add a key, published at once. It signs from ``CERTS_MAX_AGE`` later, or at once
        with ``now`` or when no key signs yet; the keys it replaces retire once their tokens
        expire (with ``now``, keys not signing yet are deleted). Returns the new key. Raises
        SigningKeysUnreadable when the key that signs does not decrypt with our token_secret."""
        with self._sessions.begin() as db:
            key_repo.lock(db)
            at = self._clock()
            key_repo.purge_retired(db, at)
            signer = self._signer(db, at)
            if signer is None and (unreadable := self._signing_kid(db, at)) is not None:
                raise SigningKeysUnreadable(UNREADABLE.format(unreadable))
            if now or signer is None:
                row = self._add_signing_now(db, algorithm or self._algorithm, at)
            else:
                row = self._add(db, algorithm or self._algorithm, at, at + PREPUBLISH)
                key_repo.retire_others(db, row.kid, row.signs_from + self._lifetime + SKEW)
            state = self._state(row, at, signer=row.kid if row.signs_from <= at else None)
        logger.info('signing key %s (%s) added; it signs from %s', row.kid, row.alg,
                    row.signs_from.isoformat())
        return state

    def _add(self, db: DbSession, algorithm: str, at: dt.datetime,
             signs_from: dt.datetime) -> SigningKey:
        new = keys.generate(algorithm, self._key)
        row = SigningKey(kid=new.kid, alg=new.alg, public_jwk=new.public_jwk,
                         private_ciphertext=new.private_ciphertext, created_at=at,
                         signs_from=signs_from)
        key_repo.add(db, row)
        return row

    def _add_signing_now(self, db: DbSession, algorithm: str, at: dt.datetime) -> SigningKey:
        """A key signing from ``at``: keys waiting their turn go (they signed nothing), the
        others retire once the tokens they signed until now expire. A key whose turn comes
        within SKEW is no waiting key: a node whose clock runs ahead may have signed with it
        (``_signer``); it is kept, as started just before the new key, and retires too."""
        row = self._add(db, algorithm, at, at)
        key_repo.delete_pending(db, at + SKEW, but=row.kid)
        key_repo.start_before(db, at, but=row.kid)
        key_repo.retire_others_by(db, row.kid, at + self._lifetime + SKEW)
        return row

    def retire(self, kid: str) -> Retired:
        """Delete key ``kid`` (a leak): off ``certs`` and no longer signing at once on every
        node, and the JWT access tokens it signed deleted. When it was signing, the next
        published key signs at once, or a new key when none waits. Raises
        UnknownSigningKey."""
        if not _storable(kid):  # no key has it; the driver would refuse it (a traceback)
            raise UnknownSigningKey('no published signing key '
                                    + kid.encode('unicode_escape').decode('ascii'))
        unknown = UnknownSigningKey(f'no published signing key {kid}')
        with self._sessions.begin() as db:
            key_repo.lock(db)
            at = self._clock()
            row = key_repo.published_key(db, kid, at)  # kept for a long-lived token too
            if row is None:
                raise unknown
            signer = self._signing_kid(db, at)
            readable_here = self._readable(row) is not None
            waiting = [key for key in key_repo.pending(db, at) if key.kid != kid]
            tokens = token_repo.delete_signed_by(db, kid)
            key_repo.remove(db, kid)  # and, by cascade, any token recorded meanwhile (and its
            # session, migration 0016)
            key_repo.record_retired(db, kid, at)  # for offline verifiers' revocation feed
            successor = None
            if signer == kid:
                successor = self._take_over(db, waiting, at, readable_here=readable_here)
            elif row.signs_from > at:
                self._reschedule_after_pending(db, row, waiting, at)
            state = None if successor is None else self._state(successor, at, successor.kid)
        logger.warning('signing key %s retired; %d access tokens it signed deleted', kid, tokens)
        return Retired(kid=kid, tokens=tokens, successor=state)

    def _take_over(self, db: DbSession, waiting: list[SigningKey], at: dt.datetime, *,
                   readable_here: bool) -> SigningKey | None:
        """The key signing from now on, the signing key being retired: the next waiting one
        (one readable here first), else a new key. Run with another token_secret than the
        service's (``readable_here`` false: the retired key did not decrypt here), a waiting
        key still takes over, by its schedule: the service reads it; and with none waiting,
        no key is made (None), since one made here would be unreadable to the service, which
        makes its own at its next signature instead."""
        ordered = sorted(waiting, key=lambda key: self._readable(key) is None)  # stable
        if ordered:
            ordered[0].signs_from = at
            db.flush()
            return ordered[0]
        return self._add_signing_now(db, self._algorithm, at) if readable_here else None

    def _reschedule_after_pending(self, db: DbSession, removed: SigningKey,
                                  waiting: list[SigningKey], at: dt.datetime) -> None:
        """A key waiting its turn was removed: the key before it signs until the one after
        it starts, or for good when none follows."""
        earlier = [key for key in key_repo.published(db, at)
                   if key.signs_from < removed.signs_from]
        if not earlier:
            return
        later = [key for key in waiting if key.signs_from > removed.signs_from]
        earlier[0].retire_at = (later[0].signs_from + self._lifetime + SKEW) if later else None
        db.flush()

    def states(self) -> list[KeyState]:
        """The published keys, the latest to sign first."""
        with self._sessions() as db:
            at = self._clock()
            rows = key_repo.published(db, at)
            signer = self._signer(db, at)
            return [self._state(row, at, signer.kid if signer else None) for row in rows]

    def _state(self, row: SigningKey, at: dt.datetime, signer: str | None) -> KeyState:
        if row.kid == signer:
            state = 'signing'
        elif row.signs_from > at:
            state = 'published-next'
        elif row.retire_at is not None:
            state = 'retiring'
        else:
            state = 'unreadable'
        # Past its retire_at, a key stays while a longer-lived token it signed is valid.
        retire_at = row.retire_at if row.retire_at is None or row.retire_at > at else None
        return KeyState(kid=row.kid, alg=row.alg, created_at=row.created_at,
                        signs_from=row.signs_from, retire_at=retire_at, state=state)

    def jwks(self) -> dict:
        """The JWK Set of ``certs``: every key whose tokens may still be valid, and the keys
        that will sign next."""
        self.active()  # a provider always publishes at least its signing key
        with self._sessions() as db:
            rows = key_repo.published(db, self._clock())
            return keys.jwks([row.public_jwk for row in rows])


def _storable(text: str) -> bool:
    """Whether PostgreSQL's ``text`` can hold ``text``: UTF-8 (no lone surrogate, as Python
    decodes a command-line argument of non-UTF-8 bytes), no NUL."""
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return '\x00' not in text
