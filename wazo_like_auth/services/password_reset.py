"""Password reset (admin spec §1.13).

``request``: anyone may ask for a reset by username, e-mail or login. The answer is always the
same (204) and the request does the same work whether or not the account exists: it spends the
request budgets (keyed by the value asked for, never by whether it matched) and queues a
*request* row (without mail configured, it does nothing). Finding the account, choosing the
address and minting the token happen later in the mail sender (``resolve``): no status, body
or timing tells an account exists.
A reset is mailed only to a **confirmed** address of an **enabled** user, at most
``requests_per_user`` per window per user (silently: the asker learns nothing). Each new reset
mail voids the user's earlier reset links: only the newest one works.

``complete``: the link's token, or an access token holding
``auth.users.password.reset.{user_uuid}.create`` (what ``wazo-auth-cli user password`` sends)
whose tenant tree holds the user and that may hand out all the user holds (setting a password
is becoming its user: ``Grants.ensure_may_add``), sets (string) or removes (null) the
password, voids every reset token of the user and ends all its sessions. A reset token opens
nothing else, serves once, lives ``password_reset_expiration``, is bound to its user, and is
void once the password changed by any path (it remembers a digest of the password hash it was
issued against), and void once the address it was mailed to is removed, replaced or no longer
confirmed (``UserService.replace_emails`` deletes it, and the token checks its address when
used: a mail being resolved while the address is un-confirmed keeps its token). Until
completion the current password keeps working: a request changes nothing about the account.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import mail_tokens
from ..exceptions import Unauthorized, UnknownUser
from ..logs import get_logger
from ..mail_models import MailToken
from ..mail_settings import MailSettings
from ..models import Email, User
from ..networks import client_network
from ..passwords import PasswordHasher
from ..repositories import mail as mail_repo
from ..repositories import sessions as session_repo
from ..repositories import users as user_repo
from . import actors
from .authorization import Authorizer
from .grants import Grants, ensure_may_become
from .mail_budget import MailRequestBudget

logger = get_logger(__name__)

PURPOSE = 'password_reset'
REQUEST_KIND = 'password_reset_request'
FIELDS = ('username', 'email', 'login')


class PasswordResetService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 authorizer: Authorizer, budget: MailRequestBudget, settings: MailSettings,
                 key: bytes, notify: Callable[[], None]):
        self._sessions = sessions
        self._hasher = hasher
        self._authorizer = authorizer
        self._budget = budget
        self._settings = settings
        self._key = key
        self._notify = notify

    def request(self, field: str, value: str, client: str) -> None:
        """Queue a reset for the account ``field`` (username, email or login) names. Without
        mail, nothing: no mail sender runs then, and nothing would forget the counters."""
        s = self._settings
        if not s.enabled:
            return
        with self._sessions.begin() as db:
            self._budget.spend(db, ('reset-login', value, s.requests_per_address),
                               ('reset-client', client_network(client), s.requests_per_client))
            mail_repo.enqueue(db, REQUEST_KIND, None, {'field': field, 'login': value})
        self._notify()

    def resolve(self, db: Session, context: dict[str, Any]):
        """The mail for a queued request: (kind, recipient, context), or None to send
        nothing (no such enabled user with a confirmed address, or over the user's budget)."""
        user, email = _recipient(db, context['field'], context['login'])
        if user is None or email is None:
            return None
        if not self._budget.allows(db, 'reset-user', str(user.uuid),
                                   self._settings.requests_per_user):
            logger.info('password reset for user %s not sent: over its budget', user.uuid)
            return None
        # Only the newest link works: a leaked or forwarded older mail is harmless. Voiding
        # is bounded by the per-user budget above (counted apart from the tokens, which this
        # deletes), so nobody can keep voiding a victim's link more often than that.
        mail_repo.delete_tokens(db, PURPOSE, user_uuid=user.uuid)
        token_uuid = uuid.uuid4()
        # The token names the address it is mailed to: it dies with that address (removed,
        # replaced: a foreign-key cascade) or when the address is no longer confirmed.
        mail_repo.add_token(
            db, token_uuid=token_uuid, purpose=PURPOSE, user_uuid=user.uuid,
            email_uuid=email.uuid,
            token_hash=mail_tokens.digest(mail_tokens.derive(self._key, token_uuid)),
            lifetime=self._settings.password_reset_expiration,
            password_fingerprint=mail_tokens.password_fingerprint(user.password_hash))
        return PURPOSE, email.address, {'token_uuid': str(token_uuid), 'user_uuid': str(user.uuid),
                                  'username': user.username}

    def complete(self, user_uuid: uuid.UUID, token: str, password: str | None,
                 client: str) -> None:
        """Set (or remove, for None) the password of ``user_uuid``; see the module doc."""
        token_hash = mail_tokens.digest(token) if token else None
        by_mail = token_hash is not None and self._check_mail_token(token_hash, user_uuid)
        auth = None
        if not by_mail:  # raises Unauthorized for anything but an allowed access token
            auth = self._authorizer.authorize(
                token, f'auth.users.password.reset.{user_uuid}.create', None, client,
                subject=user_uuid)
            # An access token resets users of its own tenant tree only: a sub-tenant's
            # administrator must not set the password of a user above it (UnknownUser, 404).
            auth.user_scope(user_uuid)
        # bcrypt only for an authorized caller, and with no database connection held.
        new_hash = self._hasher.hash(password) if password is not None else None
        with self._sessions.begin() as db:
            user = db.get(User, user_uuid, with_for_update=True)
            if by_mail and not self._mail_token_valid(db, token_hash, user):
                raise _refused()
            if user is None:
                raise UnknownUser(f'No such user: "{user_uuid}"', details={'uuid': str(user_uuid)})
            if not by_mail:  # checked here, not by @required_acl: name it in the trail
                actors.name_in(db, **actors.of_token(auth.row, client))
                if auth.user_uuid != user_uuid:  # who sets a password logs in as its user
                    ensure_may_become(Grants.of(auth).ensure_may_add, db, user_uuid,
                                      auth.tenants)
            user.password_hash = new_hash
            mail_repo.delete_tokens(db, PURPOSE, user_uuid=user_uuid)
            revoked = session_repo.delete_of_user(db, user_uuid)
        logger.info('user %s password %s by reset (%s), %d sessions revoked', user_uuid,
                    'set' if password is not None else 'removed',
                    'mailed token' if by_mail else 'access token', len(revoked))

    def link_valid(self, user_uuid: uuid.UUID, token: str) -> bool:
        """True when ``token`` is a mailed reset token ``complete`` would accept now for
        ``user_uuid`` (live, unused, that user's, enabled user, password unchanged since).
        Changes nothing. Access tokens are not links: False."""
        token_hash = mail_tokens.digest(token)
        if token_hash is None:
            return False
        with self._sessions() as db:
            return self._mail_token_valid(db, token_hash, db.get(User, user_uuid))

    def _check_mail_token(self, token_hash: bytes, user_uuid: uuid.UUID) -> bool:
        """True for a live reset token of ``user_uuid``; a reset token of another user is
        refused here rather than tried as an access token."""
        with self._sessions() as db:
            found = mail_repo.live_token(db, token_hash, PURPOSE)
            if found is None:
                return False
            if found.user_uuid != user_uuid:
                raise _refused()
            return True

    @staticmethod
    def _mail_token_valid(db: Session, token_hash: bytes, user: User | None) -> bool:
        found = mail_repo.live_token(db, token_hash, PURPOSE, lock=True)
        return (found is not None and user is not None and user.enabled
                and found.user_uuid == user.uuid
                and found.password_fingerprint ==
                mail_tokens.password_fingerprint(user.password_hash)
                and _address_kept(db, found))


def _address_kept(db: Session, token: MailToken) -> bool:
    """True while the address ``token`` was mailed to is a confirmed address of its user.
    Tokens from before they named their address (None) die when any address goes."""
    if token.email_uuid is None:
        return True
    email = db.get(Email, token.email_uuid)
    return email is not None and email.confirmed and email.user_uuid == token.user_uuid


def _refused() -> Unauthorized:
    return Unauthorized(details={'reason': 'invalid_or_used_reset_token'})


def _recipient(db: Session, field: str, login: str) -> tuple[User | None, Email | None]:
    """The enabled user ``login`` names and the confirmed address to mail, if any."""
    if field == 'email' or (field == 'login' and '@' in login):
        row = user_repo.enabled_with_confirmed_email(db, login)
        if row is not None or field == 'email':
            return (row[0], row[1]) if row is not None else (None, None)
    user = (user_repo.find_by_username(db, login) if field == 'username'
            else user_repo.find_enabled_by_login(db, login))
    if user is None or not user.enabled:
        return None, None
    emails = [e for e in user_repo.emails_of(db, [user.uuid])[user.uuid] if e.confirmed]
    return user, (emails[0] if emails else None)  # main first, then by address
