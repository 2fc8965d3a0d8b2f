"""Groups (admin spec §4.1–§4.4): /groups and /groups/{g}."""
from __future__ import annotations

from ..services import groups as service
from ..services.authorization import Authorizer
from ..services.grants import Grants
from ..services.groups import GroupService
from .auth import ProtectedResource, required_acl
from .body import json_object
from .listing import list_query
from .policy_schemas import GroupCreateSchema, GroupUpdateSchema


class GroupResource(ProtectedResource):
    """A protected resource served by the GroupService."""

    def __init__(self, *, authorizer: Authorizer, groups: GroupService):
        super().__init__(authorizer=authorizer)
        self._groups = groups


class Groups(GroupResource):
    @required_acl('auth.groups.create', body=lambda: GroupCreateSchema().load(json_object()))
    def post(self, auth, body):
        return self._groups.create(auth.tenant_uuid, body)

    @required_acl('auth.groups.read')
    def get(self, auth):
        query = list_query(sort_columns=service.SORT_COLUMNS, default_order='name',
                           filters=service.FILTERS)
        return self._groups.list(auth.tenant_uuid, auth.visible_tenants(query.recurse), query,
                                 reach=auth.visible_tenants()).as_dict()


class GroupItem(GroupResource):
    @required_acl('auth.groups.{group_uuid}.read')
    def get(self, group_uuid, auth):
        return self._groups.get(auth.visible_tenants(), group_uuid)

    @required_acl('auth.groups.{group_uuid}.update')
    def put(self, group_uuid, auth):
        tenants = auth.visible_tenants()
        self._groups.get(tenants, group_uuid)  # an unknown group is 404 before any 400 (§4.4)
        body = GroupUpdateSchema().load(json_object())
        return self._groups.rename(tenants, group_uuid, body)

    @required_acl('auth.groups.{group_uuid}.delete')
    def delete(self, group_uuid, auth):
        self._groups.delete(auth.visible_tenants(), group_uuid, Grants.of(auth))
        return '', 204
