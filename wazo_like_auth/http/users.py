"""User administration (admin spec §1.3–§1.8): thin resources over UserService."""
from __future__ import annotations

from flask import request

from ..services.authorization import Authorizer
from ..services.grants import Grants
from ..services.user_views import LIST_FILTERS, LIST_SORT
from ..services.user_rules import STATUS_FIELDS
from ..services.users import UserService
from .admin_schemas import PasswordChangeSchema, UserCreateSchema, UserUpdateSchema
from .auth import ProtectedResource, required_acl
from .body import json_object
from .client_facts import user_agent
from .listing import list_query


def reach(auth, user_uuid):
    """The scope a user must be in for the caller to act on it: none for the caller itself
    (a self-service call works whatever Wazo-Tenant says), else the scoping tenant."""
    return None if auth.user_uuid == user_uuid else auth.tenant_uuid


class UserResource(ProtectedResource):
    """A protected resource served by the UserService."""

    def __init__(self, *, authorizer: Authorizer, users: UserService):
        super().__init__(authorizer=authorizer)
        self._users = users


class Users(UserResource):
    @required_acl('auth.users.create')
    def post(self, auth):
        body = UserCreateSchema().load(json_object())
        return self._users.create(auth.tenant_uuid, body, Grants.of(auth))

    @required_acl('auth.users.read')
    def get(self, auth):
        query = list_query(sort_columns=LIST_SORT, default_order='username',
                           filters=LIST_FILTERS)
        return self._users.list(auth.tenant_uuid, auth.visible_tenants(query.recurse), query,
                                reach=auth.visible_tenants()).as_dict()


class UserItem(UserResource):
    @required_acl('auth.users.{user_uuid}.read')
    def get(self, user_uuid, auth):
        return self._users.get(auth.tenant_uuid, user_uuid)

    @required_acl('auth.users.{user_uuid}.update')
    def put(self, user_uuid, auth):
        given = json_object()
        body = UserUpdateSchema().load(given)
        grants = Grants.of(auth)
        # Through `me` only: purpose and enabled are not the caller's to change (issue 12).
        self_service = not grants.holds_beyond_me(f'auth.users.{user_uuid}.update')
        if self_service:
            body = {k: v for k, v in body.items() if k in given or k not in STATUS_FIELDS}
        other = None if auth.user_uuid == user_uuid else grants.ensure_may_add
        return self._users.update(auth.tenant_uuid, user_uuid, body, self_service=self_service,
                                  ensure_grantable=other)

    @required_acl('auth.users.{user_uuid}.delete')
    def delete(self, user_uuid, auth):
        self._users.delete(auth.tenant_uuid, user_uuid)
        return '', 204


class UserPassword(UserResource):
    @required_acl('auth.users.{user_uuid}.password.update')
    def put(self, user_uuid, auth):
        body = PasswordChangeSchema().load(json_object())
        self._users.change_password(reach(auth, user_uuid), user_uuid,
                                    body['old_password'], body['new_password'],
                                    address=request.remote_addr or '',
                                    user_agent=user_agent())
        return '', 204
