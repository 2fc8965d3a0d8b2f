"""The signing keys taken off by ``keys retire`` (a leak), for the revocation feed.

Offline verifiers keep the keys of ``certs`` for its max-age (5 minutes): a token forged with a
leaked key passed them for that long after the key was retired, its tokens' jtis revoked but not
the key itself. The feed now lists the keys retired in the last day (``retired_keys``), and a
verifier polling it refuses their tokens at its next poll. A row per retirement: a handful in a
service's life.

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = '0020'
down_revision = '0019'


def upgrade():
    op.execute('CREATE TABLE auth_retired_signing_key ('
               'kid text PRIMARY KEY, retired_at timestamptz NOT NULL)')
    op.execute('CREATE INDEX auth_retired_signing_key__idx__retired_at '
               'ON auth_retired_signing_key (retired_at)')


def downgrade():
    op.execute('DROP TABLE auth_retired_signing_key')
