"""Fixes of the event triggers found in review.

- ``auth_client_updated`` also when the client's ``access_token_format`` or
  ``access_token_audience`` (migration 0010) changes: 0012 listed the columns whose change is
  an update without them, so turning a client's access tokens into JWTs, or changing the
  audience they are for, left no trace on the bus or in the audit trail.
- A session whose last token goes with its signing key (``auth_token.signing_kid``, ON
  DELETE CASCADE, migration 0014) goes too, as it does when its last token is deleted any
  other way (``repositories.tokens``). ``keys rotate`` purges a retired key once its tokens
  have expired, possibly before the expiry purge removed them, and ``keys retire`` deletes by
  cascade a token recorded while it ran: their sessions stayed, without a token, listed for
  ever (the purge finds sessions by their tokens' expiry), and never had their
  ``auth_session_deleted``. Statement-level, on the tokens whose key no longer exists: a
  token deleted otherwise (its session's delete, DELETE /token) changes nothing here.

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = '0016'
down_revision = '0015'

CLIENT_COLUMNS_0012 = ('client_id', 'name', 'tenant_uuid', 'secret_hash', 'public',
                       'grant_types', 'acl', 'redirect_uris', 'post_logout_redirect_uris',
                       'require_consent', 'config_managed')
CLIENT_COLUMNS = (*CLIENT_COLUMNS_0012, 'access_token_format', 'access_token_audience')


def _client_update_trigger(columns: tuple[str, ...]) -> str:
    old = ', '.join(f'OLD.{c}' for c in columns)
    new = ', '.join(f'NEW.{c}' for c in columns)
    return f"""
DROP TRIGGER auth_client__event_update ON auth_client;
CREATE TRIGGER auth_client__event_update AFTER UPDATE ON auth_client
    FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
    EXECUTE FUNCTION wazo_like_auth_client_event();
"""


SESSIONS_OF_DELETED_KEYS = """
CREATE FUNCTION wazo_like_auth_sessions_of_deleted_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM auth_session s
    WHERE s.uuid IN (SELECT o.session_uuid FROM old_tokens o
                     WHERE o.signing_kid IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM auth_signing_key k
                                       WHERE k.kid = o.signing_kid))
      AND NOT EXISTS (SELECT 1 FROM auth_token t WHERE t.session_uuid = s.uuid);
    RETURN NULL;
END;
$$;
CREATE TRIGGER auth_token__sessions_of_deleted_keys AFTER DELETE ON auth_token
REFERENCING OLD TABLE AS old_tokens
FOR EACH STATEMENT EXECUTE FUNCTION wazo_like_auth_sessions_of_deleted_keys();
"""


def upgrade():
    op.execute(_client_update_trigger(CLIENT_COLUMNS))
    op.execute(SESSIONS_OF_DELETED_KEYS)


def downgrade():
    op.execute('DROP TRIGGER auth_token__sessions_of_deleted_keys ON auth_token')
    op.execute('DROP FUNCTION wazo_like_auth_sessions_of_deleted_keys()')
    op.execute(_client_update_trigger(CLIENT_COLUMNS_0012))
