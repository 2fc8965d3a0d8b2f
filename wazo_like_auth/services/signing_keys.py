"""Signing keys of ID tokens: the newest signs, every key whose tokens may still be valid is
published, and rotation adds a key.

Every node reads the newest key from PostgreSQL when it signs (one indexed read; decrypted
keys are cached by kid), so a rotation takes effect on every node at its commit. A replaced
key stays published until the last token it signed expires (``token_lifetime`` plus a clock
skew margin), then it is deleted.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from ..clock import utc_now
from ..logs import get_logger
from ..oidc import keys
from ..oidc_models import SigningKey
from ..repositories import signing_keys as key_repo

logger = get_logger(__name__)

SKEW = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    alg: str
    key: object  # a joserfc private key


class SigningKeyService:
    def __init__(self, *, sessions: sessionmaker, secret: bytes, algorithm: str,
                 token_lifetime: int, clock: Callable[[], dt.datetime] = utc_now):
        self._sessions = sessions
        self._key = keys.encryption_key(secret)
        self._algorithm = algorithm
        self._lifetime = dt.timedelta(seconds=token_lifetime)
        self._clock = clock
        self._cache: dict[str, ActiveKey] = {}
        self._lock = threading.Lock()

    def active(self) -> ActiveKey:
        """The key to sign with now: the newest readable one, created when there is none."""
        with self._sessions() as db:
            rows = key_repo.newest(db)
            found = self._first_readable(rows)
        if found is not None:
            return found
        self.rotate(self._algorithm, only_if_none=True)
        with self._sessions() as db:
            found = self._first_readable(key_repo.newest(db))
        if found is None:
            raise RuntimeError('no readable signing key')
        return found

    def _first_readable(self, rows: list[SigningKey]) -> ActiveKey | None:
        for row in rows:
            cached = self._cache.get(row.kid)
            if cached is not None:
                return cached
            try:
                private = keys.private_key(row.kid, row.private_ciphertext, self._key)
            except keys.UnreadableKey:
                logger.warning('signing key %s does not decrypt with the current '
                               'token_secret: skipped', row.kid)
                continue
            with self._lock:
                self._cache[row.kid] = ActiveKey(row.kid, row.alg, private)
            return self._cache[row.kid]
        return None

    def rotate(self, algorithm: str | None = None, *, only_if_none: bool = False) -> str:
        """Add a key that signs from now on; the others are retired once their tokens
        expire. Returns the new kid (with ``only_if_none``, the existing one if any)."""
        new = keys.generate(algorithm or self._algorithm, self._key)
        now = self._clock()
        with self._sessions.begin() as db:
            key_repo.lock(db)
            current = self._first_readable(key_repo.newest(db))
            if only_if_none and current is not None:
                return current.kid
            key_repo.purge_retired(db, now)
            key_repo.add(db, SigningKey(kid=new.kid, alg=new.alg, public_jwk=new.public_jwk,
                                        private_ciphertext=new.private_ciphertext,
                                        created_at=now))
            retired = key_repo.retire_others(db, new.kid, now + self._lifetime + SKEW)
        logger.info('signing key %s (%s) added; %d older keys retire when their tokens '
                    'expire', new.kid, new.alg, retired)
        return new.kid

    def jwks(self) -> dict:
        """The JWK Set of ``certs``: every key whose tokens may still be valid."""
        self.active()  # a provider always publishes at least its signing key
        with self._sessions() as db:
            rows = key_repo.published(db, self._clock())
            return keys.jwks([row.public_jwk for row in rows])
