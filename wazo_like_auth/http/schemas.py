"""Request schemas (marshmallow). Unknown keys are ignored, as in wazo-auth."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..config_values import MAX_TOKEN_LIFETIME


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class TokenRequestSchema(_Lenient):
    """Body of POST /token (wazo-token-api §1.1)."""
    backend = fields.String(load_default='wazo_user')
    expiration = fields.Integer(strict=False, validate=validate.Range(1, MAX_TOKEN_LIFETIME))
    access_type = fields.String(load_default='online',
                                validate=validate.OneOf(['online', 'offline']))
    # No control character: PostgreSQL text cannot hold a NUL (the lookup would fail with a
    # 500), and a refresh token under a client_id with a line break could never be deleted
    # (the /users/me/tokens/{client_id} routes do not match one).
    client_id = fields.String(validate=[validate.Length(1, 1024),
                                        validate.Regexp(r'^[^\x00-\x1f\x7f]*\Z')])
    refresh_token = fields.String(validate=validate.Length(1, 1024))
    saml_session_id = fields.String(validate=validate.Length(1, 1024))
    tenant_id = fields.String()
    domain_name = fields.String()

    @validates_schema
    def _cross_fields(self, data, **kwargs):
        offline = data.get('access_type') == 'offline'
        if offline and data.get('refresh_token'):
            raise ValidationError('cannot use the access_type offline with a refresh token')
        if offline and not data.get('client_id'):
            raise ValidationError('the access_type offline requires a client_id')
        if data.get('refresh_token') and not data.get('client_id'):
            raise ValidationError('a refresh_token requires a client_id')
        if data.get('tenant_id') and data.get('domain_name'):
            raise ValidationError('tenant_id and domain_name are mutually exclusive')
        if data.get('saml_session_id') and data.get('refresh_token'):
            raise ValidationError('saml_session_id and refresh_token are mutually exclusive')


class ScopesCheckSchema(_Lenient):
    """Body of POST /token/{t}/scopes/check; ``scopes`` is required (wazo-auth answers 500)."""
    scopes = fields.List(fields.String(validate=validate.Length(max=1024)), required=True,
                         validate=validate.Length(max=1000))
    tenant_uuid = fields.String(allow_none=True, load_default=None)
