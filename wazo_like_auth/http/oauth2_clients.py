"""OAuth 2.0 client administration (/clients), in the admin API's style: 200 on creation
(admin spec quirk 1), the envelope for errors, list parameters, tenant scoping by Wazo-Tenant.

The client secret appears in the answers of POST /clients and POST /clients/{uuid}/secret only.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from ..oauth2.clients import client_id_error, redirect_uris_error
from ..oauth2.jwt_access_tokens import FORMATS, audience_error, audience_list
from ..services.authorization import Authorizer
from ..services.clients import ClientService
from ..services.grants import Grants
from ..services.listing import ListQuery
from .auth import ProtectedResource, required_acl
from .body import json_object
from .listing import list_query
from .tokens import NO_STORE

_ACL_ENTRY = fields.String(validate=[validate.Length(1, 1024), validate.Regexp('^[^\x00]*$')])


class Audience(fields.Field):
    """``access_token_audience``: a string or a list of strings, loaded as a list."""

    def _deserialize(self, value, attr, data, **kwargs):
        error = audience_error(value)
        if error:
            raise ValidationError(error)
        return audience_list(value)


class ClientSchema(Schema):
    """Body of POST and PUT /clients[/{uuid}]; ``client_id`` and ``public`` are read only at
    creation. Unknown keys are ignored, as everywhere in the admin API."""

    class Meta:
        unknown = EXCLUDE

    client_id = fields.String()
    name = fields.String(load_default='', validate=[validate.Length(max=256),
                                                    validate.Regexp('^[^\x00]*$')])
    public = fields.Boolean(load_default=False)
    # Omitted: the defaults of oauth2.settings.default_grant_types for the client's type.
    grant_types = fields.List(fields.String(), load_default=None)
    acl = fields.List(_ACL_ENTRY, load_default=list, validate=validate.Length(max=1000))
    policies = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=100))
    # The authorization code flow (OpenID Connect): exact-match lists, consent screen.
    redirect_uris = fields.List(fields.String(), load_default=list)
    post_logout_redirect_uris = fields.List(fields.String(), load_default=list)
    require_consent = fields.Boolean(load_default=False)
    # RFC 9068 JWT access tokens for this client's grants; their aud (default: the issuer).
    access_token_format = fields.String(load_default='opaque',
                                        validate=validate.OneOf(FORMATS))
    access_token_audience = Audience(load_default=list)

    @validates('redirect_uris')
    def _redirect_uris(self, value, **kwargs):
        error = redirect_uris_error(value)
        if error:
            raise ValidationError(error)

    @validates('post_logout_redirect_uris')
    def _post_logout_redirect_uris(self, value, **kwargs):
        error = redirect_uris_error(value)
        if error:
            raise ValidationError(error)

    @validates('client_id')
    def _client_id(self, value, **kwargs):
        error = client_id_error(value)
        if error:
            raise ValidationError(error)


def _query() -> ListQuery:
    return list_query(sort_columns=('client_id', 'name', 'public', 'created_at'),
                      default_order='client_id', filters=('client_id', 'public', 'uuid'))


class ClientResource(ProtectedResource):
    """A protected resource served by the ClientService."""

    def __init__(self, *, authorizer: Authorizer, clients: ClientService):
        super().__init__(authorizer=authorizer)
        self._clients = clients


class Clients(ClientResource):
    @required_acl('auth.clients.read')
    def get(self, auth):
        query = _query()
        return self._clients.list(auth.visible_tenants(query.recurse), query,
                                  reach=auth.visible_tenants()).as_dict()

    @required_acl('auth.clients.create')
    def post(self, auth):
        body = ClientSchema().load(json_object())
        grants = Grants.of(auth)
        return self._clients.create(auth.tenant_uuid, body, auth.visible_tenants(),
                                    grants.ensure_may_add), 200, NO_STORE  # carries the secret


class ClientItem(ClientResource):
    @required_acl('auth.clients.{client_uuid}.read')
    def get(self, client_uuid, auth):
        return self._clients.get(auth.visible_tenants(), client_uuid), 200

    @required_acl('auth.clients.{client_uuid}.update')
    def put(self, client_uuid, auth):
        body = ClientSchema().load(json_object())
        return self._clients.update(auth.visible_tenants(), client_uuid, body,
                                    Grants.of(auth)), 200

    @required_acl('auth.clients.{client_uuid}.delete')
    def delete(self, client_uuid, auth):
        self._clients.delete(auth.visible_tenants(), client_uuid)
        return '', 204


class ClientSecret(ClientResource):
    @required_acl('auth.clients.{client_uuid}.update')
    def post(self, client_uuid, auth):
        return self._clients.rotate_secret(auth.visible_tenants(), client_uuid,
                                           Grants.of(auth).ensure_may_add), 200, NO_STORE
