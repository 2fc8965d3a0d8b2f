"""Review (rev8): this session's change on main (2ead5ff..d8ea6ac) and what sits beside it."""
from __future__ import annotations

from tests.support.envelope import assert_envelope


def test_updating_an_unknown_policy_slug_is_404_before_the_body_is_checked(admin):
    """Admin spec §3.6: PUT /policies/{policy_slug} resolves the slug in the scoping tenant
    (404) before it checks the body (400), as POST /groups and /policies now order theirs."""
    response = admin.put('/policies/no-such-policy', json={'name': None})

    assert_envelope(response, 404)
