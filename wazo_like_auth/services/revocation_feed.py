"""The revocation feed of offline verifiers: the ``jti`` of every JWT access token revoked
(deleted by any path before it expired) and not expired more than
``revoked_jtis.LISTED_PAST_EXPIRY`` ago (verifiers' leeway), since a cursor.

The cursor is a PostgreSQL transaction-id horizon, not a count: entries are written by the
revoking transactions, which commit in any order, so "everything after entry n" could skip an
entry numbered below n that committed after n was read. An answer lists the entries of every
transaction from the cursor on and returns as next cursor the oldest transaction still running
when it was read; an entry may therefore be listed twice (a set of jtis absorbs that), never
missed. Entries whose token expired longer ago are left out, and purged by the token cleaner.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import sessionmaker

from ..exceptions import InvalidCursor
from ..repositories import revoked_jtis
from ..repositories import signing_keys as key_repo

_CURSOR = re.compile(r'[0-9]{1,19}')


class RevocationFeed:
    def __init__(self, *, sessions: sessionmaker, batch_size: int):
        self._sessions = sessions
        self._batch_size = batch_size

    def since(self, cursor: str | None) -> dict[str, Any]:
        """``{"items": [{"jti", "expires_at"}], "cursor", "retired_keys"}``: the entries
        revoked since ``cursor`` (every live one when None), and the kids retired for a leak
        lately (every time, whatever the cursor: a verifier may hold them in a cached
        ``certs``). Raises InvalidCursor for a cursor this feed cannot have given."""
        since = _parse(cursor)
        with self._sessions() as db:
            revoked = revoked_jtis.revoked_since(db, since)
            retired = key_repo.retired_lately(db)
        if since > revoked.xmax:
            raise InvalidCursor(details={'since': 'not a cursor of this feed'})
        return {'items': [{'jti': jti, 'expires_at': _iso(expires_at)}
                          for jti, expires_at in revoked.items],
                'cursor': str(revoked.xmin), 'retired_keys': retired}

    def purge(self) -> int:
        """Delete the entries whose token expired past the verifiers' leeway, in batches (run by the token cleaner);
        returns how many."""
        removed = 0
        while True:
            with self._sessions.begin() as db:
                count = revoked_jtis.purge_expired_batch(db, self._batch_size)
            removed += count
            if count < self._batch_size:
                return removed


def _parse(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not _CURSOR.fullmatch(cursor) or int(cursor) >= 2 ** 63:
        raise InvalidCursor(details={'since': 'not a cursor of this feed'})
    return int(cursor)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat()
