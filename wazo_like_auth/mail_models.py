"""Typed ORM models of the mail flows (migration 0008): single-purpose mail tokens, the mail
outbox and mail-request counters. Beside models.py, on the same declarative base."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, created_at_column, uuid_pk


class MailToken(Base):
    """A single-purpose token sent by mail (password reset, e-mail confirmation).

    Its value is HMAC(derived mail key, uuid); only its SHA-256 is stored. A reset token also
    records a digest of the password hash it was issued against: setting the password any other
    way voids it. Tokens die with their user or address (foreign-key cascade).
    """
    __tablename__ = 'auth_mail_token'
    __table_args__ = (
        Index('auth_mail_token__idx__user_uuid', 'user_uuid'),
        Index('auth_mail_token__idx__email_uuid', 'email_uuid'),
        Index('auth_mail_token__idx__expires_at', 'expires_at'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), nullable=False)
    email_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_email.uuid', ondelete='CASCADE'))
    password_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MailOutbox(Base):
    """A mail to deliver, written in the transaction of the change that asks for it and
    delivered after commit by the mail sender. Holds no secret: a link's token is derived from
    ``context['token_uuid']`` with the server secret at sending time."""
    __tablename__ = 'auth_mail_outbox'
    __table_args__ = (Index('auth_mail_outbox__idx__next_attempt_at', 'next_attempt_at'),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    recipient: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default='{}')
    attempts: Mapped[int] = mapped_column(nullable=False, server_default='0')
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                         server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class MailRequestCount(Base):
    """Mail requests per key (a hashed address, user or client) in a fixed window."""
    __tablename__ = 'auth_mail_request'
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    requests: Mapped[int] = mapped_column(nullable=False)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
