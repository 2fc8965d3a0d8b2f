"""Typed ORM models of the event outbox and audit trail (migration 0009) and of the JWT
revocation feed (migration 0010). Beside models.py, on the same declarative base."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class Event(Base):
    """An event (migration 0009): the outbox of the bus and the audit trail in one row.

    Written in the transaction of the change it describes; ``publish`` rows are delivered to
    the bus after commit (``published_at`` once the broker confirmed). No foreign keys: the
    trail outlives what it names. Holds no secret."""
    __tablename__ = 'auth_event'
    __table_args__ = (
        Index('auth_event__idx__unpublished', 'id',
              postgresql_where=text('publish AND published_at IS NULL')),
        Index('auth_event__idx__occurred_at', 'occurred_at'),
        Index('auth_event__idx__user_uuid', 'user_uuid', 'occurred_at'),
        Index('auth_event__idx__tenant_uuid', 'tenant_uuid', 'occurred_at'),
        Index('auth_event__idx__name', 'name', 'occurred_at'),
        # The audit trail's login filter (migration 0012).
        Index('auth_event__idx__login', func.lower(text("data->>'login'")), 'occurred_at',
              postgresql_where=text("data ? 'login'")),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    routing_key: Mapped[str] = mapped_column(Text, nullable=False)
    tenant_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    session_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default='{}')
    actor: Mapped[dict | None] = mapped_column(JSONB)
    publish: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='true')
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    occurred_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text('clock_timestamp()'))


class RevokedJti(Base):
    """A JWT access token deleted before it expired (migration 0010's trigger writes these):
    the revocation feed of offline verifiers. ``revoked_xid``: the deleting transaction's id,
    the feed's cursor."""
    __tablename__ = 'auth_revoked_jti'
    __table_args__ = (
        Index('auth_revoked_jti__idx__revoked_xid', 'revoked_xid'),
        Index('auth_revoked_jti__idx__expires_at', 'expires_at'),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    jti: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_xid: Mapped[int] = mapped_column(
        BigInteger, nullable=False, server_default=text('(pg_current_xact_id()::text::bigint)'))
    revoked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text('clock_timestamp()'))
