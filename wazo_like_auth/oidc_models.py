"""Typed ORM models of OpenID Connect (migration 0007): signing keys, browser sign-ins,
authorization codes and consents. Beside models.py, on the same declarative base."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ARRAY, DateTime, ForeignKey, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class SigningKey(Base):
    """A JWS signing key; the private JWK only AES-GCM encrypted (oidc/keys.py)."""
    __tablename__ = 'auth_signing_key'
    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    alg: Mapped[str] = mapped_column(Text, nullable=False)
    public_jwk: Mapped[dict] = mapped_column(JSONB, nullable=False)
    private_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                    server_default=func.now())
    # When it starts signing (migration 0014): a rotated key is published before it signs.
    signs_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Set once a later key replaces it: published until then (the last token it signed
    # expires), deleted after. NULL while no later key is scheduled.
    retire_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RetiredSigningKey(Base):
    """A key taken off by ``keys retire`` (a leak): listed by the revocation feed for a day
    (migration 0020)."""
    __tablename__ = 'auth_retired_signing_key'
    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    retired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Signin(Base):
    """A browser sign-in session, known by the SHA-256 of its cookie value."""
    __tablename__ = 'auth_signin'
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cookie_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    session_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_session.uuid', ondelete='CASCADE'), nullable=False)
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), nullable=False)
    tenant_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('tenant.uuid', ondelete='CASCADE'), nullable=False)
    auth_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuthorizationCode(Base):
    """An RFC 6749 §4.1 authorization code, known by its SHA-256; single use."""
    __tablename__ = 'auth_authorization_code'
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_client.uuid', ondelete='CASCADE'), nullable=False)
    signin_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_signin.uuid', ondelete='CASCADE'), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False, server_default='')
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    issued_session_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    issued_refresh_uuid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Consent(Base):
    """The scopes a user granted a client that requires consent (revocable)."""
    __tablename__ = 'auth_consent'
    user_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_user.uuid', ondelete='CASCADE'), primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey('auth_client.uuid', ondelete='CASCADE'), primary_key=True)
    scope: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default='{}')
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                    server_default=func.now())
