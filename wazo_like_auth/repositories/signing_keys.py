"""JWS signing keys (auth_signing_key)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session as DbSession

from ..oidc_models import SigningKey

# Nodes creating the first key, or rotating, take turns (arbitrary fixed id: "wazokeys").
KEYS_LOCK = 0x7761_7a6f_6b65_7973


def lock(db: DbSession) -> None:
    db.execute(text('SELECT pg_advisory_xact_lock(:id)'), {'id': KEYS_LOCK})


def newest(db: DbSession) -> list[SigningKey]:
    """Keys still signing (retire_at NULL), newest first."""
    return list(db.scalars(select(SigningKey).where(SigningKey.retire_at.is_(None))
                           .order_by(SigningKey.created_at.desc(), SigningKey.kid)))


def published(db: DbSession, now: dt.datetime) -> list[SigningKey]:
    """Keys whose tokens may still be valid, newest first."""
    return list(db.scalars(select(SigningKey)
                           .where(or_(SigningKey.retire_at.is_(None), SigningKey.retire_at > now))
                           .order_by(SigningKey.created_at.desc(), SigningKey.kid)))


def add(db: DbSession, key: SigningKey) -> None:
    db.add(key)
    db.flush()


def retire_others(db: DbSession, kid: str, retire_at: dt.datetime) -> int:
    """Stop every key but ``kid`` from signing; they stay published until ``retire_at``."""
    return db.execute(update(SigningKey)
                      .where(SigningKey.kid != kid, SigningKey.retire_at.is_(None))
                      .values(retire_at=retire_at)).rowcount


def purge_retired(db: DbSession, now: dt.datetime) -> int:
    return db.execute(delete(SigningKey).where(SigningKey.retire_at <= now)).rowcount
