"""Typed ORM models of OAuth 2.0 (migrations 0004, 0007, 0010, 0015): registered clients,
their policies and RFC 8628 device authorizations. Beside models.py, on the same declarative
base."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (ARRAY, Boolean, DateTime, ForeignKey, Index, LargeBinary, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, created_at_column, uuid_pk


class Client(Base):
    """An OAuth 2.0 client. The secret is kept only as a bcrypt hash (NULL when public)."""
    __tablename__ = 'auth_client'
    __table_args__ = (
        UniqueConstraint('client_id', name='auth_client__uniq__client_id'),
        Index('auth_client__idx__tenant_uuid', 'tenant_uuid'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    secret_hash: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    grant_types: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                   server_default='{}')
    acl: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default='{}')
    config_managed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    created_at: Mapped[dt.datetime] = created_at_column()
    # The authorization code flow (migration 0007): exact-match URIs, consent screen.
    redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                     server_default='{}')
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                                 server_default='{}')
    require_consent: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                                  server_default='false')
    # JWT access tokens (migration 0010): 'opaque' or 'jwt', and the JWTs' audience (empty:
    # the issuer URL).
    access_token_format: Mapped[str] = mapped_column(Text, nullable=False,
                                                     server_default='opaque')
    access_token_audience: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                             server_default='{}')


class ClientPolicy(Base):
    __tablename__ = 'auth_client_policy'
    __table_args__ = (Index('auth_client_policy__idx__policy_uuid', 'policy_uuid'),)
    client_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_client.uuid', ondelete='CASCADE'), primary_key=True)
    policy_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_policy.uuid', ondelete='CASCADE'), primary_key=True)


class DeviceCode(Base):
    """An RFC 8628 device authorization: the device code is known only by its SHA-256."""
    __tablename__ = 'auth_device_code'
    __table_args__ = (
        UniqueConstraint('device_code_hash', name='auth_device_code__uniq__device_code_hash'),
        UniqueConstraint('user_code', name='auth_device_code__uniq__user_code'),
        Index('auth_device_code__idx__expires_at', 'expires_at'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    device_code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    user_code: Mapped[str] = mapped_column(Text, nullable=False)
    client_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_client.uuid', ondelete='CASCADE'), nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default='pending')
    user_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'))
    consent_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    consent_user_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'))
    poll_interval: Mapped[int] = mapped_column(nullable=False)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The issuer it was requested at (migration 0015): only that issuer's verification page
    # and token endpoint know it.
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    # The password checked at sign-in on the verification page (migration 0019): redeemed only
    # while it is still the user's (mail_tokens.password_fingerprint).
    password_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32))
