"""Links between users, groups and policies (admin spec §1.10, §1.11, §4.5, §4.6).

Users and groups in a path must be visible from the scoping tenant (its subtree), else 404
``unknown-user`` / ``unknown-group``. A policy in a path is found as in /policies/{p}: by uuid in
the subtree, by slug in the scoping tenant, plus the read-only ones every tenant sees. Linking
or unlinking a policy, and adding or removing a group member, needs every access it gives or
takes (§0.6, ``acl.refused_grant``).
"""
from __future__ import annotations

import uuid

from ..services import groups as group_service
from ..services import policies as policy_service
from ..services.grants import Grants
from .auth import required_acl
from .groups import GroupResource
from .listing import list_query
from .policies import PolicyResource


def _policy_tenants(auth, tenants: list[uuid.UUID], ref) -> list[uuid.UUID]:
    return tenants if isinstance(ref, uuid.UUID) else [auth.tenant_uuid]


class UserPolicies(PolicyResource):
    @required_acl('auth.users.{user_uuid}.policies.read')
    def get(self, user_uuid, auth):
        tenants = auth.user_scope(user_uuid)
        query = list_query(sort_columns=policy_service.USER_POLICY_SORT_COLUMNS,
                           default_order='name', filters=policy_service.USER_POLICY_FILTERS)
        return self._policies.list_of_user(auth.tenant_uuid, user_uuid, query,
                                           reach=tenants).as_dict()


class UserPolicy(PolicyResource):
    @required_acl('auth.users.{user_uuid}.policies.{policy}.create')
    def put(self, user_uuid, policy, auth):
        tenants = _policy_tenants(auth, auth.user_scope(user_uuid), policy)
        self._policies.attach_to_user(auth.tenant_uuid, tenants, user_uuid, policy,
                                      Grants.of(auth))
        return '', 204

    @required_acl('auth.users.{user_uuid}.policies.{policy}.delete')
    def delete(self, user_uuid, policy, auth):
        tenants = _policy_tenants(auth, auth.user_scope(user_uuid), policy)
        self._policies.detach_from_user(auth.tenant_uuid, tenants, user_uuid, policy,
                                        Grants.of(auth))
        return '', 204


class UserGroups(GroupResource):
    @required_acl('auth.users.{user_uuid}.groups.read')
    def get(self, user_uuid, auth):
        auth.user_scope(user_uuid)  # 404 before any list-parameter error (§1.11)
        query = list_query(sort_columns=group_service.USER_GROUP_SORT_COLUMNS,
                           default_order='name', filters=group_service.USER_GROUP_FILTERS)
        return self._groups.list_of_user(user_uuid, query).as_dict()


class GroupUsers(GroupResource):
    @required_acl('auth.groups.{group_uuid}.users.read')
    def get(self, group_uuid, auth):
        tenants = auth.visible_tenants()
        self._groups.get(tenants, group_uuid)  # 404 before any list-parameter error
        query = list_query(sort_columns=group_service.MEMBER_SORT_COLUMNS,
                           default_order='username', filters=group_service.MEMBER_FILTERS)
        return self._groups.list_members(tenants, group_uuid, query).as_dict()


class GroupUser(GroupResource):
    @required_acl('auth.groups.{group_uuid}.users.{user_uuid}.create')
    def put(self, group_uuid, user_uuid, auth):
        tenants = auth.user_scope(user_uuid)
        self._groups.add_member(tenants, group_uuid, user_uuid, Grants.of(auth))
        return '', 204

    @required_acl('auth.groups.{group_uuid}.users.{user_uuid}.delete')
    def delete(self, group_uuid, user_uuid, auth):
        self._groups.remove_member(auth.visible_tenants(), group_uuid, user_uuid,
                                   Grants.of(auth))
        return '', 204


class GroupPolicies(GroupResource):
    @required_acl('auth.groups.{group_uuid}.policies.read')
    def get(self, group_uuid, auth):
        tenants = auth.visible_tenants()
        self._groups.get(tenants, group_uuid)  # 404 before any list-parameter error (§4.6)
        query = list_query(sort_columns=group_service.POLICY_SORT_COLUMNS,
                           default_order='name', filters=group_service.POLICY_FILTERS)
        return self._groups.list_policies(auth.tenant_uuid, tenants, group_uuid,
                                          query).as_dict()


class GroupPolicy(GroupResource):
    @required_acl('auth.groups.{group_uuid}.policies.{policy}.create')
    def put(self, group_uuid, policy, auth):
        tenants = auth.visible_tenants()
        self._groups.attach_policy(auth.tenant_uuid, tenants,
                                   _policy_tenants(auth, tenants, policy), group_uuid, policy,
                                   Grants.of(auth))
        return '', 204

    @required_acl('auth.groups.{group_uuid}.policies.{policy}.delete')
    def delete(self, group_uuid, policy, auth):
        tenants = auth.visible_tenants()
        self._groups.detach_policy(auth.tenant_uuid, tenants,
                                   _policy_tenants(auth, tenants, policy), group_uuid, policy,
                                   Grants.of(auth))
        return '', 204
