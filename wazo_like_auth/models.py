"""Typed ORM models (SQLAlchemy 2.0). The schema itself is owned by the alembic migrations.

Tokens are never stored: ``Token.token_hash`` and ``RefreshToken.token_hash`` are SHA-256 digests
of the values (spec D3). Times are ``timestamptz`` with microseconds.
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (ARRAY, Boolean, DateTime, ForeignKey, Index, LargeBinary, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Tenant(Base):
    __tablename__ = 'tenant'
    uuid: Mapped[uuid.UUID] = uuid_pk()
    parent_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey('tenant.uuid'), nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    phone: Mapped[str | None] = mapped_column(Text)
    contact_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='SET NULL', use_alter=True))
    address: Mapped[dict | None] = mapped_column(JSONB)
    domain_names: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                    server_default='{}')
    default_authentication_method: Mapped[str] = mapped_column(Text, nullable=False,
                                                               server_default='native')
    created_at: Mapped[dt.datetime] = created_at_column()


class User(Base):
    __tablename__ = 'auth_user'
    __table_args__ = (
        Index('auth_user__uniq__lower_username', func.lower(text('username')), unique=True),
        Index('auth_user__idx__tenant_uuid', 'tenant_uuid'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    username: Mapped[str | None] = mapped_column(String(256))
    firstname: Mapped[str | None] = mapped_column(Text)
    lastname: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='true')
    purpose: Mapped[str] = mapped_column(Text, nullable=False, server_default='user')
    authentication_method: Mapped[str] = mapped_column(Text, nullable=False,
                                                       server_default='default')
    created_at: Mapped[dt.datetime] = created_at_column()


class Email(Base):
    __tablename__ = 'auth_email'
    __table_args__ = (
        Index('auth_email__uniq__lower_address', func.lower(text('address')), unique=True),
        Index('auth_email__idx__user_uuid', 'user_uuid'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    main: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')


class Policy(Base):
    __tablename__ = 'auth_policy'
    __table_args__ = (
        UniqueConstraint('tenant_uuid', 'name', name='auth_policy__uniq__tenant_name'),
        Index('auth_policy__uniq__tenant_lower_slug', 'tenant_uuid', func.lower(text('slug')),
              unique=True),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    acl: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default='{}')
    config_managed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')


class Group(Base):
    __tablename__ = 'auth_group'
    __table_args__ = (
        UniqueConstraint('tenant_uuid', 'name', name='auth_group__uniq__tenant_name'),
        Index('auth_group__uniq__tenant_lower_slug', 'tenant_uuid', func.lower(text('slug')),
              unique=True),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)
    system_managed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')


class UserPolicy(Base):
    __tablename__ = 'auth_user_policy'
    __table_args__ = (Index('auth_user_policy__idx__policy_uuid', 'policy_uuid'),)
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), primary_key=True)
    policy_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_policy.uuid', ondelete='CASCADE'), primary_key=True)


class UserGroup(Base):
    __tablename__ = 'auth_user_group'
    __table_args__ = (Index('auth_user_group__idx__group_uuid', 'group_uuid'),)
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), primary_key=True)
    group_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_group.uuid', ondelete='CASCADE'), primary_key=True)


class GroupPolicy(Base):
    __tablename__ = 'auth_group_policy'
    __table_args__ = (Index('auth_group_policy__idx__policy_uuid', 'policy_uuid'),)
    group_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_group.uuid', ondelete='CASCADE'), primary_key=True)
    policy_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_policy.uuid', ondelete='CASCADE'), primary_key=True)


class RefreshToken(Base):
    """A refresh token: its value is HMAC(token_secret, uuid); only its digest is stored."""
    __tablename__ = 'auth_refresh_token'
    __table_args__ = (
        # One per (user, client_id) in the Wazo API; one per grant when rotating (0017).
        Index('auth_refresh_token__uniq__user_client', 'user_uuid', 'client_id', unique=True,
              postgresql_where=text('NOT rotates')),
        Index('auth_refresh_token__idx__client_id', 'client_id'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    client_id: Mapped[str] = mapped_column(Text, nullable=False)
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), nullable=False)
    backend: Mapped[str] = mapped_column(Text, nullable=False, server_default='wazo_user')
    login: Mapped[str] = mapped_column(Text, nullable=False)
    user_agent: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    remote_addr: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    mobile: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    metadata_: Mapped[dict] = mapped_column('metadata', JSONB, nullable=False,
                                            server_default='{}')
    created_at: Mapped[dt.datetime] = created_at_column()
    # The user's tenant, set by a trigger at insert (migration 0011): the deleted event of a
    # refresh token removed by its user's cascade names it, though the user row is gone.
    tenant_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Rotated at each exchange (migration 0017): a public OAuth 2.0 client's. The value is
    # HMAC(token_secret, uuid, generation); the values rotated away are RetiredRefreshTokens.
    rotates: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    generation: Mapped[int] = mapped_column(nullable=False, server_default='0')


class RetiredRefreshToken(Base):
    """The digest of a value a rotating refresh token was rotated away from (migration 0018):
    presented again, it shows that the token was copied, and its grant is revoked."""
    __tablename__ = 'auth_refresh_token_retired'
    __table_args__ = (
        Index('auth_refresh_token_retired__idx__refresh_token', 'refresh_token_uuid'),
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    refresh_token_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_refresh_token.uuid', ondelete='CASCADE'), nullable=False)
    retired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                    server_default=func.now())


class Session(Base):
    __tablename__ = 'auth_session'
    __table_args__ = (
        Index('auth_session__idx__tenant_uuid', 'tenant_uuid'),
        Index('auth_session__idx__user_uuid', 'user_uuid'),
    )
    uuid: Mapped[uuid.UUID] = uuid_pk()
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    # The owner, when the token's auth_id is a user: deleting the user revokes its sessions
    # and tokens by cascade (spec D5), whichever path deletes it.
    user_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'))
    mobile: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default='false')
    created_at: Mapped[dt.datetime] = created_at_column()
    # The browser sign-in (OpenID Connect) it was issued through (migration 0007).
    signin_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_signin.uuid', ondelete='CASCADE', use_alter=True))
    # The purge announced auth_session_expire_soon for it (migration 0011): once per session.
    expire_soon_sent: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                                   server_default='false')


class Token(Base):
    """An access token, known only by the SHA-256 of its value."""
    __tablename__ = 'auth_token'
    __table_args__ = (
        Index('auth_token__idx__session_uuid', 'session_uuid'),
        Index('auth_token__idx__expires_at', 'expires_at'),
        Index('auth_token__idx__auth_id', 'auth_id'),
        Index('auth_token__idx__refresh_token_uuid', 'refresh_token_uuid'),
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    session_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_session.uuid', ondelete='CASCADE'), nullable=False)
    auth_id: Mapped[str] = mapped_column(Text, nullable=False)
    pbx_user_uuid: Mapped[str | None] = mapped_column(Text)
    xivo_uuid: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    acl: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default='{}')
    metadata_: Mapped[dict] = mapped_column('metadata', JSONB, nullable=False,
                                            server_default='{}')
    user_agent: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    remote_addr: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    refresh_token_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey('auth_refresh_token.uuid', ondelete='SET NULL'))
    # The OAuth 2.0 client the token was issued to (migration 0004); NULL for the Wazo API.
    client_id: Mapped[str | None] = mapped_column(Text)
    # The jti claim of a JWT access token (migration 0010), named in the revocation feed; the
    # row is keyed by the digest of the whole JWT string, as every token by its value.
    jti: Mapped[str | None] = mapped_column(Text)
    # The signing key of a JWT access token (migration 0014): its tokens go with it.
    signing_kid: Mapped[str | None] = mapped_column(
        ForeignKey('auth_signing_key.kid', ondelete='CASCADE'))


class LoginFailure(Base):
    """A failed-login counter (services/throttle.py): ``key`` names what it counts (a login,
    a login from an address, refresh tokens from an address), over a fixed window."""
    __tablename__ = 'auth_login_failure'
    __table_args__ = (Index('auth_login_failure__idx__window_start', 'window_start'),)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(nullable=False)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginKnownAddress(Base):
    """An address a login last succeeded from (lowered login): it may still try when the
    login is under a distributed attack."""
    __tablename__ = 'auth_login_known_address'
    __table_args__ = (
        Index('auth_login_known_address__idx__last_success', 'last_success'),)
    login: Mapped[str] = mapped_column(Text, primary_key=True)
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    last_success: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
