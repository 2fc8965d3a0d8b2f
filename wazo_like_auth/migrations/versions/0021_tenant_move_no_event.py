"""A tenant moved under another parent is no ``auth_tenant_updated`` event (admin spec §2.7).

The event tells its consumers a tenant's ``{uuid, name}``; 0011 announced any change of the
row, so ``PUT /tenants/{t}/parent/{p}`` announced a name that had not changed. The event now
needs a change of something other than the parent.

Revision ID: 0021
Revises: 0020
"""
from alembic import op

revision = '0021'
down_revision = '0020'

_FUNCTION = """
CREATE OR REPLACE FUNCTION wazo_like_auth_tenant_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_tenant_updated', 'auth.tenants.' || n.uuid || '.updated', n.uuid, NULL, NULL,
        jsonb_build_object('uuid', n.uuid, 'name', n.name))
    FROM new_tenants n JOIN old_tenants o ON o.uuid = n.uuid
    WHERE {changed};
    RETURN NULL;
END;
$$;
"""


def upgrade():
    op.execute(_FUNCTION.format(
        changed="to_jsonb(o) - 'parent_uuid' IS DISTINCT FROM to_jsonb(n) - 'parent_uuid'"))


def downgrade():
    op.execute(_FUNCTION.format(changed='o IS DISTINCT FROM n'))
