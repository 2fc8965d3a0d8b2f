"""OAuth 2.0: registered clients, device authorization codes, and the client of a token.

- ``auth_client``: a client of the OAuth 2.0 endpoints. Its secret is kept only as a bcrypt
  hash (NULL for public clients); ``config_managed`` marks clients declared in configuration.
- ``auth_client_policy``: policies whose ACL a client gets with client_credentials.
- ``auth_device_code``: RFC 8628 device authorizations. The device code is known only by its
  SHA-256; the user code is stored normalised (8 letters, no dash). ``consent_hash`` is the
  SHA-256 of the one-time value that lets the signed-in person approve or deny.
- ``auth_device_attempt``: failed verification-page attempts per client address (RFC 8628
  §5.1 brute-force protection), shared by every node.
- ``auth_token.client_id``: the OAuth client a token was issued to (NULL for the Wazo API).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'

UPGRADE = """
CREATE TABLE auth_client (
    uuid uuid PRIMARY KEY,
    client_id text NOT NULL,
    name text NOT NULL DEFAULT '',
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    secret_hash text,
    public boolean NOT NULL DEFAULT false,
    grant_types text[] NOT NULL DEFAULT '{}',
    acl text[] NOT NULL DEFAULT '{}',
    config_managed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT auth_client__uniq__client_id UNIQUE (client_id)
);
CREATE INDEX auth_client__idx__tenant_uuid ON auth_client (tenant_uuid);

CREATE TABLE auth_client_policy (
    client_uuid uuid NOT NULL REFERENCES auth_client (uuid) ON DELETE CASCADE,
    policy_uuid uuid NOT NULL REFERENCES auth_policy (uuid) ON DELETE CASCADE,
    PRIMARY KEY (client_uuid, policy_uuid)
);
CREATE INDEX auth_client_policy__idx__policy_uuid ON auth_client_policy (policy_uuid);

CREATE TABLE auth_device_code (
    uuid uuid PRIMARY KEY,
    device_code_hash bytea NOT NULL,
    user_code text NOT NULL,
    client_uuid uuid NOT NULL REFERENCES auth_client (uuid) ON DELETE CASCADE,
    scope text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'pending',
    user_uuid uuid REFERENCES auth_user (uuid) ON DELETE CASCADE,
    consent_hash bytea,
    consent_user_uuid uuid REFERENCES auth_user (uuid) ON DELETE CASCADE,
    poll_interval integer NOT NULL,
    last_polled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT auth_device_code__uniq__device_code_hash UNIQUE (device_code_hash),
    CONSTRAINT auth_device_code__uniq__user_code UNIQUE (user_code),
    CONSTRAINT auth_device_code__check__status
        CHECK (status IN ('pending', 'approved', 'denied'))
);
CREATE INDEX auth_device_code__idx__expires_at ON auth_device_code (expires_at);
CREATE UNIQUE INDEX auth_device_code__uniq__consent_hash ON auth_device_code (consent_hash);
CREATE INDEX auth_device_code__idx__client_uuid ON auth_device_code (client_uuid);
CREATE INDEX auth_device_code__idx__user_uuid ON auth_device_code (user_uuid);
CREATE INDEX auth_device_code__idx__consent_user_uuid ON auth_device_code (consent_user_uuid);

CREATE TABLE auth_device_attempt (
    address text PRIMARY KEY,
    failures integer NOT NULL,
    window_start timestamptz NOT NULL
);
CREATE INDEX auth_device_attempt__idx__window_start ON auth_device_attempt (window_start);

ALTER TABLE auth_token ADD COLUMN client_id text;
CREATE INDEX auth_token__idx__client_id ON auth_token (client_id);
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('ALTER TABLE auth_token DROP COLUMN client_id')
    op.execute('DROP TABLE auth_device_attempt, auth_device_code, auth_client_policy, '
               'auth_client')
