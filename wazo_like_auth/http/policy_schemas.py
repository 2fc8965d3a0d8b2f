"""Request schemas of the policy and group endpoints (admin spec §3, §4).

Unknown keys are ignored, as are output-only ones (``uuid``, ``tenant_uuid``, ``read_only``;
``slug`` and ``shared`` on updates). ``Text`` refuses what PostgreSQL cannot store (NUL, lone
surrogates), so such input is a 400 and never a 500.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..acl import MAX_ENTRIES
from ..slugs import POLICY_SLUG_RE
from .admin_schemas import Text

MAX_ACCESS_LENGTH = 1024


def _slug() -> Text:
    return Text(validate=[validate.Length(1, 80), validate.Regexp(POLICY_SLUG_RE)],
                allow_none=True, load_default=None)


def _acl() -> fields.List:
    # Entries are not otherwise validated (admin spec §3.1): `!`, `*`, `#`, `me` are all fine.
    return fields.List(Text(validate=validate.Length(max=MAX_ACCESS_LENGTH)), load_default=list,
                       validate=validate.Length(max=MAX_ENTRIES))


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class PolicyUpdateSchema(_Lenient):
    """PUT /policies/{p}: a full replacement, omitted description and ACL reset (§3.6)."""
    name = Text(required=True, validate=validate.Length(1, 80))
    description = Text(allow_none=True, load_default=None)
    acl = _acl()


class PolicyCreateSchema(PolicyUpdateSchema):
    """POST /policies (§3.3); ``shared`` is fixed at creation."""
    slug = _slug()
    shared = fields.Boolean(load_default=False)


class AccessSchema(_Lenient):
    """The ``{access}`` path segment of /policies/{p}/acl/{access} (§3.8)."""
    access = Text(required=True, validate=validate.Length(1, MAX_ACCESS_LENGTH))


class GroupUpdateSchema(_Lenient):
    """PUT /groups/{g}: only the name changes (§4.4)."""
    name = Text(required=True, validate=validate.Length(1, 128))


class GroupCreateSchema(GroupUpdateSchema):
    """POST /groups (§4.2)."""
    slug = _slug()
