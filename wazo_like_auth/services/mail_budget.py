"""Budgets of mail requests (password reset, e-mail confirmation, registration), separate from
the login throttle: requests per address (a mailbox cannot be flooded), per user and per client
in a fixed window, shared by every node through PostgreSQL. Over budget → 429 with Retry-After,
the answer logins give. Keys are stored hashed: the table holds no address or login. A client
is counted by its ``networks.client_network`` (an IPv6 client by its /64).
"""
from __future__ import annotations

import hashlib
import math

from sqlalchemy.orm import Session

from ..exceptions import TooManyAttempts
from ..repositories import mail as mail_repo


class MailRequestBudget:
    def __init__(self, *, window: int):
        self._window = window

    @property
    def window(self) -> int:
        return self._window

    def spend(self, db: Session, *limits: tuple[str, str, int]) -> None:
        """Count one request for each ``(kind, value, limit)`` in the caller's transaction;
        raise TooManyAttempts when one is over its limit (the caller's rollback then un-counts
        the refused request, so refusals do not extend the wait)."""
        for kind, value, limit in limits:
            requests, started, now = self._hit(db, kind, value)
            if requests > limit:
                wait = max(1, math.ceil(self._window - (now - started).total_seconds()))
                raise TooManyAttempts(headers={'Retry-After': str(wait)},
                                      details={'retry_after': wait})

    def allows(self, db: Session, kind: str, value: str, limit: int) -> bool:
        """Count one request for ``(kind, value)`` in the caller's transaction; False when it
        is over ``limit`` (for budgets that refuse silently). Counted even when refused."""
        return self._hit(db, kind, value)[0] <= limit

    def _hit(self, db: Session, kind: str, value: str):
        key = hashlib.sha256(f'{kind}:{value.lower()}'.encode('utf-8', 'replace')).hexdigest()
        return mail_repo.hit(db, key, self._window)
