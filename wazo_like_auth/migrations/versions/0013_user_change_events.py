"""``auth_user_updated`` for the changes of a user its own row does not show: its e-mail
addresses and its password.

0012 writes ``auth_user_updated`` when a column of ``auth_user`` the event is about changes;
an e-mail added, removed, made main or confirmed (``auth_email``), or a new password, wrote no
event at all (a password change showed only as the sessions it ended, so a user without a
session changed its password without a trace on the bus or in the audit trail).

- ``wazo_like_auth_user_changed(uuid)``: ``auth_user_updated`` for the user, once per
  transaction: nothing when this transaction already wrote the user's ``auth_user_created`` or
  ``auth_user_updated`` (a PUT of four addresses is one event), nor when the user is gone (its
  ``auth_user_deleted`` says it). The event holds what 0012's does: no address, no hash.
- ``auth_email`` triggers: any insert or delete, an update of address, main or confirmed.
- ``auth_user.password_hash`` trigger: a new hash, except the stronger hash of the same
  password written at login (the transaction-local setting ``wazo_like_auth.password_rehash``,
  ``repositories.users.rehash_password``), which changes nothing for anyone.

Transactions here never use savepoints: the rows this transaction wrote are those whose
``xmin`` is its id.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = '0013'
down_revision = '0012'

UPGRADE = """
CREATE FUNCTION wazo_like_auth_user_changed(p_user uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    u auth_user%ROWTYPE;
BEGIN
    SELECT * INTO u FROM auth_user WHERE uuid = p_user;
    IF NOT FOUND OR EXISTS (
            SELECT 1 FROM auth_event
            WHERE user_uuid = p_user AND occurred_at >= now()
              AND name IN ('auth_user_created', 'auth_user_updated')
              AND xmin = pg_current_xact_id()::xid) THEN
        RETURN;
    END IF;
    PERFORM wazo_like_auth_record_event(
        'auth_user_updated', 'auth.users.' || u.uuid || '.updated', u.tenant_uuid, u.uuid,
        NULL, jsonb_build_object('uuid', u.uuid, 'tenant_uuid', u.tenant_uuid,
                                 'username', u.username, 'purpose', u.purpose));
END;
$$;

CREATE FUNCTION wazo_like_auth_email_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM wazo_like_auth_user_changed(OLD.user_uuid);
    ELSE
        PERFORM wazo_like_auth_user_changed(NEW.user_uuid);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_email__event AFTER INSERT OR DELETE ON auth_email
    FOR EACH ROW EXECUTE FUNCTION wazo_like_auth_email_event();
CREATE TRIGGER auth_email__event_update AFTER UPDATE ON auth_email
    FOR EACH ROW WHEN ((OLD.user_uuid, OLD.address, OLD.main, OLD.confirmed)
                       IS DISTINCT FROM (NEW.user_uuid, NEW.address, NEW.main, NEW.confirmed))
    EXECUTE FUNCTION wazo_like_auth_email_event();

-- Named to fire after 0012's auth_user__event_update (same event, alphabetical order), so a
-- change of both a column and the password is one event.
CREATE FUNCTION wazo_like_auth_password_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('wazo_like_auth.password_rehash', true) IS DISTINCT FROM 'on' THEN
        PERFORM wazo_like_auth_user_changed(NEW.uuid);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_user__password_event AFTER UPDATE OF password_hash ON auth_user
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION wazo_like_auth_password_event();
"""

DOWNGRADE = """
DROP TRIGGER auth_user__password_event ON auth_user;
DROP FUNCTION wazo_like_auth_password_event();
DROP TRIGGER auth_email__event_update ON auth_email;
DROP TRIGGER auth_email__event ON auth_email;
DROP FUNCTION wazo_like_auth_email_event();
DROP FUNCTION wazo_like_auth_user_changed(uuid);
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
