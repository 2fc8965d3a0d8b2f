"""Notify every process when access tokens are deleted, by any path (validation cache).

A statement-level trigger with a transition table sees deletes made directly, by session
deletion and by foreign-key cascades (user, tenant). It sends the digests of the deleted tokens,
or '*' when they do not fit one notification. The expired-token purge sets
``wazo_like_auth.quiet_revocation`` for its transactions: expired tokens are refused on read
anyway, and a purge must not flush every cache of the cluster.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'

UPGRADE = """
CREATE FUNCTION wazo_like_auth_notify_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
    deleted integer;
BEGIN
    IF current_setting('wazo_like_auth.quiet_revocation', true) = 'on' THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO deleted FROM old_tokens;
    IF deleted = 0 THEN
        RETURN NULL;
    ELSIF deleted > 100 THEN
        payload := '*';
    ELSE
        SELECT string_agg(encode(token_hash, 'hex'), ',') INTO payload FROM old_tokens;
    END IF;
    PERFORM pg_notify('wazo_like_auth_revocations', payload);
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_token_revoked AFTER DELETE ON auth_token
REFERENCING OLD TABLE AS old_tokens
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_notify_revocation();
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('DROP TRIGGER auth_token_revoked ON auth_token')
    op.execute('DROP FUNCTION wazo_like_auth_notify_revocation()')
