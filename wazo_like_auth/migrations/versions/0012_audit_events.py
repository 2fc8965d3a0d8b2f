"""Audit events: users, policies, groups, OAuth clients and the links between them.

Triggers write them (through ``wazo_like_auth_record_event``, migration 0009), so every path
emits them in the transaction of the change, whoever makes it: the API, registration, start-up
reconciliation, bootstrap, and foreign-key cascades. A tenant deleted with its users, groups,
policies and clients emits one ``..._deleted`` event for each of them, as it does for each of
their sessions: a consumer that mirrors users learns every deletion.

- ``auth_{user,policy,group,client}_{created,updated,deleted}`` on
  ``auth.{users,policies,groups,clients}.{uuid}.{created,updated,deleted}``. An update emits
  only when a column the event is about changed (a user's password hash, rehashed at login,
  is not one: password changes show as the ``auth_session_deleted`` they cause). No secret:
  a client's secret hash is never copied; its rotation emits ``auth_client_updated``.
- Links: ``auth_group_user_{added,removed}`` (``auth.groups.{group}.users.{user}.{verb}``),
  ``auth_user_policy_*`` (``auth.users.{user}.policies.{policy}.*``), ``auth_group_policy_*``
  and ``auth_client_policy_*`` likewise. A link that ends because its user, group, policy or
  client is deleted emits nothing: that object's ``..._deleted`` event says it.
- An index for the audit trail's ``login`` filter (failed logins of logins naming nobody).

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'

# noun, table, user uuid of the event, data, columns whose change is an update
ENTITIES = [
    ('user', 'auth_user', 'r.uuid',
     "'uuid', r.uuid, 'tenant_uuid', r.tenant_uuid, 'username', r.username, "
     "'purpose', r.purpose",
     'tenant_uuid, username, firstname, lastname, purpose, enabled, authentication_method'),
    ('policy', 'auth_policy', 'NULL',
     "'uuid', r.uuid, 'tenant_uuid', r.tenant_uuid, 'name', r.name, 'slug', r.slug, "
     "'acl', to_jsonb(r.acl), 'shared', r.shared",
     'tenant_uuid, name, slug, description, acl, shared, config_managed'),
    ('group', 'auth_group', 'NULL',
     "'uuid', r.uuid, 'tenant_uuid', r.tenant_uuid, 'name', r.name, 'slug', r.slug",
     'tenant_uuid, name, slug, system_managed'),
    ('client', 'auth_client', 'NULL',
     "'uuid', r.uuid, 'client_id', r.client_id, 'tenant_uuid', r.tenant_uuid, "
     "'name', r.name, 'public', r.public, 'grant_types', to_jsonb(r.grant_types), "
     "'acl', to_jsonb(r.acl)",
     'client_id, name, tenant_uuid, secret_hash, public, grant_types, acl, redirect_uris, '
     'post_logout_redirect_uris, require_consent, config_managed'),
]
PLURAL = {'user': 'users', 'policy': 'policies', 'group': 'groups', 'client': 'clients'}

# name prefix, table, (column, table) of the owner (its tenant is the event's) and of the
# other side, user uuid of the event
LINKS = [
    ('group_user', 'auth_user_group', ('group_uuid', 'auth_group'), ('user_uuid', 'auth_user'),
     'r.user_uuid'),
    ('user_policy', 'auth_user_policy', ('user_uuid', 'auth_user'),
     ('policy_uuid', 'auth_policy'), 'r.user_uuid'),
    ('group_policy', 'auth_group_policy', ('group_uuid', 'auth_group'),
     ('policy_uuid', 'auth_policy'), 'NULL'),
    ('client_policy', 'auth_client_policy', ('client_uuid', 'auth_client'),
     ('policy_uuid', 'auth_policy'), 'NULL'),
]

ENTITY_FUNCTION = """
CREATE FUNCTION wazo_like_auth_{noun}_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r {table}%ROWTYPE;
    verb text := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated'
                 ELSE 'deleted' END;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM wazo_like_auth_record_event(
        'auth_{noun}_' || verb, 'auth.{plural}.' || r.uuid || '.' || verb, r.tenant_uuid,
        {user}, NULL, jsonb_build_object({data}));
    RETURN NULL;
END;
$$;
CREATE TRIGGER {table}__event AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_{noun}_event();
CREATE TRIGGER {table}__event_update AFTER UPDATE ON {table}
    FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
    EXECUTE FUNCTION wazo_like_auth_{noun}_event();
"""

LINK_FUNCTION = """
CREATE FUNCTION wazo_like_auth_{name}_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r {table}%ROWTYPE;
    verb text := CASE TG_OP WHEN 'INSERT' THEN 'added' ELSE 'removed' END;
    tenant uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    SELECT tenant_uuid INTO tenant FROM {owner_table} WHERE uuid = r.{owner};
    -- Deleted with its owner or its other side (a cascade): their deleted event says it.
    IF tenant IS NULL OR NOT EXISTS (SELECT 1 FROM {other_table} WHERE uuid = r.{other}) THEN
        RETURN NULL;
    END IF;
    PERFORM wazo_like_auth_record_event(
        'auth_{name}_' || verb,
        'auth.{owner_plural}.' || r.{owner} || '.{other_plural}.' || r.{other} || '.' || verb,
        tenant, {user}, NULL,
        jsonb_build_object('{owner}', r.{owner}, '{other}', r.{other}, 'tenant_uuid', tenant));
    RETURN NULL;
END;
$$;
CREATE TRIGGER {table}__event AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_{name}_event();
"""

LOGIN_INDEX = """
CREATE INDEX auth_event__idx__login ON auth_event (lower(data->>'login'), occurred_at)
    WHERE data ? 'login';
"""


def _entity_sql(noun: str, table: str, user: str, data: str, columns: str) -> str:
    names = [c.strip() for c in columns.split(',')]
    return ENTITY_FUNCTION.format(
        noun=noun, table=table, plural=PLURAL[noun], user=user, data=data,
        old=', '.join(f'OLD.{c}' for c in names), new=', '.join(f'NEW.{c}' for c in names))


def _plural_of(table: str) -> str:
    return PLURAL[table.removeprefix('auth_')]


def _link_sql(name: str, table: str, owner: tuple[str, str], other: tuple[str, str],
              user: str) -> str:
    return LINK_FUNCTION.format(
        name=name, table=table, owner=owner[0], owner_table=owner[1],
        owner_plural=_plural_of(owner[1]), other=other[0], other_table=other[1],
        other_plural=_plural_of(other[1]), user=user)


def upgrade():
    for entity in ENTITIES:
        op.execute(_entity_sql(*entity))
    for link in LINKS:
        op.execute(_link_sql(*link))
    op.execute(LOGIN_INDEX)


def downgrade():
    op.execute('DROP INDEX auth_event__idx__login')
    for name, table, *_ in LINKS:
        op.execute(f'DROP TRIGGER {table}__event ON {table}')
        op.execute(f'DROP FUNCTION wazo_like_auth_{name}_event()')
    for noun, table, *_ in ENTITIES:
        op.execute(f'DROP TRIGGER {table}__event_update ON {table}')
        op.execute(f'DROP TRIGGER {table}__event ON {table}')
        op.execute(f'DROP FUNCTION wazo_like_auth_{noun}_event()')
