"""The rules of a user's fields (services/users.py): its authentication method, the status
fields self-service may not change, and the conflicts a write answers. No transaction."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict, InvalidData, Unauthorized, UnknownTenant
from ..logs import get_logger
from ..models import User

logger = get_logger(__name__)

# Without identity providers (LDAP, SAML: spec D7): a user's own password, or the tenant's
# default method (which is native).
USER_AUTHENTICATION_METHODS = ('native', 'default')


def authentication_method(body: dict[str, Any]) -> str:
    """The requested authentication method, else ``default`` for people and ``native`` for
    internal and external_api users."""
    method = check_authentication_method(body)
    if method is None:
        return 'default' if body['purpose'] == 'user' else 'native'
    return method


def check_authentication_method(body: dict[str, Any]) -> str | None:
    """The requested authentication method, if any; InvalidData (400) if it is none of ours.
    Needs no other field: an update checks it before looking the user up (§1.6)."""
    method = body.get('authentication_method')
    if method is not None and method not in USER_AUTHENTICATION_METHODS:
        raise InvalidData(f'Invalid authentication method {method}',
                          details={'authentication_method': method})
    return method


STATUS_FIELDS = ('purpose', 'enabled')


def status_kept(user: User, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the user's current purpose and enabled where omitted; Unauthorized if it
    asks to change them (issue 12: a self-service caller could lift its session limit)."""
    for name in STATUS_FIELDS:
        if name in body and body[name] != getattr(user, name):
            raise Unauthorized(details={'required_access': f'auth.users.{user.uuid}.update',
                                        'field': name})
    return {**body, **{name: getattr(user, name) for name in STATUS_FIELDS
                       if name not in body}}


def apply_fields(user: User, body: dict[str, Any], method: str) -> None:
    user.username = body['username']
    user.firstname = body['firstname']
    user.lastname = body['lastname']
    user.purpose = body['purpose']
    user.enabled = body['enabled']
    user.authentication_method = method


def login_conflict(field: str, login: str) -> Conflict:
    return Conflict(resource='users', details={field: {
        'constraint_id': 'unique', 'message': f'The login "{login}" is already used'}})


def uuid_conflict(user_uuid: uuid.UUID) -> Conflict:
    return Conflict(resource='users', details={'uuid': {
        'constraint_id': 'unique', 'message': f'The uuid "{user_uuid}" is already used'}})


def integrity_error(error: IntegrityError, user_uuid: uuid.UUID) -> Exception:
    """A violation our checks could not see coming: a concurrent write (the login lock makes
    login clashes impossible, not uuid clashes or a tenant deleted meanwhile)."""
    constraint = getattr(getattr(error.orig, 'diag', None), 'constraint_name', None) or ''
    if constraint == 'auth_user_pkey':
        return uuid_conflict(user_uuid)
    if constraint == 'auth_user_tenant_uuid_fkey':
        return UnknownTenant(details={})
    logger.warning('user %s: unexpected integrity error on %s', user_uuid, constraint)
    return Conflict(resource='users')
