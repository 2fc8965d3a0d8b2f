"""Delivery of the mail outbox (after commit, never inside a request).

Changes that need a mail write an ``auth_mail_outbox`` row in their own transaction, so a mail
exists exactly when its change committed; requests never talk to SMTP and answer at database
speed however slow or down the SMTP server is. Each process runs a sender thread, woken after a
local commit and every ``poll_interval``; a cycle proceeds only on the node holding a PostgreSQL
advisory lock, so a mail is sent by one node at a time.

A cycle takes the due rows in order. A *request* row (``password_reset_request``) is first
resolved into a mail by its resolver (finding the recipient is the sender's work, so the
request that asked does the same work whether or not the account exists). Then the mail is
rendered, with its token derived from the row's ``token_uuid``, and handed to SMTP:
- sent → the row is deleted;
- temporary failure (SMTP down, 4xx) → retried after ``retry_initial_delay`` doubling up to
  ``retry_max_delay``, until the token it carries expires;
- permanent failure (5xx for the recipient) or token gone (used, expired, voided by a newer
  reset mail, user or address deleted) → the row is dropped, and ``on_rejected`` may undo what
  the mail was for.
Log lines name the mail kind, row id and user uuid, never an address or a token.
"""
from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .. import mail_tokens
from ..logs import get_logger
from ..mail.messages import BadRecipient, MailComposer, clean_header_text
from ..mail.smtp import PermanentFailure, SmtpConnection, TemporaryFailure
from ..mail_settings import MailSettings
from ..repositories import locks
from ..repositories import mail as mail_repo

logger = get_logger(__name__)

MAIL_LOCK_ID = 0x7761_6d6c  # arbitrary, fixed: "waml"
BATCH = 20
Resolver = Callable[[Session, dict[str, Any]], tuple[str, str, dict[str, Any]] | None]


class MailSender:
    def __init__(self, *, engine: Engine, sessions: sessionmaker, settings: MailSettings,
                 composer: MailComposer, key: bytes, resolvers: dict[str, Resolver],
                 on_rejected: Callable[[Session, dict[str, Any]], None]):
        self._engine = engine
        self._sessions = sessions
        self._settings = settings
        self._composer = composer
        self._key = key
        self._resolvers = resolvers
        self._on_rejected = on_rejected
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        """A mail was committed: deliver it now rather than at the next poll."""
        self._wake.set()

    def run_once(self) -> int | None:
        """One cycle: mails handled, or None when another node holds the lock."""
        with self._engine.connect() as lock_conn:
            got = locks.try_hold(lock_conn, MAIL_LOCK_ID)
            lock_conn.commit()
            if not got:
                return None
            try:
                handled = self._drain()
                with self._sessions.begin() as db:
                    mail_repo.purge(db, self._settings.request_window)
                return handled
            finally:
                locks.release(lock_conn, MAIL_LOCK_ID)
                lock_conn.commit()

    def _drain(self) -> int:
        handled = 0
        while not self._stop.is_set():
            with self._sessions() as db:
                batch = [(m.id, m.kind, m.recipient, dict(m.context), m.attempts)
                         for m in mail_repo.due(db, BATCH)]
            for row in batch:
                self._handle(*row)
            handled += len(batch)
            if len(batch) < BATCH:
                return handled
        return handled

    def _handle(self, mail_id: int, kind: str, recipient: str | None,
                context: dict[str, Any], attempts: int) -> None:
        if kind in self._resolvers:
            resolved = self._resolve(mail_id, kind, context)
            if resolved is None:
                return
            kind, recipient, context = resolved
        try:
            message = self._message(kind, recipient, context)
            if message is None:
                logger.info('mail %d (%s) dropped: its token is used, expired or voided',
                            mail_id, kind)
                return self._finish(mail_id)
            with SmtpConnection(self._settings.smtp) as smtp:
                smtp.send(message)
        except TemporaryFailure as e:
            return self._retry(mail_id, kind, attempts, str(e))
        except (PermanentFailure, BadRecipient) as e:
            why = e if isinstance(e, PermanentFailure) else type(e).__name__  # no address
            logger.warning('mail %d (%s) for user %s refused for good (%s)', mail_id, kind,
                           context.get('user_uuid'), why)
            return self._finish(mail_id, rejected=context)
        except Exception as e:  # e.g. an operator template failing to render: later mails
            logger.error('mail %d (%s) failed', mail_id, kind, exc_info=True)  # still go
            return self._retry(mail_id, kind, attempts, type(e).__name__)
        logger.info('mail %d (%s) sent for user %s', mail_id, kind, context.get('user_uuid'))
        self._finish(mail_id)

    def _retry(self, mail_id: int, kind: str, attempts: int, error: str) -> None:
        delay = min(self._settings.retry_initial_delay * 2 ** attempts,
                    self._settings.retry_max_delay)
        logger.warning('mail %d (%s) not sent (%s): retry in %d s', mail_id, kind, error, delay)
        with self._sessions.begin() as db:
            mail_repo.postpone(db, mail_id, delay, error)

    def _resolve(self, mail_id: int, kind: str, context: dict[str, Any]):
        with self._sessions.begin() as db:
            resolved = self._resolvers[kind](db, context)
            if resolved is None:
                mail_repo.drop(db, mail_id)
            else:
                mail_repo.resolved(db, mail_id, *resolved)
        return resolved

    def _finish(self, mail_id: int, rejected: dict[str, Any] | None = None) -> None:
        with self._sessions.begin() as db:
            mail_repo.drop(db, mail_id)
            if rejected is not None:
                self._on_rejected(db, rejected)

    def _message(self, kind: str, recipient: str, context: dict[str, Any]):
        with self._sessions() as db:
            token = mail_repo.token_by_uuid(db, uuid.UUID(context['token_uuid']))
            if token is None:
                return None
            expires_at = token.expires_at
        value = mail_tokens.derive(self._key, token.uuid)
        link_template = (self._settings.password_reset_link if kind == 'password_reset'
                         else self._settings.email_confirmation_link)
        link = _fill(link_template, token=value, user_uuid=context['user_uuid'],
                     email_uuid=context.get('email_uuid', ''))
        username = clean_header_text(context.get('username') or '') or None  # one line
        expires = expires_at.astimezone(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')
        values = {'link': link, 'username': username, 'address': recipient,
                  'expires_at': expires}
        return self._composer.compose(kind, recipient, context.get('username'), values)

    def start(self) -> None:
        """Deliver in a daemon thread until stop()."""
        if self._thread is not None or not self._settings.enabled:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name='mail-sender', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the cycle: a commit during it wakes the next one
            try:
                self.run_once()
            except Exception:  # a failed cycle (database down...) must not kill the loop
                logger.warning('mail delivery cycle failed', exc_info=True)
            self._wake.wait(self._settings.poll_interval)


def _fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced by the URL-quoted value; any other brace is
    left as is (an operator's link template is not a format string)."""
    for name, value in values.items():
        template = template.replace('{' + name + '}', urllib.parse.quote(str(value), safe=''))
    return template
