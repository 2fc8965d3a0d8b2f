"""Fixes of the event triggers found in review.

- ``auth_client_updated`` also when the client's ``access_token_format`` or
  ``access_token_audience`` (migration 0010) changes: 0012 listed the columns whose change is
  an update without them, so turning a client's access tokens into JWTs, or changing the
  audience they are for, left no trace on the bus or in the audit trail.

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


def upgrade():
    op.execute(_client_update_trigger(CLIENT_COLUMNS))


def downgrade():
    op.execute(_client_update_trigger(CLIENT_COLUMNS_0012))
