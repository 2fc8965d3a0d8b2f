"""The revocation feed's table (auth_revoked_jti, written by migration 0010's trigger)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session as DbSession

# Entries stay listed (and kept) this long after their token's expiry: offline verifiers accept
# a token until its exp plus their leeway (30 s by default), so a token revoked just before
# its exp must still reach a verifier polling after it (it was dropped at exp, and the revoked
# token passed until exp + leeway). A leeway above this is not covered. Migration 0022's
# trigger keeps a token deleted up to as long after its expiry (literally 300 there too).
LISTED_PAST_EXPIRY = 300  # seconds

# One statement, so one snapshot: the rows and the boundary of what it can see. Every
# transaction with an id below the snapshot's xmin has ended; the rows it wrote (if it
# committed) are in this answer or an earlier one, so the next read starts at xmin.
_SINCE = text("""
WITH boundary AS (
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
           pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax
)
SELECT boundary.xmin, boundary.xmax, revoked.jti, revoked.expires_at
FROM boundary LEFT JOIN auth_revoked_jti AS revoked
    ON revoked.revoked_xid >= :since
    AND revoked.expires_at > now() - make_interval(secs => :grace)
ORDER BY revoked.id
""")

_PURGE_BATCH = text("""
DELETE FROM auth_revoked_jti WHERE id IN (
    SELECT id FROM auth_revoked_jti WHERE expires_at < now() - make_interval(secs => :grace)
    ORDER BY expires_at LIMIT :batch FOR UPDATE SKIP LOCKED
)
""")


@dataclass(frozen=True)
class Revoked:
    """Entries revoked by transactions from ``since`` on, and the snapshot they were read in:
    ``xmin`` (every transaction below it had ended) and ``xmax`` (none at or above it had
    begun)."""
    items: list[tuple[str, object]]  # (jti, expires_at)
    xmin: int
    xmax: int


def revoked_since(db: DbSession, since: int) -> Revoked:
    """The entries written by transactions with an id ``>= since`` (0: all) whose token
    expired less than LISTED_PAST_EXPIRY ago, or not yet."""
    rows = db.execute(_SINCE, {'since': since, 'grace': LISTED_PAST_EXPIRY}).all()
    return Revoked(items=[(r.jti, r.expires_at) for r in rows if r.jti is not None],
                   xmin=rows[0].xmin, xmax=rows[0].xmax)


def purge_expired_batch(conn: Connection | DbSession, batch: int) -> int:
    """Delete up to ``batch`` entries whose token expired more than LISTED_PAST_EXPIRY ago;
    returns how many."""
    return conn.execute(_PURGE_BATCH, {'batch': batch, 'grace': LISTED_PAST_EXPIRY}).rowcount
