"""JWT access tokens (RFC 9068) per client, and the revocation feed of offline verifiers.

- ``auth_client.access_token_format``: ``opaque`` (the default: the Wazo token) or ``jwt``;
  ``auth_client.access_token_audience``: the ``aud`` of its JWTs (empty: the issuer URL).
- ``auth_token.jti``: the ``jti`` claim of a JWT access token (NULL for opaque tokens). The row
  is still keyed by the SHA-256 of the whole token string, like every token; the ``jti`` is
  not secret (every resource server reads it) and only names the token in the feed.
- ``auth_revoked_jti``: one row per JWT access token deleted before it expired, by any path
  (direct revocation, session delete, user or tenant cascades, password change), written by a
  statement-level trigger with a transition table (as 0002's NOTIFY), since cascades bypass
  the application. ``revoked_xid``: the deleting transaction's id (``pg_current_xact_id``),
  the feed's cursor: a reader that saw snapshot xmin X has seen every row of a transaction
  below X, whatever the commit order (a sequence number would not be safe: a lower number can
  commit after a higher one was read). Rows go once their token would have expired anyway.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = '0010'
down_revision = '0009'

UPGRADE = """
ALTER TABLE auth_client
    ADD COLUMN access_token_format text NOT NULL DEFAULT 'opaque'
        CONSTRAINT auth_client__check__access_token_format
        CHECK (access_token_format IN ('opaque', 'jwt')),
    ADD COLUMN access_token_audience text[] NOT NULL DEFAULT '{}';

ALTER TABLE auth_token ADD COLUMN jti text;

CREATE TABLE auth_revoked_jti (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    revoked_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX auth_revoked_jti__idx__revoked_xid ON auth_revoked_jti (revoked_xid);
CREATE INDEX auth_revoked_jti__idx__expires_at ON auth_revoked_jti (expires_at);

CREATE FUNCTION wazo_like_auth_record_revoked_jti() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO auth_revoked_jti (jti, expires_at)
    SELECT jti, expires_at FROM old_tokens
    WHERE jti IS NOT NULL AND expires_at > clock_timestamp();
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_token_jti_revoked AFTER DELETE ON auth_token
REFERENCING OLD TABLE AS old_tokens
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_record_revoked_jti();
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('DROP TRIGGER auth_token_jti_revoked ON auth_token')
    op.execute('DROP FUNCTION wazo_like_auth_record_revoked_jti()')
    op.execute('DROP TABLE auth_revoked_jti')
    op.execute('ALTER TABLE auth_token DROP COLUMN jti')
    op.execute('ALTER TABLE auth_client DROP COLUMN access_token_audience, '
               'DROP COLUMN access_token_format')
