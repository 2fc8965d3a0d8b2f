"""Device authorizations remember the issuer they were requested at.

- ``auth_device_code.issuer``: the issuer URL of the device authorization endpoint that
  started it (``{base}/realms/{slug}`` or ``{base}/api/auth/0.1``), as
  ``auth_authorization_code.issuer`` (0007) does for codes. Only that issuer's verification
  page finds its user code and only its token endpoint redeems its device code; realms are told
  apart by the URL's path (services/device_flow.py), not its host.

Authorizations in flight when this runs are deleted: where they were started is not known,
and guessing would let one realm's code be redeemed at another. They live minutes
(``oauth2.device_code_lifetime``); the device's next poll answers ``invalid_grant`` and it
starts again (RFC 8628 §3.5).

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = '0015'
down_revision = '0014'

UPGRADE = """
DELETE FROM auth_device_code;
ALTER TABLE auth_device_code ADD COLUMN issuer text NOT NULL;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('ALTER TABLE auth_device_code DROP COLUMN issuer')
