"""A device authorization remembers the password it was approved with.

The person signing in on the verification page proves their password; the device's poll then
gets a token, minutes later. A password changed meanwhile (or reset: an account taken back)
ended every session and refused the password logins in flight, but the approved device still
got its token. ``password_fingerprint`` (as mail tokens keep one: mail_tokens.py) is that of
the password hash checked at sign-in; the poll redeems only while it is the user's.

Authorizations already signed in or approved have none, and redeem as before (they expire
within ``oauth2.device_code_lifetime``).

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = '0019'
down_revision = '0018'


def upgrade():
    op.execute('ALTER TABLE auth_device_code ADD COLUMN password_fingerprint bytea')


def downgrade():
    op.execute('ALTER TABLE auth_device_code DROP COLUMN password_fingerprint')
