"""Access tokens and their sessions. Tokens are addressed by the SHA-256 of their value."""
from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select
from sqlalchemy import insert as insert_statement
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from ..models import Session, Token
from ..prepared import PreparedQuery

# The hot path reads one plain row (no ORM hydration) with a prepared statement: one indexed
# lookup, planned once per connection.
_FIND_BY_HASH = PreparedQuery('wla_token_by_digest', select(
    Token.auth_id, Token.session_uuid, Token.acl, Token.expires_at, Token.issued_at,
    Token.pbx_user_uuid, Token.xivo_uuid, Token.metadata_.label('metadata'),
    Token.user_agent, Token.remote_addr,
).where(Token.token_hash == bindparam('digest')))


def find_by_digest(conn: Connection, digest: bytes) -> Row | None:
    """The token row for ``digest``, expired or not, or None."""
    return _FIND_BY_HASH.execute(conn, {'digest': digest}).first()


_TOKEN_FIELDS = ('auth_id', 'pbx_user_uuid', 'xivo_uuid', 'issued_at', 'expires_at', 'acl',
                 'metadata_', 'user_agent', 'remote_addr', 'refresh_token_uuid', 'client_id',
                 'jti', 'signing_kid')


def _insert_statement():
    new_session = insert_statement(Session).values(
        uuid=bindparam('session_uuid'), tenant_uuid=bindparam('tenant_uuid'),
        user_uuid=bindparam('user_uuid'), mobile=bindparam('mobile'),
    ).returning(Session.uuid).cte('new_session')
    return insert_statement(Token).values(
        token_hash=bindparam('digest'), session_uuid=select(new_session.c.uuid).scalar_subquery(),
        **{name: bindparam(name) for name in _TOKEN_FIELDS},
    ).add_cte(new_session)


# Prepared: building the INSERT per login cost more than running it, and compiling its
# parameters through SQLAlchemy and planning it in PostgreSQL about as much again.
_INSERT = PreparedQuery('wla_insert_token', _insert_statement())


SIGNING_KEY_GONE = 'auth_token__fk__signing_kid'


def insert(db: DbSession | Connection, *, digest: bytes, session_uuid: uuid.UUID,
           tenant_uuid: uuid.UUID, user_uuid: uuid.UUID | None, mobile: bool,
           **columns: Any) -> None:
    """Insert a session and its one token, in one statement (one round trip on the login
    and refresh paths). ``columns`` are Token attributes; absent ones are NULL. A
    ``signing_kid`` deleted meanwhile (keys retire) raises IntegrityError on the constraint
    SIGNING_KEY_GONE (see ``signing_key_gone``)."""
    params = dict.fromkeys(_TOKEN_FIELDS)
    params.update(columns, digest=digest, session_uuid=session_uuid, tenant_uuid=tenant_uuid,
                  user_uuid=user_uuid, mobile=mobile)
    params['metadata_'] = json.dumps(params['metadata_'])  # a JSON text: PostgreSQL types it
    _INSERT.execute(db, params)


def signing_key_gone(error: IntegrityError) -> bool:
    """Whether ``error`` is the insert of a token whose signing key no longer exists."""
    return getattr(getattr(error.orig, 'diag', None), 'constraint_name', None) \
        == SIGNING_KEY_GONE


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


def delete_signed_by(db: DbSession, kid: str) -> int:
    """Delete the JWT access tokens signed by key ``kid``, and the sessions they leave empty
    (as delete_by_digest does for one). Returns how many tokens. (Deleting the key deletes
    its tokens too, ON DELETE CASCADE, including any committed after this statement, and
    a trigger the sessions they leave empty: migration 0016.)"""
    sessions = db.execute(delete(Token).where(Token.signing_kid == kid)
                          .returning(Token.session_uuid)).scalars().all()
    if sessions:
        others = exists().where(Token.session_uuid == Session.uuid)
        db.execute(delete(Session).where(Session.uuid.in_(set(sessions)), ~others))
    return len(sessions)
