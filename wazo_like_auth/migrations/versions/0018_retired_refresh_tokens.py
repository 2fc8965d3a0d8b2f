"""Every value a rotating refresh token was rotated away from is remembered, not only the last.

0017 kept the digest of the last value replaced (``previous_hash``): a value two rotations old
was no longer recognised. Someone who copied a refresh token and exchanged it twice before its
client came back kept the grant: the client's value only answered invalid_grant, where RFC 9700
§4.14.2 (and the README) revoke the grant when a value rotated away is presented again.

``auth_refresh_token_retired`` holds the digest of each value rotated away, with its row; the
row's delete (revoked, reused, its user or client gone) takes them along. The digests of 0017
move there.

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = '0018'
down_revision = '0017'

UPGRADE = """
CREATE TABLE auth_refresh_token_retired (
    token_hash bytea PRIMARY KEY,
    refresh_token_uuid uuid NOT NULL
        REFERENCES auth_refresh_token (uuid) ON DELETE CASCADE,
    retired_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_refresh_token_retired__idx__refresh_token
    ON auth_refresh_token_retired (refresh_token_uuid);
INSERT INTO auth_refresh_token_retired (token_hash, refresh_token_uuid)
    SELECT previous_hash, uuid FROM auth_refresh_token WHERE previous_hash IS NOT NULL;
DROP INDEX auth_refresh_token__uniq__previous_hash;
ALTER TABLE auth_refresh_token DROP COLUMN previous_hash;
"""

# 0017 remembers one value per row: the last one retired.
DOWNGRADE = """
ALTER TABLE auth_refresh_token ADD COLUMN previous_hash bytea;
UPDATE auth_refresh_token r SET previous_hash = (
    SELECT token_hash FROM auth_refresh_token_retired d WHERE d.refresh_token_uuid = r.uuid
    ORDER BY retired_at DESC LIMIT 1);
CREATE UNIQUE INDEX auth_refresh_token__uniq__previous_hash
    ON auth_refresh_token (previous_hash) WHERE previous_hash IS NOT NULL;
DROP TABLE auth_refresh_token_retired;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute(DOWNGRADE)
