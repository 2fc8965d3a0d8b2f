"""Refresh tokens of public OAuth 2.0 clients rotate (RFC 9700 §4.14.2).

- ``auth_refresh_token.rotates``: issued at an OAuth 2.0 endpoint to a public client (code,
  device or password grant). Each such grant has a row of its own: a user's phone and laptop
  hold different refresh tokens for the same client_id, so the rotation of one never logs the
  other out. The Wazo API's rows (``rotates`` false) stay one per (user, client_id): the
  unique constraint becomes a unique index over those rows only.
- ``generation``: how many times the row was rotated; its value is derived from (uuid,
  generation) (tokens.derive_refresh_token), so generation 0 is the value of before.
- ``previous_hash``: the SHA-256 of the value the last rotation replaced. Presented again, it
  shows that a refresh token was used twice, by the client and by someone who copied it: the
  row is revoked with the sessions created from it.

Existing rows keep ``rotates`` false and their values: nothing in flight changes.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = '0017'
down_revision = '0016'

UPGRADE = """
ALTER TABLE auth_refresh_token
    ADD COLUMN rotates boolean NOT NULL DEFAULT false,
    ADD COLUMN generation integer NOT NULL DEFAULT 0,
    ADD COLUMN previous_hash bytea;
ALTER TABLE auth_refresh_token DROP CONSTRAINT auth_refresh_token__uniq__user_client;
CREATE UNIQUE INDEX auth_refresh_token__uniq__user_client
    ON auth_refresh_token (user_uuid, client_id) WHERE NOT rotates;
CREATE UNIQUE INDEX auth_refresh_token__uniq__previous_hash
    ON auth_refresh_token (previous_hash) WHERE previous_hash IS NOT NULL;
"""

# Rotating rows have no place in the schema of before (several per user and client_id): they
# are deleted, as a refresh token deleted by its user (the tokens issued with it stay valid).
DOWNGRADE = """
DELETE FROM auth_refresh_token WHERE rotates;
DROP INDEX auth_refresh_token__uniq__previous_hash;
DROP INDEX auth_refresh_token__uniq__user_client;
ALTER TABLE auth_refresh_token ADD CONSTRAINT auth_refresh_token__uniq__user_client
    UNIQUE (user_uuid, client_id);
ALTER TABLE auth_refresh_token DROP COLUMN previous_hash, DROP COLUMN generation,
    DROP COLUMN rotates;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
