"""Policies (admin spec §3): /policies, /policies/{p}, /policies/{p}/acl/{access}.

``{p}`` is a uuid or a slug (the ``policy`` path converter decides; a UUID-shaped segment is
always a uuid). The required ACL is built from whichever was used.
"""
from __future__ import annotations

import re
import uuid

from werkzeug.routing import BaseConverter

from ..services import policies as service
from ..services.authorization import Authorizer
from ..services.grants import Grants
from ..services.policies import PolicyService
from .auth import ProtectedResource, required_acl
from .body import json_object
from .listing import list_query
from .policy_schemas import AccessSchema, PolicyCreateSchema, PolicyUpdateSchema

_UUID_RE = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                      r'[0-9a-fA-F]{12}')


class PolicyRefConverter(BaseConverter):
    """One path segment naming a policy: a ``uuid.UUID`` (any case, read canonical) when it
    has the UUID form, else the slug as a string."""

    def to_python(self, value: str) -> uuid.UUID | str:
        return uuid.UUID(value) if _UUID_RE.fullmatch(value) else value

    def to_url(self, value) -> str:
        return str(value)


def lookup_tenants(auth, ref: service.Ref) -> list[uuid.UUID]:
    """T for finding a policy: by uuid the scoping tenant and its descendants, by slug the
    scoping tenant only (§3.5), so a parent's admin reaches a child's policy only by uuid."""
    return auth.visible_tenants(recurse=isinstance(ref, uuid.UUID))


class PolicyResource(ProtectedResource):
    """A protected resource served by the PolicyService."""

    def __init__(self, *, authorizer: Authorizer, policies: PolicyService):
        super().__init__(authorizer=authorizer)
        self._policies = policies


class Policies(PolicyResource):
    @required_acl('auth.policies.create', body=lambda: PolicyCreateSchema().load(json_object()))
    def post(self, auth, body):
        return self._policies.create(auth.tenant_uuid, body, Grants.of(auth))

    @required_acl('auth.policies.read')
    def get(self, auth):
        query = list_query(sort_columns=service.SORT_COLUMNS, default_order='name',
                           filters=service.FILTERS)
        tenants = auth.visible_tenants(query.recurse)
        return self._policies.list(auth.tenant_uuid, tenants, query,
                                   reach=auth.visible_tenants()).as_dict()


class PolicyItem(PolicyResource):
    @required_acl('auth.policies.{policy}.read')
    def get(self, policy, auth):
        return self._policies.get(auth.tenant_uuid, lookup_tenants(auth, policy), policy)

    @required_acl('auth.policies.{policy}.update')
    def put(self, policy, auth):
        tenants = lookup_tenants(auth, policy)
        if not isinstance(policy, uuid.UUID):  # an unknown slug is 404 before any 400 (§3.6)
            self._policies.get(auth.tenant_uuid, tenants, policy)
        body = PolicyUpdateSchema().load(json_object())
        return self._policies.update(auth.tenant_uuid, tenants, policy, body, Grants.of(auth))

    @required_acl('auth.policies.{policy}.delete')
    def delete(self, policy, auth):
        self._policies.delete(auth.tenant_uuid, lookup_tenants(auth, policy), policy,
                              Grants.of(auth))
        return '', 204


class PolicyAccess(PolicyResource):
    # The access itself is not part of the required ACL (§3.8).
    @required_acl('auth.policies.{policy}.update')
    def put(self, policy, access, auth):
        access = AccessSchema().load({'access': access})['access']
        self._policies.add_access(auth.tenant_uuid, lookup_tenants(auth, policy), policy,
                                  access, Grants.of(auth))
        return '', 204

    @required_acl('auth.policies.{policy}.update')
    def delete(self, policy, access, auth):
        access = AccessSchema().load({'access': access})['access']
        self._policies.remove_access(auth.tenant_uuid, lookup_tenants(auth, policy), policy,
                                     access, Grants.of(auth))
        return '', 204
