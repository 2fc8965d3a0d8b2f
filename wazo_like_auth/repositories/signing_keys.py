"""JWS signing keys (auth_signing_key)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, func, not_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from ..models import Token
from ..oidc_models import RetiredSigningKey, SigningKey

# How long the revocation feed lists a key retired for a leak: far beyond the 5 minutes a
# verifier keeps certs (a verifier started later fetches certs without it).
RETIRED_LISTED = dt.timedelta(days=1)
# Nodes creating the first key, rotating or retiring take turns (fixed id: "wazokeys").
KEYS_LOCK = 0x7761_7a6f_6b65_7973


def lock(db: DbSession) -> None:
    db.execute(text('SELECT pg_advisory_xact_lock(:id)'), {'id': KEYS_LOCK})


def _live(now: dt.datetime):
    return or_(SigningKey.retire_at.is_(None), SigningKey.retire_at > now)


def _verifies(now: dt.datetime):
    """Live, or past its retirement while a JWT access token it signed has not expired (one
    asked for with an ``expiration`` longer than the default lifetime): verifiers still need
    it, and deleting it would delete that token (ON DELETE CASCADE) behind the caches' back."""
    return or_(_live(now), exists().where(Token.signing_kid == SigningKey.kid,
                                          Token.expires_at > now))


def signing(db: DbSession, now: dt.datetime) -> list[SigningKey]:
    """Published keys whose signing time has come, the latest to start first: the first
    readable one signs."""
    return list(db.scalars(select(SigningKey)
                           .where(SigningKey.signs_from <= now, _live(now))
                           .order_by(SigningKey.signs_from.desc(), SigningKey.created_at.desc(),
                                     SigningKey.kid)))


def published(db: DbSession, now: dt.datetime) -> list[SigningKey]:
    """Keys published on certs (whose tokens may still be valid, or that will sign), the
    latest to sign first."""
    return list(db.scalars(select(SigningKey).where(_verifies(now))
                           .order_by(SigningKey.signs_from.desc(), SigningKey.created_at.desc(),
                                     SigningKey.kid)))


def pending(db: DbSession, now: dt.datetime) -> list[SigningKey]:
    """Published keys that have not signed yet, the next to sign first."""
    return list(db.scalars(select(SigningKey)
                           .where(SigningKey.signs_from > now, _live(now))
                           .order_by(SigningKey.signs_from, SigningKey.created_at,
                                     SigningKey.kid)))


def published_key(db: DbSession, kid: str, now: dt.datetime) -> SigningKey | None:
    """Key ``kid`` if it is published (as ``published`` lists them), else None."""
    return db.scalars(select(SigningKey).where(SigningKey.kid == kid, _verifies(now))).first()


def add(db: DbSession, key: SigningKey) -> None:
    db.add(key)
    db.flush()


def retire_others(db: DbSession, kid: str, retire_at: dt.datetime) -> int:
    """Schedule every key but ``kid`` not yet scheduled to retire at ``retire_at``: they stop
    signing when ``kid`` starts and stay published until ``retire_at``."""
    return db.execute(update(SigningKey)
                      .where(SigningKey.kid != kid, SigningKey.retire_at.is_(None))
                      .values(retire_at=retire_at)).rowcount


def retire_others_by(db: DbSession, kid: str, retire_at: dt.datetime) -> int:
    """Every key but ``kid`` retires at ``retire_at`` at the latest (``kid`` signs now)."""
    return db.execute(update(SigningKey)
                      .where(SigningKey.kid != kid, or_(SigningKey.retire_at.is_(None),
                                                        SigningKey.retire_at > retire_at))
                      .values(retire_at=func.least(SigningKey.retire_at, retire_at))).rowcount
    # (PostgreSQL's LEAST ignores NULL)


def delete_pending(db: DbSession, now: dt.datetime, but: str) -> int:
    """Delete the keys but ``but`` that have not signed yet (no token to verify)."""
    return db.execute(delete(SigningKey).where(SigningKey.kid != but,
                                               SigningKey.signs_from > now)).rowcount


def start_before(db: DbSession, start: dt.datetime, but: str) -> int:
    """Keys but ``but`` that start signing at ``start`` or later start just before it: the
    key ``but``, starting at ``start``, then comes first in ``signing``'s order."""
    return db.execute(update(SigningKey).where(SigningKey.kid != but,
                                               SigningKey.signs_from >= start)
                      .values(signs_from=start - dt.timedelta(microseconds=1))).rowcount


def remove(db: DbSession, kid: str) -> None:
    db.execute(delete(SigningKey).where(SigningKey.kid == kid))


def record_retired(db: DbSession, kid: str, at: dt.datetime) -> None:
    """Remember that ``kid`` was retired (a leak) at ``at``, for the revocation feed."""
    db.execute(insert(RetiredSigningKey).values(kid=kid, retired_at=at).on_conflict_do_update(
        index_elements=[RetiredSigningKey.kid], set_={'retired_at': at}))


def retired_lately(db: DbSession) -> list[str]:
    """The kids retired (a leak) in the last RETIRED_LISTED, as of the database's clock
    (the revocation feed's entries are too)."""
    return list(db.scalars(select(RetiredSigningKey.kid).where(
        RetiredSigningKey.retired_at > func.now() - RETIRED_LISTED)
        .order_by(RetiredSigningKey.retired_at)))


def purge_retired(db: DbSession, now: dt.datetime) -> int:
    """Delete the retired keys no unexpired token needs any more."""
    return db.execute(delete(SigningKey).where(SigningKey.retire_at <= now,
                                               not_(_verifies(now)))).rowcount
