"""Initial schema: tenants, users, e-mails, policies, groups, sessions, tokens, refresh tokens.

Tokens and refresh tokens are stored as SHA-256 digests only (spec D3). The top tenant
(parent_uuid = uuid) and its full-access policy are seeded here.

Revision ID: 0001
Revises:
"""
from alembic import op

revision = '0001'
down_revision = None

SCHEMA = """
CREATE TABLE tenant (
    uuid uuid PRIMARY KEY,
    parent_uuid uuid NOT NULL REFERENCES tenant (uuid),
    name text,
    slug varchar(80) NOT NULL UNIQUE,
    phone text,
    contact_uuid uuid,
    address jsonb,
    domain_names text[] NOT NULL DEFAULT '{}',
    default_authentication_method text NOT NULL DEFAULT 'native',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant__idx__parent_uuid ON tenant (parent_uuid);

CREATE TABLE auth_user (
    uuid uuid PRIMARY KEY,
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    username varchar(256),
    firstname text,
    lastname text,
    password_hash text,
    enabled boolean NOT NULL DEFAULT true,
    purpose text NOT NULL DEFAULT 'user'
        CHECK (purpose IN ('user', 'internal', 'external_api')),
    authentication_method text NOT NULL DEFAULT 'default',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX auth_user__uniq__lower_username ON auth_user (lower(username));
CREATE INDEX auth_user__idx__tenant_uuid ON auth_user (tenant_uuid);
ALTER TABLE tenant ADD CONSTRAINT tenant_contact_uuid_fkey
    FOREIGN KEY (contact_uuid) REFERENCES auth_user (uuid) ON DELETE SET NULL;

CREATE TABLE auth_email (
    uuid uuid PRIMARY KEY,
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    address text NOT NULL,
    main boolean NOT NULL DEFAULT false,
    confirmed boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX auth_email__uniq__lower_address ON auth_email (lower(address));
CREATE INDEX auth_email__idx__user_uuid ON auth_email (user_uuid);

CREATE TABLE auth_policy (
    uuid uuid PRIMARY KEY,
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    name varchar(80) NOT NULL,
    slug varchar(80) NOT NULL,
    description text,
    acl text[] NOT NULL DEFAULT '{}',
    config_managed boolean NOT NULL DEFAULT false,
    shared boolean NOT NULL DEFAULT false,
    CONSTRAINT auth_policy__uniq__tenant_name UNIQUE (tenant_uuid, name)
);
CREATE UNIQUE INDEX auth_policy__uniq__tenant_lower_slug ON auth_policy (tenant_uuid, lower(slug));

CREATE TABLE auth_group (
    uuid uuid PRIMARY KEY,
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    name text NOT NULL,
    slug varchar(80) NOT NULL,
    system_managed boolean NOT NULL DEFAULT false,
    CONSTRAINT auth_group__uniq__tenant_name UNIQUE (tenant_uuid, name)
);
CREATE UNIQUE INDEX auth_group__uniq__tenant_lower_slug ON auth_group (tenant_uuid, lower(slug));

CREATE TABLE auth_user_policy (
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    policy_uuid uuid NOT NULL REFERENCES auth_policy (uuid) ON DELETE CASCADE,
    PRIMARY KEY (user_uuid, policy_uuid)
);
CREATE INDEX auth_user_policy__idx__policy_uuid ON auth_user_policy (policy_uuid);

CREATE TABLE auth_user_group (
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    group_uuid uuid NOT NULL REFERENCES auth_group (uuid) ON DELETE CASCADE,
    PRIMARY KEY (user_uuid, group_uuid)
);
CREATE INDEX auth_user_group__idx__group_uuid ON auth_user_group (group_uuid);

CREATE TABLE auth_group_policy (
    group_uuid uuid NOT NULL REFERENCES auth_group (uuid) ON DELETE CASCADE,
    policy_uuid uuid NOT NULL REFERENCES auth_policy (uuid) ON DELETE CASCADE,
    PRIMARY KEY (group_uuid, policy_uuid)
);
CREATE INDEX auth_group_policy__idx__policy_uuid ON auth_group_policy (policy_uuid);

CREATE TABLE auth_refresh_token (
    uuid uuid PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    client_id text NOT NULL,
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    backend text NOT NULL DEFAULT 'wazo_user',
    login text NOT NULL,
    user_agent text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT '',
    mobile boolean NOT NULL DEFAULT false,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT auth_refresh_token__uniq__user_client UNIQUE (user_uuid, client_id)
);
CREATE INDEX auth_refresh_token__idx__client_id ON auth_refresh_token (client_id);

CREATE TABLE auth_session (
    uuid uuid PRIMARY KEY,
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    user_uuid uuid REFERENCES auth_user (uuid) ON DELETE CASCADE,
    mobile boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_session__idx__tenant_uuid ON auth_session (tenant_uuid);
CREATE INDEX auth_session__idx__user_uuid ON auth_session (user_uuid);

CREATE TABLE auth_token (
    token_hash bytea PRIMARY KEY,
    session_uuid uuid NOT NULL REFERENCES auth_session (uuid) ON DELETE CASCADE,
    auth_id text NOT NULL,
    pbx_user_uuid text,
    xivo_uuid text,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    acl text[] NOT NULL DEFAULT '{}',
    metadata jsonb NOT NULL DEFAULT '{}',
    user_agent text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT '',
    refresh_token_uuid uuid REFERENCES auth_refresh_token (uuid) ON DELETE SET NULL
);
CREATE INDEX auth_token__idx__session_uuid ON auth_token (session_uuid);
CREATE INDEX auth_token__idx__expires_at ON auth_token (expires_at);
CREATE INDEX auth_token__idx__auth_id ON auth_token (auth_id);
CREATE INDEX auth_token__idx__refresh_token_uuid ON auth_token (refresh_token_uuid);
"""

# The top tenant is its own parent; a row may reference itself within one INSERT.
SEED = """
WITH top AS (SELECT gen_random_uuid() AS uuid)
INSERT INTO tenant (uuid, parent_uuid, name, slug) SELECT uuid, uuid, 'master', 'master' FROM top;
INSERT INTO auth_policy (uuid, tenant_uuid, name, slug, description, acl)
SELECT gen_random_uuid(), uuid, 'wazo_default_master_user_policy',
       'wazo_default_master_user_policy', 'Full access', '{#}'
FROM tenant WHERE slug = 'master';
"""


def upgrade():
    op.execute(SCHEMA)
    op.execute(SEED)


def downgrade():
    op.execute('DROP TABLE auth_token, auth_session, auth_refresh_token, auth_group_policy, '
               'auth_user_group, auth_user_policy, auth_group, auth_policy, auth_email, '
               'auth_user, tenant CASCADE')
