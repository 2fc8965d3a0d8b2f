"""Tenant administration (admin spec §2): thin resources over TenantService."""
from __future__ import annotations

from dataclasses import replace

from flask import request

from ..exceptions import InvalidListParam
from ..services.authorization import Authorizer
from ..services.grants import Grants
from ..services.listing import ListQuery
from ..services.tenants import TenantService
from .admin_schemas import TenantCreateSchema, TenantUpdateSchema
from .auth import ProtectedResource, required_acl
from .body import json_object
from .listing import list_query

MAX_UUIDS = 25


def _query() -> ListQuery:
    """List parameters of GET /tenants (§2.3); ``uuids`` is a repeated key."""
    query = list_query(sort_columns=('name', 'slug'), default_order='name',
                       filters=('uuid', 'name', 'slug', 'domain_name'))
    uuids = request.args.getlist('uuids')
    if len(uuids) > MAX_UUIDS:
        raise _invalid_uuids(f'Longer than maximum length {MAX_UUIDS}.', 'length')
    if any('\x00' in value for value in uuids):
        raise _invalid_uuids('Not a valid text string.', 'type')
    if uuids:
        query = replace(query, filters={**query.filters, 'uuids': uuids})
    return query


def _invalid_uuids(message: str, constraint_id: str) -> InvalidListParam:
    return InvalidListParam(f'Invalid value for uuids: {message}', details={
        'uuids': [{'message': message, 'constraint_id': constraint_id}]})


class TenantResource(ProtectedResource):
    """A protected resource served by the TenantService."""

    def __init__(self, *, authorizer: Authorizer, tenants: TenantService):
        super().__init__(authorizer=authorizer)
        self._tenants = tenants


class Tenants(TenantResource):
    @required_acl('auth.tenants.create')
    def post(self, auth):
        body = TenantCreateSchema().load(json_object())
        return self._tenants.create(auth.tenant_uuid, body)

    @required_acl('auth.tenants.read')
    def get(self, auth):
        # Always the whole subtree: wazo-auth ignores ``recurse`` here and clients rely on it.
        query = _query()
        return self._tenants.list(auth.visible_tenants(), query).as_dict()


class TenantItem(TenantResource):
    @required_acl('auth.tenants.{tenant_uuid}.read')
    def get(self, tenant_uuid, auth):
        return self._tenants.get(auth.tenant_uuid, tenant_uuid)

    @required_acl('auth.tenants.{tenant_uuid}.update')
    def put(self, tenant_uuid, auth):
        body = TenantUpdateSchema().load(json_object())
        return self._tenants.update(auth.tenant_uuid, tenant_uuid, body)

    @required_acl('auth.tenants.{tenant_uuid}.delete')
    def delete(self, tenant_uuid, auth):
        self._tenants.delete(auth.tenant_uuid, tenant_uuid, Grants.of(auth))
        return '', 204


class TenantDomains(TenantResource):
    @required_acl('auth.tenants.{tenant_uuid}.domains.read')
    def get(self, tenant_uuid, auth):
        return self._tenants.domains(auth.tenant_uuid, tenant_uuid)


class TenantParent(TenantResource):
    @required_acl('auth.tenants.{tenant_uuid}.parent.{parent_tenant_uuid}.update')
    def put(self, tenant_uuid, parent_tenant_uuid, auth):
        self._tenants.move(auth.tenant_uuid, tenant_uuid, parent_tenant_uuid)
        return '', 204
