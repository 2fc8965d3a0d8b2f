"""Failed-login counters shared by every node, and the addresses users logged in from.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = '0003'
down_revision = '0002'

UPGRADE = """
CREATE TABLE auth_login_failure (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    window_start timestamptz NOT NULL
);
CREATE INDEX auth_login_failure__idx__window_start ON auth_login_failure (window_start);

CREATE TABLE auth_login_known_address (
    login text NOT NULL,
    address text NOT NULL,
    last_success timestamptz NOT NULL,
    PRIMARY KEY (login, address)
);
CREATE INDEX auth_login_known_address__idx__last_success
    ON auth_login_known_address (last_success);
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('DROP TABLE auth_login_failure, auth_login_known_address')
