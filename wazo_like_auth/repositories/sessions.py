"""Sessions, and the one way access tokens are revoked in bulk: deleting their sessions
(tokens cascade). Every revocation path ends here."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Select, delete, func, select, text
from sqlalchemy.orm import Session as DbSession

from ..models import RefreshToken, Session, Token, User
from . import locks


def delete_where(db: DbSession, *conditions: ColumnElement[bool]) -> list[uuid.UUID]:
    """Delete the sessions matching ``conditions`` (and their tokens); returns their uuids."""
    return list(db.scalars(delete(Session).where(*conditions).returning(Session.uuid)))


def delete_visible(db: DbSession, session_uuid: uuid.UUID, tenants: Sequence[uuid.UUID],
                   user_uuid: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Delete session ``session_uuid`` if it is in ``tenants`` (and ``user_uuid``'s when
    given); returns the deleted uuids (none or one)."""
    conditions = [Session.uuid == session_uuid, Session.tenant_uuid.in_(tenants)]
    if user_uuid is not None:
        conditions.append(Session.user_uuid == user_uuid)
    return delete_where(db, *conditions)


def delete_of_user(db: DbSession, user_uuid: uuid.UUID) -> list[uuid.UUID]:
    """Revoke every session and access token of a user (spec D5)."""
    return delete_where(db, Session.user_uuid == user_uuid)


def delete_of_tenant_users(db: DbSession, tenant_uuid: uuid.UUID) -> list[uuid.UUID]:
    """Revoke every session of the users of a tenant, wherever the session is recorded."""
    members = select(User.uuid).where(User.tenant_uuid == tenant_uuid)
    return delete_where(db, Session.user_uuid.in_(members))


def delete_from_refresh_tokens(db: DbSession,
                               refresh_uuids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Revoke the sessions whose token was obtained with one of these refresh tokens.

    The refresh tokens are locked first (FOR UPDATE, in uuid order): an exchange of one of
    them in flight holds it FOR SHARE until it commits, so its new session is revoked too,
    not left behind with a reference that the refresh token's delete sets to NULL."""
    if not refresh_uuids:
        return []
    db.execute(select(RefreshToken.uuid).where(RefreshToken.uuid.in_(refresh_uuids))
               .order_by(RefreshToken.uuid).with_for_update())
    created_from = select(Token.session_uuid).where(Token.refresh_token_uuid.in_(refresh_uuids))
    return delete_where(db, Session.uuid.in_(created_from))


def delete_issued_to(db: DbSession, client_id: str,
                     of_users: ColumnElement[bool]) -> list[uuid.UUID]:
    """Revoke the sessions of the users ``of_users`` selects (a condition on
    ``Session.user_uuid``) holding a token issued to OAuth client ``client_id``. The users'
    sessions are found first (indexed), then their tokens (indexed by session): auth_token
    has no index on client_id."""
    of_user = select(Session.uuid).where(of_users)
    issued = select(Token.session_uuid).where(Token.session_uuid.in_(of_user),
                                              Token.client_id == client_id)
    return delete_where(db, Session.uuid.in_(issued))


def hold_new_sessions_of_user(db: DbSession | Connection, user_uuid: uuid.UUID) -> None:
    """Hold, until the transaction ends, the lock of a user's new sessions: a count of live
    sessions made under it sees every session committed by another holder, so a limit checked
    by counting after the insert is exact (without it, two transactions would each miss the
    other's uncommitted session)."""
    locks.hold_keyed_for_transaction(db, locks.NEW_SESSIONS, str(user_uuid))


def count_live_of_user(db: DbSession | Connection, user_uuid: uuid.UUID,
                       now: dt.datetime) -> int:
    """Sessions of a user holding a token unexpired at ``now`` (expired ones do not count)."""
    return db.scalar(select(func.count()).select_from(Session)
                     .join(Token, Token.session_uuid == Session.uuid)
                     .where(Session.user_uuid == user_uuid, Token.expires_at > now)) or 0


LIST_COLUMNS = {'mobile': Session.mobile}


def listing(tenants: Sequence[uuid.UUID], user_uuid: uuid.UUID | None = None) -> Select:
    """Sessions of ``tenants`` (optionally of one user) as (uuid, mobile, tenant, user) rows."""
    query = select(Session.uuid, Session.mobile, Session.tenant_uuid, Session.user_uuid) \
        .where(Session.tenant_uuid.in_(tenants))
    if user_uuid is not None:
        query = query.where(Session.user_uuid == user_uuid)
    return query


_PURGE_BATCH = text("""
WITH doomed AS (
    SELECT session_uuid FROM auth_token
    WHERE expires_at < now() ORDER BY expires_at LIMIT :batch FOR UPDATE SKIP LOCKED
)
DELETE FROM auth_session WHERE uuid IN (SELECT session_uuid FROM doomed)
""")


def purge_expired_batch(conn: Connection, batch: int) -> int:
    """Delete the sessions of up to ``batch`` expired tokens (rows locked by others are
    skipped); returns how many. Quiet: no revocation notification, as expired tokens are
    refused on read anyway and no cache needs flushing for them."""
    conn.execute(text("SET LOCAL wazo_like_auth.quiet_revocation = 'on'"))
    return conn.execute(_PURGE_BATCH, {'batch': batch}).rowcount


# Sessions of a user whose token expires within the window and that were not announced yet,
# found from the token expiry index; each gets its auth_session_expire_soon in the statement
# that marks it, so it is announced once, by one node (rows another purge holds are skipped).
# Those expired already (in the gap between two cycles, which start an interval after the
# previous one ended) are announced too, before the purge that follows deletes them.
_ANNOUNCE_BATCH = text("""
WITH soon AS (
    SELECT s.uuid FROM auth_session s
    WHERE s.uuid IN (SELECT session_uuid FROM auth_token
                     WHERE expires_at < now() + make_interval(secs => :within))
      AND NOT s.expire_soon_sent AND s.user_uuid IS NOT NULL
    LIMIT :batch FOR UPDATE OF s SKIP LOCKED
), marked AS (
    UPDATE auth_session s SET expire_soon_sent = true FROM soon WHERE s.uuid = soon.uuid
    RETURNING s.uuid, s.user_uuid, s.tenant_uuid
)
SELECT wazo_like_auth_record_event(
    'auth_session_expire_soon',
    'auth.users.' || user_uuid || '.sessions.' || uuid || '.expire_soon',
    tenant_uuid, user_uuid, uuid,
    jsonb_build_object('uuid', uuid, 'user_uuid', user_uuid, 'tenant_uuid', tenant_uuid))
FROM marked
""")


def announce_expiring_batch(conn: Connection, within: float, batch: int) -> int:
    """Record ``auth_session_expire_soon`` for up to ``batch`` users' sessions whose token
    expires within ``within`` seconds, once per session; returns how many."""
    return len(conn.execute(_ANNOUNCE_BATCH, {'within': within, 'batch': batch}).all())
