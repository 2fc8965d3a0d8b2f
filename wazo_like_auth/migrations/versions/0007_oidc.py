"""OpenID Connect: signing keys, browser sign-in sessions, authorization codes, consents, and
the client fields of the authorization code flow.

- ``auth_signing_key``: JWS signing keys. ``public_jwk`` is published on ``certs``; the private
  JWK is stored AES-GCM encrypted (``private_ciphertext`` = nonce || ciphertext+tag) with a
  key derived from ``token_secret``. ``retire_at``: set when a newer key replaces it, to the
  time the last token it signed expires; NULL while it is the newest.
- ``auth_signin``: a browser sign-in session, known by the SHA-256 of its cookie value. Its
  own ``auth_session`` row (``session_uuid``) makes it visible and deletable in /sessions;
  sessions issued through it carry ``auth_session.signin_uuid`` and go with it.
- ``auth_authorization_code``: RFC 6749 §4.1 codes, known by their SHA-256, single-use
  (``used_at``); ``issued_session_uuid``/``issued_refresh_uuid`` name what the first use
  issued, revoked on a second use (§4.1.2).
- ``auth_consent``: the scopes a user granted to a client that requires consent.

Revision ID: 0007
Revises: 0008 (mail; 0007 was written beside it and chained after)
"""
from alembic import op

revision = '0007'
down_revision = '0008'

UPGRADE = """
CREATE TABLE auth_signing_key (
    kid text PRIMARY KEY,
    alg text NOT NULL,
    public_jwk jsonb NOT NULL,
    private_ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retire_at timestamptz,
    CONSTRAINT auth_signing_key__check__alg CHECK (alg IN ('RS256', 'ES256'))
);
CREATE INDEX auth_signing_key__idx__created_at ON auth_signing_key (created_at);

CREATE TABLE auth_signin (
    uuid uuid PRIMARY KEY,
    cookie_hash bytea NOT NULL,
    session_uuid uuid NOT NULL REFERENCES auth_session (uuid) ON DELETE CASCADE,
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    tenant_uuid uuid NOT NULL REFERENCES tenant (uuid) ON DELETE CASCADE,
    auth_time timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT auth_signin__uniq__cookie_hash UNIQUE (cookie_hash)
);
CREATE INDEX auth_signin__idx__session_uuid ON auth_signin (session_uuid);
CREATE INDEX auth_signin__idx__user_uuid ON auth_signin (user_uuid);
CREATE INDEX auth_signin__idx__expires_at ON auth_signin (expires_at);

ALTER TABLE auth_session
    ADD COLUMN signin_uuid uuid REFERENCES auth_signin (uuid) ON DELETE CASCADE;
CREATE INDEX auth_session__idx__signin_uuid ON auth_session (signin_uuid);

CREATE TABLE auth_authorization_code (
    code_hash bytea PRIMARY KEY,
    client_uuid uuid NOT NULL REFERENCES auth_client (uuid) ON DELETE CASCADE,
    signin_uuid uuid NOT NULL REFERENCES auth_signin (uuid) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scope text NOT NULL DEFAULT '',
    nonce text,
    code_challenge text,
    issuer text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    issued_session_uuid uuid,
    issued_refresh_uuid uuid
);
CREATE INDEX auth_authorization_code__idx__expires_at ON auth_authorization_code (expires_at);
CREATE INDEX auth_authorization_code__idx__client_uuid ON auth_authorization_code (client_uuid);
CREATE INDEX auth_authorization_code__idx__signin_uuid ON auth_authorization_code (signin_uuid);

CREATE TABLE auth_consent (
    user_uuid uuid NOT NULL REFERENCES auth_user (uuid) ON DELETE CASCADE,
    client_uuid uuid NOT NULL REFERENCES auth_client (uuid) ON DELETE CASCADE,
    scope text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_uuid, client_uuid)
);
CREATE INDEX auth_consent__idx__client_uuid ON auth_consent (client_uuid);

ALTER TABLE auth_client
    ADD COLUMN redirect_uris text[] NOT NULL DEFAULT '{}',
    ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    ADD COLUMN require_consent boolean NOT NULL DEFAULT false;
"""


def upgrade():
    op.execute(UPGRADE)


def downgrade():
    op.execute('ALTER TABLE auth_client DROP COLUMN redirect_uris, '
               'DROP COLUMN post_logout_redirect_uris, DROP COLUMN require_consent')
    op.execute('ALTER TABLE auth_session DROP COLUMN signin_uuid')
    op.execute('DROP TABLE auth_consent, auth_authorization_code, auth_signin, '
               'auth_signing_key')
