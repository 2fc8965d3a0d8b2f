"""Self-registration (admin spec §1.13), off unless ``registration.enabled``.

One transaction creates a tenant (child of the top tenant, named after the username, with its
all-users group), the user in it (purpose ``user``, method ``default``, enabled, its address
main and **unconfirmed**), the confirmation token and the confirmation mail in the outbox.
"Mail cannot be sent" has two cases, and neither leaves anything behind:
- mail is not configured: refused before anything is written (configuration validation already
  refuses ``registration.enabled`` without ``smtp.host``; the check here keeps it true);
- the SMTP server refuses the recipient for good (5xx) when the mail is delivered: ``forget``
  (the mail sender's rejection hook) deletes the registered user and its tenant, unless the
  address got confirmed meanwhile (by an administrator).
A temporary SMTP failure only delays the mail (outbox retries).
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import Conflict, MailUnavailable
from ..logs import get_logger
from ..mail_settings import MailSettings
from ..models import Tenant, User
from ..networks import client_network
from ..passwords import PasswordHasher
from ..repositories import sessions as session_repo
from ..repositories import tenants as tenant_repo
from ..repositories import users as user_repo
from .email_confirmation import EmailConfirmationService
from .mail_budget import MailRequestBudget
from .tenants import derived_slug
from .user_views import user_view

logger = get_logger(__name__)

TENANT_NAME_LENGTH = 128  # admin spec §2.2


class RegistrationService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 confirmations: EmailConfirmationService, budget: MailRequestBudget,
                 settings: MailSettings, notify):
        self._sessions = sessions
        self._hasher = hasher
        self._confirmations = confirmations
        self._budget = budget
        self._settings = settings
        self._notify = notify

    def register(self, body: dict[str, Any], client: str) -> dict[str, Any]:
        s = self._settings
        if not s.enabled:
            raise MailUnavailable()
        with self._sessions.begin() as db:  # bcrypt below only within the client's budget
            self._budget.spend(db, ('register-client', client_network(client),
                                    s.requests_per_client))
        password_hash = self._hasher.hash(body['password'])
        try:
            with self._sessions.begin() as db:
                self._budget.spend(db, ('confirm-address', body['email_address'],
                                        s.requests_per_address))
                view = self._create(db, body, password_hash)
        except IntegrityError:  # a concurrent write the locks did not cover
            raise Conflict(resource='users') from None
        self._notify()
        logger.info('user %s registered in new tenant %s', view['uuid'], view['tenant_uuid'])
        return view

    def _create(self, db: Session, body: dict[str, Any], password_hash: str) -> dict[str, Any]:
        user_repo.lock_logins(db)
        tenant_repo.lock_tree(db)
        for field, login in (('username', body['username']),
                             ('email_address', body['email_address'])):
            if user_repo.login_taken(db, login):
                raise Conflict(resource='users', details={field: {
                    'constraint_id': 'unique', 'message': f'The login "{login}" is already used'}})
        # Named after the username, within the tenant API's own limit (a username holds up to
        # 256 characters): the tenant can be sent back as it is (PUT /tenants/{t}).
        tenant = Tenant(uuid=uuid.uuid4(), parent_uuid=tenant_repo.top_tenant_uuid(db),
                        name=body['username'][:TENANT_NAME_LENGTH],
                        slug=derived_slug(db, body['username']))
        db.add(tenant)
        db.flush()
        group = tenant_repo.ensure_all_users_group(db, tenant.uuid)
        user = User(uuid=uuid.uuid4(), tenant_uuid=tenant.uuid, username=body['username'],
                    firstname=body['firstname'], lastname=body['lastname'],
                    password_hash=password_hash, enabled=True, purpose='user',
                    authentication_method='default')
        db.add(user)
        db.flush()
        emails = user_repo.replace_emails(db, user.uuid, [{
            'address': body['email_address'], 'main': True, 'confirmed': False}])
        user_repo.join_group(db, user.uuid, group)
        self._confirmations.issue(db, user, emails[0],
                                  extra={'registered_tenant_uuid': str(tenant.uuid)})
        return user_view(user, emails)

    @staticmethod
    def forget(db: Session, context: dict[str, Any]) -> None:
        """Undo a registration whose confirmation mail was refused for good."""
        tenant_uuid = context.get('registered_tenant_uuid')
        if not tenant_uuid:
            return
        user_uuid = uuid.UUID(context['user_uuid'])
        # Locked before counting, as a confirmation locks the user before confirming: one
        # committing meanwhile is counted (the registration kept), not deleted with the user.
        user = db.get(User, user_uuid, with_for_update=True)
        confirmed = user_repo.confirmed_email_count(db, user_uuid)
        if user is None or confirmed or str(user.tenant_uuid) != tenant_uuid:
            return
        tenant = user.tenant_uuid
        session_repo.delete_of_user(db, user_uuid)
        user_repo.delete(db, user_uuid)
        others = user_repo.count_in_tenant(db, tenant)
        if not others and not tenant_repo.has_children(db, tenant):
            tenant_repo.delete(db, tenant)
        logger.warning('registration of user %s undone: its confirmation mail was refused',
                       user_uuid)
