"""The only module that touches passwords and bcrypt (spec D6).

bcrypt reads at most 72 bytes; longer passwords are refused when they are set, never truncated.
A failed lookup (unknown login, disabled user, no password, over-long password) still spends one
verification against a dummy hash made at the same cost, so the time of a failed login does not
tell whether the login exists.

Every bcrypt computation runs in a small pool of hashing threads, ``concurrency`` per process,
at a lower CPU priority (nice +10, per thread on Linux). A login storm then occupies at most
that many cores' worth of bcrypt, queued logins wait without spending CPU, and a token check
arriving meanwhile gets a core first instead of queueing behind the hashes. With nothing else
to run, the niced threads use the cores fully: logins lose no throughput.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from .exceptions import InvalidData, PasswordTooLong

MAX_PASSWORD_BYTES = 72
HASHING_NICENESS = 10  # CFS weight 110 against 1024 for the request threads


class PasswordHasher:
    """``concurrency``: hashing threads of this process (None: one per core)."""

    def __init__(self, *, rounds: int, concurrency: int | None = None):
        self._rounds = rounds
        self._concurrency = concurrency or os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        # A real hash of a random value: verifying against it costs what a real check costs.
        self._dummy_hash = bcrypt.hashpw(bcrypt.gensalt(8).hex().encode(), bcrypt.gensalt(rounds))

    @property
    def rounds(self) -> int:
        return self._rounds

    def hash(self, password: str) -> str:
        """Hash a new password. Raises what ``ensure_hashable`` raises."""
        self.ensure_hashable(password)
        return self._run(bcrypt.hashpw, password.encode('utf-8'),
                         bcrypt.gensalt(self._rounds)).decode('ascii')

    @staticmethod
    def ensure_hashable(password: str) -> None:
        """Raises, without hashing, PasswordTooLong over MAX_PASSWORD_BYTES bytes in UTF-8, and
        InvalidData for a password that is no UTF-8 text (a lone surrogate: a YAML escape, an
        argument that is not UTF-8). ``details['password']`` says what a password must be."""
        try:
            encoded = password.encode('utf-8')
        except UnicodeEncodeError:
            raise InvalidData('Password must be UTF-8 text',
                              details={'password': 'text without lone surrogates'}) from None
        if len(encoded) > MAX_PASSWORD_BYTES:
            raise PasswordTooLong(details={'password': f'at most {MAX_PASSWORD_BYTES} bytes '
                                                       'in UTF-8'})

    def verify(self, password: str, password_hash: str | None) -> bool:
        """True iff ``password`` matches ``password_hash``.

        Spends one bcrypt verification whatever the inputs (None hash, over-long password).
        """
        encoded = password.encode('utf-8', 'surrogatepass')
        usable = password_hash is not None and len(encoded) <= MAX_PASSWORD_BYTES
        try:
            stored = password_hash.encode('ascii') if usable else self._dummy_hash
            matched = self._run(bcrypt.checkpw, encoded[:MAX_PASSWORD_BYTES], stored)
        except ValueError:  # a corrupt stored hash (not bcrypt, not ASCII) never logs anyone in
            self.burn()
            return False
        return matched and usable

    def burn(self) -> None:
        """Spend one verification for a login that failed before any password check."""
        self._run(bcrypt.checkpw, b'x', self._dummy_hash)

    def _run(self, function, *args):
        """``function(*args)`` on a hashing thread; its result or exception."""
        return self._executor().submit(function, *args).result()

    def _executor(self) -> ThreadPoolExecutor:
        # A pool inherited through fork has no threads: each process makes its own.
        if self._pool_pid != os.getpid():
            with self._pool_lock:
                if self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(self._concurrency, 'password-hash',
                                                    initializer=_lower_priority)
                    self._pool_pid = os.getpid()
        return self._pool

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with a lower cost than configured."""
        try:
            cost = int(password_hash.split('$')[2])
        except (IndexError, ValueError):
            return True
        return cost < self._rounds


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: nice values are per thread)."""
    try:
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + HASHING_NICENESS))
    except (AttributeError, OSError):  # not Linux, or a sandbox refusing it: full priority
        pass
