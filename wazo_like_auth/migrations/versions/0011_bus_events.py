"""Bus events of sessions, refresh tokens and tenants, written by triggers (the outbox rows).

Every change of ``auth_session``, ``auth_refresh_token`` and ``tenant`` writes its event row
through ``wazo_like_auth_record_event`` in the same statement, so an event exists exactly when
its change commits, whichever path made it: an API call, the purge, a foreign-key cascade (a
tenant delete ends each of its sessions, a user delete its sessions and refresh tokens).
Statement-level triggers with transition tables: a bulk delete (the purge, a tenant) writes its
events in one pass. Payloads as in the spec's table (wazo-events.md); never a token or secret.

- ``auth_refresh_token.tenant_uuid``: the user's tenant, copied at insert by a trigger. In a
  cascade the user row is already gone when the refresh token's delete trigger runs, and
  ``auth_refresh_token_deleted`` must still name the tenant. A user never changes tenant.
- ``auth_session.expire_soon_sent``: the purge announced ``auth_session_expire_soon`` (once
  per session).
- ``wazo_like_auth.publish_events`` (a connection setting): ``off`` records rows with
  ``publish = false``, for a service whose bus is disabled (``amqp.enabled: false``); they stay
  in the audit trail and are never sent, even if publishing is enabled later.
- The top tenant seeded by 0001 gets its ``auth_tenant_added`` on a fresh database (no user
  yet), so its first start announces it as wazo-auth does; an upgraded database does not
  re-announce its existing tenants.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = '0011'
down_revision = '0010'

COLUMNS = """
ALTER TABLE auth_refresh_token ADD COLUMN tenant_uuid uuid;
UPDATE auth_refresh_token r SET tenant_uuid = u.tenant_uuid FROM auth_user u
    WHERE u.uuid = r.user_uuid;
ALTER TABLE auth_refresh_token ALTER COLUMN tenant_uuid SET NOT NULL;
ALTER TABLE auth_session ADD COLUMN expire_soon_sent boolean NOT NULL DEFAULT false;

CREATE FUNCTION wazo_like_auth_refresh_token_tenant() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.tenant_uuid := (SELECT tenant_uuid FROM auth_user WHERE uuid = NEW.user_uuid);
    RETURN NEW;
END;
$$;
CREATE TRIGGER auth_refresh_token_tenant BEFORE INSERT ON auth_refresh_token
FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_refresh_token_tenant();

CREATE FUNCTION wazo_like_auth_unpublished_when_bus_off() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('wazo_like_auth.publish_events', true) = 'off' THEN
        NEW.publish := false;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER auth_event_bus_off BEFORE INSERT ON auth_event
FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_unpublished_when_bus_off();

-- One part of a routing key: '.', '#' and '*' would split it or act as wildcards.
CREATE FUNCTION wazo_like_auth_routing_part(part text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(part, '.', '__DOT__'), '#', '__HASH__'), '*', '__STAR__')
$$;
"""

SESSIONS = """
CREATE FUNCTION wazo_like_auth_session_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_session_created', 'auth.sessions.' || s.uuid || '.created',
        s.tenant_uuid, s.user_uuid, s.uuid,
        jsonb_build_object('uuid', s.uuid, 'tenant_uuid', s.tenant_uuid,
                           'user_uuid', s.user_uuid, 'mobile', s.mobile))
    FROM new_sessions s;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_session_created AFTER INSERT ON auth_session
REFERENCING NEW TABLE AS new_sessions
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_session_created();

CREATE FUNCTION wazo_like_auth_session_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_session_deleted', 'auth.sessions.' || s.uuid || '.deleted',
        s.tenant_uuid, s.user_uuid, s.uuid,
        jsonb_build_object('uuid', s.uuid, 'user_uuid', s.user_uuid,
                           'tenant_uuid', s.tenant_uuid))
    FROM old_sessions s;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_session_deleted AFTER DELETE ON auth_session
REFERENCING OLD TABLE AS old_sessions
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_session_deleted();
"""

REFRESH_TOKENS = """
CREATE FUNCTION wazo_like_auth_refresh_token_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_refresh_token_created',
        'auth.users.' || t.user_uuid || '.tokens.' || wazo_like_auth_routing_part(t.client_id)
            || '.created',
        t.tenant_uuid, t.user_uuid, NULL,
        jsonb_build_object('client_id', t.client_id, 'mobile', t.mobile,
                           'user_uuid', t.user_uuid, 'tenant_uuid', t.tenant_uuid))
    FROM new_tokens t;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_refresh_token_created AFTER INSERT ON auth_refresh_token
REFERENCING NEW TABLE AS new_tokens
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_refresh_token_created();

CREATE FUNCTION wazo_like_auth_refresh_token_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_refresh_token_deleted',
        'auth.users.' || t.user_uuid || '.tokens.' || wazo_like_auth_routing_part(t.client_id)
            || '.deleted',
        t.tenant_uuid, t.user_uuid, NULL,
        jsonb_build_object('client_id', t.client_id, 'mobile', t.mobile,
                           'user_uuid', t.user_uuid, 'tenant_uuid', t.tenant_uuid))
    FROM old_tokens t;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_refresh_token_deleted AFTER DELETE ON auth_refresh_token
REFERENCING OLD TABLE AS old_tokens
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_refresh_token_deleted();
"""

TENANTS = """
CREATE FUNCTION wazo_like_auth_tenant_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_tenant_added', 'auth.tenants.' || t.uuid || '.created', t.uuid, NULL, NULL,
        jsonb_build_object('uuid', t.uuid, 'name', t.name, 'slug', t.slug,
                           'domain_names', to_jsonb(t.domain_names)))
    FROM new_tenants t;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tenant_added AFTER INSERT ON tenant
REFERENCING NEW TABLE AS new_tenants
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_tenant_added();

-- An update that changes nothing (same values written back) is no event.
CREATE FUNCTION wazo_like_auth_tenant_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_tenant_updated', 'auth.tenants.' || n.uuid || '.updated', n.uuid, NULL, NULL,
        jsonb_build_object('uuid', n.uuid, 'name', n.name))
    FROM new_tenants n JOIN old_tenants o ON o.uuid = n.uuid
    WHERE o IS DISTINCT FROM n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tenant_updated AFTER UPDATE ON tenant
REFERENCING OLD TABLE AS old_tenants NEW TABLE AS new_tenants
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_tenant_updated();

-- Deferred to the commit: the tenant's deleted event comes after every event of what its
-- delete removed by cascade (users' sessions and refresh tokens...), whatever their depth.
CREATE FUNCTION wazo_like_auth_tenant_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wazo_like_auth_record_event(
        'auth_tenant_deleted', 'auth.tenants.' || OLD.uuid || '.deleted', OLD.uuid, NULL, NULL,
        jsonb_build_object('uuid', OLD.uuid));
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER tenant_deleted AFTER DELETE ON tenant
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_tenant_deleted();

-- A fresh database: announce the top tenant that 0001 seeded, as its first start would.
SELECT wazo_like_auth_record_event(
    'auth_tenant_added', 'auth.tenants.' || t.uuid || '.created', t.uuid, NULL, NULL,
    jsonb_build_object('uuid', t.uuid, 'name', t.name, 'slug', t.slug,
                       'domain_names', to_jsonb(t.domain_names)))
FROM tenant t WHERE t.uuid = t.parent_uuid AND NOT EXISTS (SELECT 1 FROM auth_user);
"""

DOWNGRADE = """
DROP TRIGGER tenant_deleted ON tenant;
DROP TRIGGER tenant_updated ON tenant;
DROP TRIGGER tenant_added ON tenant;
DROP TRIGGER auth_refresh_token_deleted ON auth_refresh_token;
DROP TRIGGER auth_refresh_token_created ON auth_refresh_token;
DROP TRIGGER auth_session_deleted ON auth_session;
DROP TRIGGER auth_session_created ON auth_session;
DROP TRIGGER auth_event_bus_off ON auth_event;
DROP TRIGGER auth_refresh_token_tenant ON auth_refresh_token;
DROP FUNCTION wazo_like_auth_tenant_deleted();
DROP FUNCTION wazo_like_auth_tenant_updated();
DROP FUNCTION wazo_like_auth_tenant_added();
DROP FUNCTION wazo_like_auth_refresh_token_deleted();
DROP FUNCTION wazo_like_auth_refresh_token_created();
DROP FUNCTION wazo_like_auth_session_deleted();
DROP FUNCTION wazo_like_auth_session_created();
DROP FUNCTION wazo_like_auth_routing_part(text);
DROP FUNCTION wazo_like_auth_unpublished_when_bus_off();
DROP FUNCTION wazo_like_auth_refresh_token_tenant();
ALTER TABLE auth_session DROP COLUMN expire_soon_sent;
ALTER TABLE auth_refresh_token DROP COLUMN tenant_uuid;
"""


def upgrade():
    for part in (COLUMNS, SESSIONS, REFRESH_TOKENS, TENANTS):
        op.execute(part)


def downgrade():
    op.execute(DOWNGRADE)
