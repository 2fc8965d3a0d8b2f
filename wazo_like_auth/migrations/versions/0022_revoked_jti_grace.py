"""The revocation feed keeps a JWT deleted in the 5 minutes after its expiry, not only one
deleted before it by PostgreSQL's clock.

0010's trigger wrote a deleted token only when ``expires_at > clock_timestamp()``: the
database's clock, while ``expires_at`` (and the JWT's ``exp``) come from the service's, and
offline verifiers accept a token until ``exp`` plus their leeway by theirs. With the database
a few seconds ahead, a JWT revoked in its last seconds was left off the feed, and so was one
revoked just after its exp (within the verifiers' leeway): verifiers accepted it until then.
Now the trigger keeps what the feed would list (``revoked_jtis.LISTED_PAST_EXPIRY``, 300 s)
except the deletes of the expired-token purge (``wazo_like_auth.quiet_revocation``, as 0002's
NOTIFY): expiry is no revocation, and every JWT would otherwise go through the feed.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

revision = '0022'
down_revision = '0021'

_FUNCTION = """
CREATE OR REPLACE FUNCTION wazo_like_auth_record_revoked_jti() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    {quiet}INSERT INTO auth_revoked_jti (jti, expires_at)
    SELECT jti, expires_at FROM old_tokens
    WHERE jti IS NOT NULL AND expires_at > {since};
    RETURN NULL;
END;
$$;
"""

_QUIET = """IF current_setting('wazo_like_auth.quiet_revocation', true) = 'on' THEN
        RETURN NULL;
    END IF;
    """


def upgrade():
    op.execute(_FUNCTION.format(quiet=_QUIET,
                                since="clock_timestamp() - interval '300 seconds'"))


def downgrade():
    op.execute(_FUNCTION.format(quiet='', since='clock_timestamp()'))
