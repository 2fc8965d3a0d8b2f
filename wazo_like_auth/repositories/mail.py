"""Mail tokens, the mail outbox and mail-request counters. Functions take a session and never
commit; times come from the database clock (every node agrees on it)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from .. import mail_tokens
from ..mail_models import MailOutbox, MailToken

_HIT = text("""
INSERT INTO auth_mail_request (key, requests, window_start) VALUES (:key, 1, now())
ON CONFLICT (key) DO UPDATE SET
    requests = CASE WHEN auth_mail_request.window_start < now() - make_interval(secs => :window)
                    THEN 1 ELSE auth_mail_request.requests + 1 END,
    window_start = CASE WHEN auth_mail_request.window_start < now()
                                - make_interval(secs => :window)
                        THEN now() ELSE auth_mail_request.window_start END
RETURNING requests, window_start, now() AS now
""")


def hit(db: Session, key: str, window: int) -> tuple[int, dt.datetime, dt.datetime]:
    """Count one request for ``key``: (requests in the window, window start, now)."""
    row = db.execute(_HIT, {'key': key, 'window': window}).one()
    return row.requests, row.window_start, row.now


def add_token(db: Session, *, token_uuid: uuid.UUID, token_hash: bytes, purpose: str,
              user_uuid: uuid.UUID, lifetime: int, email_uuid: uuid.UUID | None = None,
              password_fingerprint: bytes | None = None) -> MailToken:
    token = MailToken(uuid=token_uuid, token_hash=token_hash, purpose=purpose,
                      user_uuid=user_uuid, email_uuid=email_uuid,
                      password_fingerprint=password_fingerprint,
                      expires_at=func.now() + dt.timedelta(seconds=lifetime))
    db.add(token)
    db.flush()
    return token


def live_token(db: Session, token_hash: bytes, purpose: str,
               lock: bool = False) -> MailToken | None:
    query = select(MailToken).where(MailToken.token_hash == token_hash,
                                    MailToken.purpose == purpose,
                                    MailToken.expires_at > func.now())
    return db.scalars(query.with_for_update() if lock else query).first()


def token_by_uuid(db: Session, token_uuid: uuid.UUID) -> MailToken | None:
    return db.scalars(select(MailToken).where(MailToken.uuid == token_uuid,
                                              MailToken.expires_at > func.now())).first()


def carry_password_fingerprint(db: Session, user_uuid: uuid.UUID, old_hash: str | None,
                               new_hash: str) -> None:
    """The user's tokens issued against ``old_hash`` now remember ``new_hash``: the same
    password stored anew (a stronger hash at login) is no password change."""
    db.execute(update(MailToken).where(
        MailToken.user_uuid == user_uuid,
        MailToken.password_fingerprint == mail_tokens.password_fingerprint(old_hash),
    ).values(password_fingerprint=mail_tokens.password_fingerprint(new_hash)))


def delete_tokens(db: Session, purpose: str, *, user_uuid: uuid.UUID | None = None,
                  email_uuid: uuid.UUID | None = None, unaddressed: bool = False) -> None:
    """Delete the tokens of ``purpose`` of the user, of the address, or (``unaddressed``) the
    user's that name no address."""
    query = delete(MailToken).where(MailToken.purpose == purpose)
    if user_uuid is not None:
        query = query.where(MailToken.user_uuid == user_uuid)
    if email_uuid is not None:
        query = query.where(MailToken.email_uuid == email_uuid)
    if unaddressed:
        query = query.where(MailToken.email_uuid.is_(None))
    db.execute(query)


def enqueue(db: Session, kind: str, recipient: str | None, context: dict[str, Any]) -> None:
    db.add(MailOutbox(kind=kind, recipient=recipient, context=context))
    db.flush()


def due(db: Session, limit: int) -> Sequence[MailOutbox]:
    return db.scalars(select(MailOutbox).where(MailOutbox.next_attempt_at <= func.now())
                      .order_by(MailOutbox.id).limit(limit)).all()


def resolved(db: Session, mail_id: int, kind: str, recipient: str,
             context: dict[str, Any]) -> None:
    db.execute(update(MailOutbox).where(MailOutbox.id == mail_id)
               .values(kind=kind, recipient=recipient, context=context))


def postpone(db: Session, mail_id: int, delay: float, error: str) -> None:
    db.execute(update(MailOutbox).where(MailOutbox.id == mail_id).values(
        attempts=MailOutbox.attempts + 1, last_error=error,
        next_attempt_at=func.now() + dt.timedelta(seconds=delay)))


def drop(db: Session, mail_id: int) -> None:
    db.execute(delete(MailOutbox).where(MailOutbox.id == mail_id))


def purge(db: Session, window: int) -> None:
    """Forget expired tokens and counters past their window."""
    db.execute(delete(MailToken).where(MailToken.expires_at < func.now()))
    db.execute(text('DELETE FROM auth_mail_request WHERE window_start < '
                    'now() - make_interval(secs => :w)'), {'w': window})
