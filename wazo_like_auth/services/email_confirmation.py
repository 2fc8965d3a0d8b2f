"""E-mail address confirmation (admin spec §1.9).

``request`` mails a confirmation link for one unconfirmed address of a user (404 unknown user
or address, 409 already confirmed, then 503 when mail is not configured, 429 over the budget
per user or per address). ``confirm`` marks the address confirmed, for the link's token (bound
to that address, single use, living ``email_confirmation_expiration``) or for an access token
holding ``auth.emails.{email_uuid}.confirm.update`` whose tenant tree holds the address's user
(other tenants' addresses are unknown to it: 404). Only a confirmed address is a login (token
service) or receives a password reset; confirming voids the address's other links.

A link's token works only for an enabled user whose password is the one it was issued
against (it remembers a digest of the password hash, as a reset token does): whoever added an
address to an account it had got into, and holds that address's link, cannot confirm it once
the owner has taken the account back by a password reset or change, which would hand the
intruder the owner's password resets again. wazo-auth's links, access tokens of the user, die
with the user's sessions at a password change alike.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import mail_tokens
from ..exceptions import Conflict, MailUnavailable, UnknownEmail, UnknownUser
from ..logs import get_logger
from ..mail_models import MailToken
from ..mail_settings import MailSettings
from ..models import Email, User
from ..repositories import mail as mail_repo
from ..repositories import tenants as tenant_repo
from ..repositories import users as user_repo
from . import actors
from .authorization import Authorizer
from .grants import Grants, ensure_may_become
from .mail_budget import MailRequestBudget

logger = get_logger(__name__)

PURPOSE = 'email_confirmation'


class EmailConfirmationService:
    def __init__(self, *, sessions: sessionmaker, authorizer: Authorizer,
                 budget: MailRequestBudget, settings: MailSettings, key: bytes,
                 notify: Callable[[], None]):
        self._sessions = sessions
        self._authorizer = authorizer
        self._budget = budget
        self._settings = settings
        self._key = key
        self._notify = notify

    def request(self, scope: uuid.UUID | None, user_uuid: uuid.UUID,
                email_uuid: uuid.UUID) -> None:
        """Mail a new confirmation link for ``email_uuid`` (§1.9). ``scope``: the caller's
        scoping tenant, outside whose subtree a user is unknown (404, nothing mailed); None
        when the caller asks for itself."""
        s = self._settings
        with self._sessions.begin() as db:
            user = db.get(User, user_uuid)
            if user is None or (scope is not None
                                and not tenant_repo.is_subtenant(db, user.tenant_uuid, scope)):
                raise UnknownUser(f'No such user: "{user_uuid}"',
                                  details={'uuid': str(user_uuid)}, resource='emails')
            email = db.get(Email, email_uuid)
            if email is None or email.user_uuid != user_uuid:
                raise UnknownEmail(f'No such email: "{email_uuid}"',
                                   details={'uuid': str(email_uuid)})
            if email.confirmed:
                raise Conflict(f'This email already confirmed: "{email_uuid}"',
                               details={'uuid': str(email_uuid)}, resource='emails')
            if not s.enabled:  # after the spec's 404 and 409: they do not depend on mail
                raise MailUnavailable()
            self._budget.spend(db, ('confirm-user', str(user_uuid), s.requests_per_user),
                               ('confirm-address', email.address, s.requests_per_address))
            self.issue(db, user, email)
        logger.info('confirmation mail queued for user %s address %s', user_uuid, email_uuid)
        self._notify()

    def issue(self, db: Session, user: User, email: Email,
              extra: dict[str, Any] | None = None) -> None:
        """Mint a confirmation token for ``email`` and queue its mail, in ``db``'s
        transaction (registration uses it too)."""
        token_uuid = uuid.uuid4()
        mail_repo.add_token(
            db, token_uuid=token_uuid, purpose=PURPOSE, user_uuid=user.uuid,
            email_uuid=email.uuid, lifetime=self._settings.email_confirmation_expiration,
            token_hash=mail_tokens.digest(mail_tokens.derive(self._key, token_uuid)),
            password_fingerprint=mail_tokens.password_fingerprint(user.password_hash))
        mail_repo.enqueue(db, PURPOSE, email.address, {
            'token_uuid': str(token_uuid), 'user_uuid': str(user.uuid),
            'email_uuid': str(email.uuid), 'username': user.username, **(extra or {})})

    def confirm(self, email_uuid: uuid.UUID, token: str, client: str) -> None:
        """Mark ``email_uuid`` confirmed; see the module doc for who may.

        One database connection at a time: a token that is not this address's link is
        checked as an access token before the transaction, not inside it (ten confirmations
        with random tokens, each holding a connection while asking the pool for a second,
        emptied the pool of the worker)."""
        token_hash = mail_tokens.digest(token) if token else None
        auth = None if self._is_link(token_hash, email_uuid) \
            else self._authorize(token, email_uuid, client)
        if not self._confirmed(email_uuid, token_hash, auth, client):
            # The link was used or voided since it was looked at: only as an access token
            # may this token confirm now.
            self._confirmed(email_uuid, token_hash, self._authorize(token, email_uuid, client),
                            client)

    def _is_link(self, token_hash: bytes | None, email_uuid: uuid.UUID) -> bool:
        if token_hash is None:
            return False
        with self._sessions() as db:
            found = mail_repo.live_token(db, token_hash, PURPOSE)
            return found is not None and found.email_uuid == email_uuid and _usable(
                found, db.get(User, found.user_uuid))

    def _authorize(self, token: str, email_uuid: uuid.UUID, client: str) -> Any:
        return self._authorizer.authorize(
            token, f'auth.emails.{email_uuid}.confirm.update', None, client)

    def _confirmed(self, email_uuid: uuid.UUID, token_hash: bytes | None, auth: Any,
                   client: str) -> bool:
        """Confirm for the link of ``token_hash`` (``auth`` None) or for ``auth``; False
        when the link no longer confirms (nothing done)."""
        with self._sessions.begin() as db:
            if auth is not None:  # checked here, not by @required_acl: name it in the trail
                actors.name_in(db, **actors.of_token(auth.row, client))
            owner = user_repo.owner_of_email(db, email_uuid)
            # The user first, as every change of a user and its addresses locks it: a
            # concurrent one (a rename, new addresses) commits wholly before or after this
            # one, so its auth_user_updated comes in commit order, and neither deadlocks.
            user = db.get(User, owner, with_for_update=True) if owner is not None else None
            if auth is None:
                found = mail_repo.live_token(db, token_hash, PURPOSE, lock=True)
                if found is None or found.email_uuid != email_uuid or not _usable(found, user):
                    return False
            email = db.get(Email, email_uuid, with_for_update=True)
            # An access token confirms addresses of its own tenant tree's users only.
            if email is None or (auth is not None and user_repo.tenant_of(
                    db, email.user_uuid) not in auth.tenants):
                raise UnknownEmail(f'No such email: "{email_uuid}"',
                                   details={'uuid': str(email_uuid)})
            if auth is not None and auth.user_uuid != email.user_uuid:
                # A confirmed address receives password resets.
                ensure_may_become(Grants.of(auth).ensure_may_add, db, email.user_uuid,
                                  auth.tenants)
            email.confirmed = True
            mail_repo.delete_tokens(db, PURPOSE, email_uuid=email_uuid)
        logger.info('address %s of user %s confirmed', email_uuid, email.user_uuid)
        return True


def _usable(token: MailToken, user: User | None) -> bool:
    """True when the user of ``token`` is enabled and its password unchanged since the token
    was issued (see the module doc). Tokens issued before they recorded it (None) are not
    checked: they expire within ``email_confirmation_expiration``."""
    return user is not None and user.enabled and (
        token.password_fingerprint is None
        or token.password_fingerprint == mail_tokens.password_fingerprint(user.password_hash))
