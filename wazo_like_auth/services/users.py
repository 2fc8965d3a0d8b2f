"""User administration (admin spec §1): users, their e-mail addresses, their password.

``scope`` is the caller's scoping tenant: a user outside its subtree answers 404 exactly like a
user that does not exist. ``scope=None`` (used only when the caller acts on itself) skips it.

Revocation (spec D5): disabling a user, deleting it or changing its password deletes all its
sessions and access tokens in the same transaction; deletion also drops its refresh tokens (a
foreign-key cascade). Logins (usernames and addresses) are unique case-insensitively across
both, in every tenant (§1.2); every write that adds a login holds the login lock.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import AuthenticationFailed, UnknownUser
from ..logs import get_logger
from ..models import User
from ..passwords import PasswordHasher
from ..repositories import groups as group_repo
from ..repositories import mail as mail_repo
from ..repositories import policies as policy_repo
from ..repositories import sessions as session_repo
from ..repositories import tenants as tenant_repo
from ..repositories import user_listing
from ..repositories import users as user_repo
from ..repositories.listing import paginate
from . import user_rules as rules
from .grants import Grants, ensure_may_become
from .listing import ListQuery, Page
from .login_trail import LoginAttempt
from .password_reset import PURPOSE as RESET_PURPOSE
from .throttle import LoginThrottle
from .user_views import email_view, user_view

logger = get_logger(__name__)

class UserService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 throttle: LoginThrottle):
        self._sessions = sessions
        self._hasher = hasher
        self._throttle = throttle

    def create(self, tenant_uuid: uuid.UUID, body: dict[str, Any],
               grants: Grants) -> dict[str, Any]:
        """Create a user in ``tenant_uuid``, member of its all-users group (§1.3). Joining
        that group is a grant like any other (§0.6): the caller, who chooses the password,
        could sign in as the user, so it must be allowed to hand out what the group's
        policies give (401 otherwise; a caller of that tenant has them already)."""
        method = rules.authentication_method(body)
        password = body['password']
        password_hash = self._hasher.hash(password) if password is not None else None
        user_uuid = body.get('uuid') or uuid.uuid4()
        try:
            with self._sessions.begin() as db:
                user_repo.lock_logins(db)
                _check_login(db, 'username', body['username'])
                _check_login(db, 'email_address', body['email_address'])
                if user_repo.get(db, user_uuid) is not None:
                    raise rules.uuid_conflict(user_uuid)
                user = User(uuid=user_uuid, tenant_uuid=tenant_uuid, password_hash=password_hash)
                rules.apply_fields(user, body, method)
                db.add(user)
                db.flush()
                emails = []
                if body['email_address'] is not None:
                    emails = user_repo.replace_emails(db, user_uuid, [{
                        'address': body['email_address'], 'main': True, 'confirmed': True}])
                group = tenant_repo.ensure_all_users_group(db, tenant_uuid)
                grants.ensure_may_add(group_repo.acl_of(db, group), shown=lambda: (
                    group_repo.acl_shown(db, group, tenant_repo.descendants(db, tenant_uuid))))
                user_repo.join_group(db, user_uuid, group)
                view = user_view(user, emails)
        except IntegrityError as error:
            raise rules.integrity_error(error, user_uuid) from None
        logger.info('user %s created in tenant %s', user_uuid, tenant_uuid)
        return view

    def list(self, scoping: uuid.UUID, tenants: list[uuid.UUID], query: ListQuery, *,
             reach: list[uuid.UUID]) -> Page:
        """The users of ``tenants`` (§1.4); the policy filters name only policies visible from
        the caller's ``scoping`` tenant and ``reach`` (its visible tenants, §3.2)."""
        with self._sessions() as db:
            columns = user_listing.LIST_COLUMNS
            if query.filters.keys() & user_listing.POLICY_FILTERS:  # else no viewpoint to read
                visible = policy_repo.visible(policy_repo.viewpoint(db, scoping, reach))
                columns = {**columns, **user_listing.policy_columns(visible)}
            total, filtered, rows = paginate(db, user_repo.listing(tenants), query,
                                             columns=columns,
                                             searchable=user_listing.LIST_SEARCHABLE)
            users = [row[0] for row in rows]
            emails = user_repo.emails_of(db, [user.uuid for user in users])
            return Page(total, filtered, [user_view(user, emails[user.uuid]) for user in users])

    def get(self, scope: uuid.UUID, user_uuid: uuid.UUID) -> dict[str, Any]:
        with self._sessions() as db:
            return _view(db, _visible(db, scope, user_uuid))

    def update(self, scope: uuid.UUID, user_uuid: uuid.UUID, body: dict[str, Any], *,
               self_service: bool = False,
               ensure_grantable: Callable[..., None] | None = None) -> dict[str, Any]:
        """Replace the user's fields (§1.6: omitted ones take their defaults); a disabled user
        loses its sessions and access tokens at once.

        ``self_service``: the caller holds the update ACL only through ``me``. It may not
        change ``purpose`` or ``enabled`` (Unauthorized, 401); omitted, they keep their values.
        ``ensure_grantable`` (another user's caller: Grants.ensure_may_add) is given the
        user's ACL when a disabled user is enabled: that hands it its access back.
        An invalid ``authentication_method`` is a 400 before an unknown user's 404 (§1.6).
        """
        rules.check_authentication_method(body)
        try:
            with self._sessions.begin() as db:
                user_repo.lock_logins(db)
                user = _visible(db, scope, user_uuid, lock=True)
                if self_service:
                    body = rules.status_kept(user, body)
                if ensure_grantable and body['enabled'] and not user.enabled:
                    ensure_may_become(ensure_grantable, db, user_uuid,
                                      tenant_repo.descendants(db, scope))
                method = rules.authentication_method(body)
                _check_login(db, 'username', body['username'], other_than=user_uuid)
                rules.apply_fields(user, body, method)
                revoked = [] if user.enabled else session_repo.delete_of_user(db, user_uuid)
                db.flush()
                view = _view(db, user)
        except IntegrityError as error:
            raise rules.integrity_error(error, user_uuid) from None
        logger.info('user %s updated%s', user_uuid,
                    f', {len(revoked)} sessions revoked' if revoked else '')
        return view

    def delete(self, scope: uuid.UUID, user_uuid: uuid.UUID) -> None:
        """Delete a user with its sessions, access and refresh tokens (§1.7, D5)."""
        with self._sessions.begin() as db:
            _visible(db, scope, user_uuid, lock=True)
            revoked = session_repo.delete_of_user(db, user_uuid)
            user_repo.delete(db, user_uuid)
        logger.info('user %s deleted, %d sessions revoked', user_uuid, len(revoked))

    def change_password(self, scope: uuid.UUID | None, user_uuid: uuid.UUID,
                        old_password: str, new_password: str, address: str = '',
                        user_agent: str = '') -> None:
        """Set a new password if ``old_password`` logs the user in (§1.8).

        The old password is checked as a login would check it: the user's login (its username,
        else its main confirmed address) must resolve to this enabled user. Any failure is
        AuthenticationFailed. A wrong ``old_password`` is a failed login of the user from
        ``address`` (with ``user_agent``), under the login throttle: TooManyAttempts (429) once
        over budget, before any bcrypt. bcrypt runs with no database connection held.
        """
        with self._sessions() as db:
            user = _visible(db, scope, user_uuid)
            current = _login_hash(db, user)
        self._hasher.ensure_hashable(new_password)  # a 400 before the check is counted
        attempt = LoginAttempt(login=None, address=address, endpoint='users_password',
                               user_agent=user_agent)
        self._throttle.check_user(user_uuid, attempt)
        new_hash = self._hasher.hash(new_password)
        if not self._hasher.verify(old_password, current):
            self._throttle.user_failed(user_uuid, attempt)
            raise AuthenticationFailed()
        with self._sessions.begin() as db:
            user = db.get(User, user_uuid, with_for_update=True)
            # Changed meanwhile (disabled, deleted, another new password): start again.
            if user is None or not user.enabled or user.password_hash != current:
                self._throttle.user_landed(user_uuid, address)
                raise AuthenticationFailed()
            user.password_hash = new_hash
            revoked = session_repo.delete_of_user(db, user_uuid)
        self._throttle.user_succeeded(user_uuid, address)
        logger.info('user %s changed its password, %d sessions revoked', user_uuid, len(revoked))

    def replace_emails(self, scope: uuid.UUID | None, user_uuid: uuid.UUID,
                       items: list[dict[str, Any]],
                       ensure_grantable: Callable[..., None] | None = None
                       ) -> list[dict[str, Any]]:
        """Make ``items`` the user's e-mail addresses (§1.9); returns them.

        ``ensure_grantable`` (another user's caller: Grants.ensure_may_add) is given the
        user's ACL when ``items`` add an address or confirm one not confirmed yet: a new
        address receives the confirmation link, a confirmed one the password resets, so
        handing either to someone is handing over the user. Links already mailed to an address
        removed or un-confirmed are voided (``_void_lost_reset_links``)."""
        try:
            with self._sessions.begin() as db:
                user_repo.lock_logins(db)
                for item in items:
                    _check_login(db, 'email_address', item['address'], other_than=user_uuid)
                _visible(db, scope, user_uuid, lock=True)
                current = user_repo.emails_of(db, [user_uuid])[user_uuid]
                if ensure_grantable and _hands_over(current, items):
                    ensure_may_become(ensure_grantable, db, user_uuid,
                                      tenant_repo.descendants(db, scope))
                before = {e.uuid: e.confirmed for e in current}
                after = user_repo.replace_emails(db, user_uuid, items)
                _void_lost_reset_links(db, user_uuid, before, {e.uuid: e.confirmed for e in after})
                view = [email_view(e) for e in after]
        except IntegrityError as error:
            raise rules.integrity_error(error, user_uuid) from None
        logger.info('user %s has %d e-mail addresses', user_uuid, len(items))
        return view


def _void_lost_reset_links(db: Session, user_uuid: uuid.UUID, before: dict[uuid.UUID, bool],
                           after: dict[uuid.UUID, bool]) -> None:
    """Void the reset links mailed to an address the user no longer has confirmed: whoever
    still reads a replaced mailbox must not take the account over. A removed address's links
    (reset and confirmation) go by foreign-key cascade; an address un-confirmed keeps its
    confirmation link. Reset tokens that name no address (issued before tokens recorded it)
    may have gone to any removed address: they are voided when one is."""
    for email_uuid, confirmed in before.items():
        if confirmed and email_uuid in after and not after[email_uuid]:
            mail_repo.delete_tokens(db, RESET_PURPOSE, email_uuid=email_uuid)
    if before.keys() - after.keys():
        mail_repo.delete_tokens(db, RESET_PURPOSE, user_uuid=user_uuid, unaddressed=True)


def _hands_over(current: list, items: list[dict[str, Any]]) -> bool:
    """Whether ``items`` add an address to those ``current`` holds, or confirm one of them
    that is unconfirmed."""
    confirmed = {e.address: e.confirmed for e in current}
    return any(item['address'] not in confirmed
               or (item.get('confirmed') and not confirmed[item['address']]) for item in items)


def _visible(db: Session, scope: uuid.UUID | None, user_uuid: uuid.UUID,
             lock: bool = False) -> User:
    user = db.get(User, user_uuid, with_for_update=lock)
    if user is None or (scope is not None
                        and not tenant_repo.is_subtenant(db, user.tenant_uuid, scope)):
        raise UnknownUser(f'No such user: "{user_uuid}"', details={'uuid': str(user_uuid)})
    return user


def _view(db: Session, user: User) -> dict[str, Any]:
    return user_view(user, user_repo.emails_of(db, [user.uuid])[user.uuid])


def _login_hash(db: Session, user: User) -> str | None:
    """The password hash a login with the user's own login would check, or None."""
    if user.username:
        login = user.username
    else:
        emails = user_repo.emails_of(db, [user.uuid])[user.uuid]
        login = next((e.address for e in emails if e.main and e.confirmed), None)
    found = user_repo.find_enabled_by_login(db, login) if login else None
    return found.password_hash if found is not None and found.uuid == user.uuid else None


def _check_login(db: Session, field: str, login: str | None,
                 other_than: uuid.UUID | None = None) -> None:
    if login is not None and user_repo.login_taken(db, login, other_than):
        raise rules.login_conflict(field, login)
