"""Review (time): expiries and clocks at their boundaries, on every path that reads them."""
from __future__ import annotations

import time

from tests.support.jwt_access import unverified_claims
from tests.support.jwt_verifier import (auth_server, feed_token, issue, issuer,  # noqa: F401
                                        make_verifier, mono, status)
from tests.support.polling import wait_until


def test_a_jwt_revoked_just_before_it_expired_is_still_listed_while_verifiers_accept_it(
        make_verifier, issuer, api, feed_token, issue, clock, oauth_config):
    # An offline verifier accepts a JWT until exp + leeway (30 s by default). A JWT revoked a
    # few seconds before its exp, polled for after its exp: the feed left it out as soon as
    # its expires_at had passed, so the verifier never learnt of the revocation and accepted
    # the revoked token until exp + leeway (README: "until the next poll").
    lifetime = oauth_config['default_token_lifetime']
    clock.advance(-(lifetime - 3))  # issued so that it expires 3 s from now
    token = issue()
    clock.advance(lifetime - 3)
    exp = unverified_claims(token)['exp']
    verifier = make_verifier(auth_url=issuer, revocation_token=feed_token,
                             revocation_poll_interval=3600)
    assert status(verifier, token) == 200
    assert api.session.delete(f'{api.url}/token/{token}', timeout=10).status_code == 200

    assert wait_until(lambda: time.time() > exp + 1, timeout=10)  # the database's now()
    assert verifier.revocations.poll()

    assert status(verifier, token) == 401
