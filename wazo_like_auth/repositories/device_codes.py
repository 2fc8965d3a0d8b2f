"""RFC 8628 device authorizations and the verification page's failure counters."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from ..mail_tokens import password_fingerprint
from ..oauth_models import DeviceCode
from . import locks


def insert_if_absent(db: DbSession, **columns: Any) -> bool:
    """Insert unless the user code (or device code) is taken; True if inserted."""
    statement = insert(DeviceCode).values(uuid=uuid.uuid4(), **columns) \
        .on_conflict_do_nothing().returning(DeviceCode.uuid)
    return db.execute(statement).first() is not None


def purge_expired(db: DbSession, before: dt.datetime) -> None:
    """Forget authorizations expired before ``before`` (until then, polls answer
    expired_token rather than invalid_grant)."""
    db.execute(delete(DeviceCode).where(DeviceCode.expires_at < before))


def for_poll(db: DbSession, digest: bytes, client_uuid: uuid.UUID) -> DeviceCode | None:
    """The client's authorization for a device code digest, locked: one poll at a time, so a
    code is redeemed once."""
    return db.scalars(select(DeviceCode).where(DeviceCode.device_code_hash == digest,
                                               DeviceCode.client_uuid == client_uuid)
                      .with_for_update()).first()


def pending_by_user_code(db: DbSession, user_code: str, now: dt.datetime,
                         *, for_update: bool = False) -> DeviceCode | None:
    query = select(DeviceCode).where(DeviceCode.user_code == user_code,
                                     DeviceCode.status == 'pending',
                                     DeviceCode.expires_at > now)
    return db.scalars(query.with_for_update() if for_update else query).first()


def pending_by_consent(db: DbSession, digest: bytes, now: dt.datetime) -> DeviceCode | None:
    return db.scalars(select(DeviceCode).where(DeviceCode.consent_hash == digest,
                                               DeviceCode.status == 'pending',
                                               DeviceCode.expires_at > now)
                      .with_for_update()).first()


_FAILURES = text("""
SELECT failures FROM auth_device_attempt
WHERE address = :address AND window_start > now() - make_interval(secs => :window)
""")

# A fixed window opened by the first failure; a failure after it opens a new one.
_RECORD_FAILURE = text("""
INSERT INTO auth_device_attempt AS a (address, failures, window_start)
VALUES (:address, 1, now())
ON CONFLICT (address) DO UPDATE SET
    failures = CASE WHEN a.window_start > now() - make_interval(secs => :window)
                    THEN a.failures + 1 ELSE 1 END,
    window_start = CASE WHEN a.window_start > now() - make_interval(secs => :window)
                        THEN a.window_start ELSE now() END
""")

_PURGE_FAILURES = text("""
DELETE FROM auth_device_attempt WHERE window_start < now() - make_interval(secs => :window)
""")


def lock_guesser(db: DbSession, address: str) -> None:
    """Hold, until the transaction ends, the lock of one address's verification attempts
    (repositories.locks)."""
    locks.hold_keyed_for_transaction(db, locks.DEVICE_GUESSES, address)


def failures(db: DbSession, address: str, window: int) -> int:
    return db.execute(_FAILURES, {'address': address, 'window': window}).scalar() or 0


def record_failure(db: DbSession, address: str, window: int) -> None:
    db.execute(_PURGE_FAILURES, {'window': window})
    db.execute(_RECORD_FAILURE, {'address': address, 'window': window})


def carry_password_fingerprint(db: DbSession, user_uuid: uuid.UUID, old_hash: str | None,
                               new_hash: str) -> None:
    """The user's authorizations signed in with ``old_hash`` now remember ``new_hash``: the
    same password stored anew (a stronger hash at login) is no password change."""
    db.execute(update(DeviceCode).where(
        or_(DeviceCode.user_uuid == user_uuid, DeviceCode.consent_user_uuid == user_uuid),
        DeviceCode.password_fingerprint == password_fingerprint(old_hash),
    ).values(password_fingerprint=password_fingerprint(new_hash)))
