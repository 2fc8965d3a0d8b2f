"""Full-access users for first start and for `wazo-like-auth bootstrap` (admin spec §6.2)."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import sessionmaker

from ..exceptions import Conflict, InvalidData
from ..logs import get_logger
from ..models import Policy, User, UserPolicy
from ..passwords import PasswordHasher
from ..repositories import locks
from ..repositories import policies as policy_repo
from ..repositories import sessions as session_repo
from ..repositories import tenants as tenant_repo
from ..repositories import users as user_repo
from ..usernames import MAX_USERNAME_LENGTH, username_error
from .policies import NAMES_LOCK

logger = get_logger(__name__)

ADMIN_POLICY_SLUG = 'wazo_default_master_user_policy'


class BootstrapService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher):
        self._sessions = sessions
        self._hasher = hasher

    def ensure_admin(self, username: str, password: str, purpose: str = 'internal') -> uuid.UUID:
        """Create or reset an enabled user of the top tenant holding the full-access policy.

        Idempotent: running it again with the same password changes nothing. A reset password
        revokes the user's sessions (spec D5). Raises InvalidData for a username no login can
        name (usernames.username_error: empty, too long, a NUL...) rather than announce an
        unusable full-access user, and for a password ``PasswordHasher.hash`` refuses (the
        configuration checks refuse both for the bootstrap user beforehand); Conflict when the
        name is already the login of a user of another tenant (a self-registered one, say: it
        would get full access) or of another user's address (the login would name that user).
        """
        error = username_error(username)
        if error:
            raise InvalidData(f'username: {error}',
                              details={'username': username[:MAX_USERNAME_LENGTH]})
        new_hash = self._hasher.hash(password)
        with self._sessions.begin() as db:
            user_repo.lock_logins(db)
            top = tenant_repo.top_tenant_uuid(db)
            policy = self._admin_policy(db, top)
            user = _top_tenant_user(db, username, top)
            if user is None:
                user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                            purpose=purpose, password_hash=new_hash, enabled=True)
                db.add(user)
                db.flush()
                # Like every user created in a tenant, it joins the tenant's all-users group.
                user_repo.join_group(db, user.uuid, tenant_repo.ensure_all_users_group(db, top))
                logger.info('bootstrap: created user %s', username)
            elif not self._hasher.verify(password, user.password_hash) or not user.enabled:
                user.password_hash = new_hash
                user.enabled = True
                session_repo.delete_of_user(db, user.uuid)
                logger.info('bootstrap: reset user %s', username)
            link = db.get(UserPolicy, (user.uuid, policy.uuid))
            if link is None:
                db.add(UserPolicy(user_uuid=user.uuid, policy_uuid=policy.uuid))
            return user.uuid

    def create_first_admin(self, username: str, password: str) -> bool:
        """``ensure_admin`` on a database that has no user yet (True); else nothing (False).
        The first start of an embedded database is told by its users, not by the credentials
        file: an operator deletes that file, as it asks, and the next start reset and
        re-enabled an 'admin' they had since disabled or given another password."""
        with self._sessions() as db:
            if user_repo.any_user(db):
                return False
        self.ensure_admin(username, password)
        return True

    @staticmethod
    def _admin_policy(db, top: uuid.UUID) -> Policy:
        """The top tenant's full-access policy, recreated if an administrator deleted it;
        Conflict when a policy of its name (in any case) grants less."""
        # Under the names lock and locked, as start-up reads the default policies: one the
        # API is deleting is waited for, then recreated (linking to it failed its foreign key),
        # and one the API is creating under this slug is waited for, then found.
        locks.hold_for_transaction(db, NAMES_LOCK)
        # In any case, as the unique index sees slugs: another case inserted beside it failed.
        policy = policy_repo.by_slug(db, top, ADMIN_POLICY_SLUG, ignore_case=True,
                                     for_update=True)
        if policy is not None and policy.acl != ['#']:
            # An administrator's policy of that name, since the original was deleted: linking
            # it made a "full access" user without full access, and making it full access
            # would give '#' to whoever else holds it.
            raise Conflict(f'policy {policy.slug} of the top tenant is not full access: '
                           'rename or delete it, then bootstrap again',
                           details={'uuid': str(policy.uuid)})
        if policy is None:
            policy = Policy(uuid=uuid.uuid4(), tenant_uuid=top, name=ADMIN_POLICY_SLUG,
                            slug=ADMIN_POLICY_SLUG, description='Full access', acl=['#'])
            db.add(policy)
            db.flush()
            logger.warning('bootstrap: recreated the full-access policy %s', ADMIN_POLICY_SLUG)
        return policy


def _top_tenant_user(db, username: str, top: uuid.UUID) -> User | None:
    """The top tenant's user ``username`` names, None when the name is free; Conflict when it
    is the login of anyone else (a user of another tenant, another user's address)."""
    user = user_repo.find_by_username(db, username)
    if (user is not None and user.tenant_uuid != top) or user_repo.login_taken(
            db, username, other_than=user.uuid if user is not None else None):
        raise Conflict(f'username: {username} is already the login of another user '
                       '(of another tenant, or an address of one): choose another',
                       details={'username': username})
    return user
