"""Access tokens and their sessions. Tokens are addressed by the SHA-256 of their value."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select
from sqlalchemy import insert as insert_statement
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession

from ..models import Session, Token

# The hot path reads one plain row (no ORM hydration) with a statement built once.
_FIND_BY_HASH = select(
    Token.auth_id, Token.session_uuid, Token.acl, Token.expires_at, Token.issued_at,
    Token.pbx_user_uuid, Token.xivo_uuid, Token.metadata_.label('metadata'),
    Token.user_agent, Token.remote_addr,
).where(Token.token_hash == bindparam('digest'))


def find_by_digest(conn: Connection | DbSession, digest: bytes) -> Row | None:
    """The token row for ``digest``, expired or not, or None."""
    return conn.execute(_FIND_BY_HASH, {'digest': digest}).first()


def insert(db: DbSession, *, digest: bytes, session_uuid: uuid.UUID, tenant_uuid: uuid.UUID,
           user_uuid: uuid.UUID | None, mobile: bool, **columns: Any) -> None:
    """Insert a session and its one token, in one statement (one round trip on the login
    and refresh paths)."""
    new_session = insert_statement(Session).values(
        uuid=session_uuid, tenant_uuid=tenant_uuid, user_uuid=user_uuid, mobile=mobile,
    ).returning(Session.uuid).cte('new_session')
    db.execute(insert_statement(Token).values(
        token_hash=digest, session_uuid=select(new_session.c.uuid).scalar_subquery(), **columns,
    ).add_cte(new_session))


def delete_by_digest(db: DbSession, digest: bytes) -> uuid.UUID | None:
    """Delete a token, and its session when no other token is left in it.

    Returns the uuid of the deleted session, if any.
    """
    session_uuid = db.execute(delete(Token).where(Token.token_hash == digest)
                              .returning(Token.session_uuid)).scalar()
    if session_uuid is None:
        return None
    others = exists().where(Token.session_uuid == session_uuid)
    deleted = db.execute(delete(Session).where(Session.uuid == session_uuid, ~others)
                         .returning(Session.uuid)).scalar()
    return deleted
