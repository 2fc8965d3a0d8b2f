"""Request schemas of the tenant and user administration endpoints (admin spec §1, §2).

Unknown keys are ignored, as are output-only keys (``tenant_uuid`` on users, ``slug``,
``parent_uuid`` on tenant updates). Every string goes through ``Text``: PostgreSQL refuses NUL
characters and lone surrogates, and such input must be a 400, not a 500.
"""
from __future__ import annotations

import re

from marshmallow import (EXCLUDE, Schema, ValidationError, fields, post_load, validate,
                         validates_schema)

PURPOSES = ('user', 'internal', 'external_api')

# 2 or more dot-separated labels of letters, digits and inner hyphens; optional trailing dot.
DOMAIN_RE = re.compile(r'^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?'
                       r'(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+\.?\Z')
TENANT_SLUG_RE = re.compile(r'^[a-zA-Z0-9_]+\Z')
ADDRESS_FIELDS = ('line_1', 'line_2', 'city', 'state', 'country', 'zip_code')
# RFC 5321 bounds; also keeps the lower(address) index entry far below PostgreSQL's limit.
MAX_EMAIL_LENGTH = 320
# Each address is checked against every login under the global login lock: 20 000 addresses
# (a 1 MiB body) held that lock for 40 s and outlived the worker timeout.
MAX_EMAILS = 100


class Text(fields.String):
    """A string PostgreSQL can store: valid Unicode without NUL."""
    default_error_messages = {'unstorable': 'Not a valid text string.'}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode('utf-8')
        except UnicodeEncodeError:
            raise self.make_error('unstorable') from None
        if '\x00' in text:
            raise self.make_error('unstorable')
        return text


def _optional(*validators, **kwargs) -> Text:
    return Text(validate=list(validators), allow_none=True, load_default=None, **kwargs)


def email_field(**kwargs) -> Text:
    return Text(validate=[validate.Length(max=MAX_EMAIL_LENGTH), validate.Email()], **kwargs)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class UserUpdateSchema(_Lenient):
    """PUT /users/{u}: a full replacement, omitted fields take their defaults (§1.6).

    ``authentication_method`` stays absent when omitted: its default depends on ``purpose``.
    """
    username = _optional(validate.Length(1, 256))
    firstname = _optional()
    lastname = _optional()
    purpose = fields.String(validate=validate.OneOf(PURPOSES), load_default='user')
    authentication_method = Text()
    enabled = fields.Boolean(load_default=True)


class UserCreateSchema(UserUpdateSchema):
    """POST /users (§1.3)."""
    uuid = fields.UUID()
    password = _optional(validate.Length(min=1))
    email_address = email_field(allow_none=True, load_default=None)


class PasswordChangeSchema(_Lenient):
    """PUT /users/{u}/password (§1.8)."""
    old_password = Text(required=True, validate=validate.Length(min=1))
    new_password = Text(required=True, validate=validate.Length(min=1))


class EmailSchema(_Lenient):
    address = email_field(required=True)
    main = fields.Boolean(load_default=False)


class AdminEmailSchema(EmailSchema):
    confirmed = fields.Boolean(allow_none=True, load_default=None)


class _EmailsSchema(_Lenient):
    """Exactly one main address in a non-empty list; no address twice, whatever its case
    (the storage is unique on lower(address))."""

    @validates_schema
    def _one_main_no_duplicate(self, data, **kwargs):
        emails = data.get('emails') or []
        mains = sum(1 for item in emails if item['main'])
        if emails and mains > 1:
            raise ValidationError('Only one address should be main')
        if emails and mains == 0:
            raise ValidationError('At least one address should be main')
        addresses = [item['address'].lower() for item in emails]
        if len(set(addresses)) != len(addresses):
            raise ValidationError('The same address can only be used once')


class EmailsSchema(_EmailsSchema):
    """PUT /users/{u}/emails: ``confirmed`` is not the user's to set."""
    emails = fields.List(fields.Nested(EmailSchema), required=True,
                         validate=validate.Length(max=MAX_EMAILS))


class AdminEmailsSchema(_EmailsSchema):
    """PUT /admin/users/{u}/emails (§1.9)."""
    emails = fields.List(fields.Nested(AdminEmailSchema), required=True,
                         validate=validate.Length(max=MAX_EMAILS))


class AddressSchema(_Lenient):
    line_1 = _optional(validate.Length(1, 256))
    line_2 = _optional(validate.Length(1, 256))
    city = _optional(validate.Length(1, 128))
    state = _optional(validate.Length(1, 128))
    country = _optional(validate.Length(1, 128))
    zip_code = _optional(validate.Length(1, 16))


class TenantUpdateSchema(_Lenient):
    """PUT /tenants/{t}: a full replacement (§2.5). ``slug``, ``uuid``, ``parent_uuid`` are
    ignored."""
    name = _optional(validate.Length(1, 128))
    contact = fields.UUID(allow_none=True, load_default=None)
    phone = _optional(validate.Length(1, 32))
    default_authentication_method = Text(load_default='native')
    domain_names = fields.List(Text(validate=[validate.Length(max=253),
                                              validate.Regexp(DOMAIN_RE)]),
                               load_default=list)
    address = fields.Nested(AddressSchema, load_default=dict)

    @post_load
    def _normalise(self, data, **kwargs):
        data['domain_names'] = sorted(set(data['domain_names']))
        data['address'] = {name: data['address'].get(name) for name in ADDRESS_FIELDS}
        return data


class TenantCreateSchema(TenantUpdateSchema):
    """POST /tenants (§2.2). The parent is the scoping tenant, never a body key."""
    uuid = fields.UUID()
    slug = Text(validate=[validate.Length(1, 10), validate.Regexp(TENANT_SLUG_RE)],
                allow_none=True, load_default=None)
