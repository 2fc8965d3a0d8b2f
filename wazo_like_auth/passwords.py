"""The only module that touches passwords and bcrypt (spec D6).

bcrypt reads at most 72 bytes; longer passwords are refused when they are set, never truncated.
A failed lookup (unknown login, disabled user, no password, over-long password) still spends one
verification against a dummy hash made at the same cost, so the time of a failed login does not
tell whether the login exists.
"""
from __future__ import annotations

import bcrypt

from .exceptions import PasswordTooLong

MAX_PASSWORD_BYTES = 72


class PasswordHasher:
    def __init__(self, *, rounds: int):
        self._rounds = rounds
        # A real hash of a random value: verifying against it costs what a real check costs.
        self._dummy_hash = bcrypt.hashpw(bcrypt.gensalt(8).hex().encode(), bcrypt.gensalt(rounds))

    @property
    def rounds(self) -> int:
        return self._rounds

    def hash(self, password: str) -> str:
        """Hash a new password. Raises PasswordTooLong over 72 UTF-8 bytes."""
        encoded = password.encode('utf-8')
        if len(encoded) > MAX_PASSWORD_BYTES:
            raise PasswordTooLong(details={'password': 'at most 72 bytes in UTF-8'})
        return bcrypt.hashpw(encoded, bcrypt.gensalt(self._rounds)).decode('ascii')

    def verify(self, password: str, password_hash: str | None) -> bool:
        """True iff ``password`` matches ``password_hash``.

        Spends one bcrypt verification whatever the inputs (None hash, over-long password).
        """
        encoded = password.encode('utf-8', 'surrogatepass')
        usable = password_hash is not None and len(encoded) <= MAX_PASSWORD_BYTES
        stored = password_hash.encode('ascii') if usable else self._dummy_hash
        try:
            matched = bcrypt.checkpw(encoded[:MAX_PASSWORD_BYTES], stored)
        except ValueError:  # a corrupt stored hash never logs anyone in
            bcrypt.checkpw(b'x', self._dummy_hash)
            return False
        return matched and usable

    def burn(self) -> None:
        """Spend one verification for a login that failed before any password check."""
        bcrypt.checkpw(b'x', self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with a lower cost than configured."""
        try:
            cost = int(password_hash.split('$')[2])
        except (IndexError, ValueError):
            return True
        return cost < self._rounds
