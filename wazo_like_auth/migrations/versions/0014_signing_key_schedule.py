"""Signing keys published before they sign, and retired at once on a leak.

- ``auth_signing_key.signs_from``: when the key starts signing. A rotated key is published on
  ``certs`` at once but signs only once the ``max-age`` of ``certs`` has passed since it was
  added (a verifier holding the set it fetched just before knows the key by then);
  ``keys rotate --now``, the first key and a key promoted by ``keys retire`` sign at once.
  Existing keys sign from their creation.
- ``auth_token.signing_kid``: the key that signed a JWT access token (NULL for opaque
  tokens). A foreign key, ON DELETE CASCADE: no token outlives its key in the database,
  so ``keys retire`` deletes the tokens of a leaked key, even one a node was recording
  while the key went (its insert then fails: the client retries). The deletion goes through
  the usual paths (validation caches evicted, jti listed in the revocation feed). Keys are
  purged only once their tokens have expired. Partial index: only JWT access tokens.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'

UPGRADE = """
ALTER TABLE auth_signing_key ADD COLUMN signs_from timestamptz;
UPDATE auth_signing_key SET signs_from = created_at;
ALTER TABLE auth_signing_key ALTER COLUMN signs_from SET NOT NULL;

ALTER TABLE auth_token ADD COLUMN signing_kid text
    CONSTRAINT auth_token__fk__signing_kid REFERENCES auth_signing_key (kid) ON DELETE CASCADE;
CREATE INDEX auth_token__idx__signing_kid ON auth_token (signing_kid)
    WHERE signing_kid IS NOT NULL;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('DROP INDEX auth_token__idx__signing_kid')
    op.execute('ALTER TABLE auth_token DROP COLUMN signing_kid')
    op.execute('ALTER TABLE auth_signing_key DROP COLUMN signs_from')
