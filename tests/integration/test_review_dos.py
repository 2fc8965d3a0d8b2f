"""Review (resource exhaustion): what a client with little or no privilege can make the
service store or spend, measured by counts and sizes, not by wall time."""
from __future__ import annotations

from sqlalchemy import text

from tests.support.oauth_live import assert_oauth_error


def test_device_authorization_with_a_huge_scope_stores_nothing(api, make_client, engine):
    # A public client is all anyone needs to start device authorizations: its scope was
    # stored whole, up to the 1 MiB body limit per row, for each request (about 20 minutes).
    make_client('tv', public=True, name='Living room TV')
    scope = ' '.join(f's{i:06d}' for i in range(100_000))  # 800 kB of distinct tokens

    response = api.post_form('/oauth2/device_authorization',
                             {'client_id': 'tv', 'scope': scope})

    assert_oauth_error(response, 400, 'invalid_scope')
    with engine.connect() as conn:
        assert conn.scalar(text('SELECT count(*) FROM auth_device_code')) == 0
