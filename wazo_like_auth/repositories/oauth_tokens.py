"""Reads of access tokens for the OAuth 2.0 endpoints (introspection, revocation, userinfo):
a token with its client and its owner's names, in one query."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession

from ..models import Email, RefreshToken, Session, Token, User


def describe(db: DbSession, digest: bytes) -> Row | None:
    """The token of ``digest`` (expired or not) with ``client_id`` (the OAuth client it was
    issued to, else the client of the refresh token it came from), ``jti`` (JWT access
    tokens), and its user's
    ``username``, ``firstname``, ``lastname``, ``tenant_uuid`` and ``user_uuid`` if any,
    its main address ``email`` and whether it is confirmed, ``email_confirmed``."""
    main = select(Email).where(Email.user_uuid == User.uuid, Email.main.is_(True)).limit(1)
    main_email = main.with_only_columns(Email.address).scalar_subquery()
    main_confirmed = main.with_only_columns(Email.confirmed).scalar_subquery()
    return db.execute(
        select(Token.auth_id, Token.acl, Token.issued_at, Token.expires_at,
               Token.metadata_.label('metadata'), Token.jti,
               func.coalesce(Token.client_id, RefreshToken.client_id).label('client_id'),
               Session.tenant_uuid, Session.user_uuid, User.username, User.firstname,
               User.lastname, main_email.label('email'),
               main_confirmed.label('email_confirmed'))
        .join(Session, Session.uuid == Token.session_uuid)
        .outerjoin(RefreshToken, RefreshToken.uuid == Token.refresh_token_uuid)
        .outerjoin(User, User.uuid == Session.user_uuid)
        .where(Token.token_hash == digest)).first()
