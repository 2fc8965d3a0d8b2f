"""The JWT-mode verifier's revocation feed, polled from the real service (``GET
/api/auth/0.1/tokens/revoked`` of the served process, with real service tokens): a JWT the
service issued and then revoked (``DELETE /token/{jwt}``, RFC 7009, session or user deletion)
is accepted offline until the verifier's next poll (the documented trade-off; the online check
refuses it at once) and refused after it; the cursor the feed answers is sent back; the last
known set survives a feed that is gone, refuses the service token or answers nonsense; an entry
goes once its token is dead.

Only the nonsense answer is played by a test peer (in front of the real feed): the real service
cannot produce one.
"""
from __future__ import annotations

import json
import logging
import threading

import pytest
import requests

from tests.support.jwt_access import (feed, revoked_jtis, rfc7009, session_delete,
                                      unverified_claims, user_delete, users_jwt, wazo_delete)
from tests.support.jwt_verifier import (AUDIENCE, FEED_ACL, FEED_PATH,  # noqa: F401
                                        auth_server, feed_token, issue, issuer, make_verifier,
                                        mint, mono, signing_keys, status)
from tests.support.live_server import LiveServer, dripping
from tests.support.polling import wait_until
from wazo_like_auth.client import AuthClient
from wazo_like_auth.verifier import TokenVerifier


def polling(make_verifier, issuer, token, **options):
    """A verifier of the global issuer for its default audience, polling the real feed at
    ``auth_url`` (the issuer's API base unless told) with ``token``, every hour: the tests poll
    by hand."""
    options = {'auth_url': issuer, 'audience': issuer, 'revocation_poll_interval': 3600,
               **options}
    return make_verifier(revocation_token=token, **options)


def settled(verifier, server: LiveServer) -> None:
    """Let the poll that the first verification started in the background finish, then poll
    once more: the poller now sleeps for its interval, so the test says when the next poll
    happens (``poll`` holds a lock while it asks, so it waits for the one under way)."""
    assert wait_until(lambda: server.count('GET', FEED_PATH) >= 1)
    assert verifier.revocations.poll()


def revoked(api, token: str) -> str:
    """``token`` revoked with DELETE /token/{token}; its jti."""
    assert api.session.delete(f'{api.url}/token/{token}', timeout=10).status_code == 200
    return unverified_claims(token)['jti']


@pytest.fixture
def world(api, admin_token, make_user, realm):
    """alice's JWT (password grant of the jwt client webapp, default audience: the issuer)."""
    return users_jwt(api, admin_token, make_user, realm)


@pytest.mark.parametrize('revoke', [wazo_delete, rfc7009, session_delete, user_delete])
def test_a_jwt_revoked_at_the_service_is_refused_offline_after_the_next_poll(
        make_verifier, issuer, auth_server, feed_token, issue, world, revoke):
    verifier = polling(make_verifier, issuer, feed_token)
    online = TokenVerifier(issuer, cache_ttl=0)
    token, acl = world['token'], f"confd.users.{world['alice']}.read"
    other = issue(audience=None)  # another client's JWT, revoked by nothing here
    assert status(verifier, token, acl) == 200 and status(online, token, acl) == 200
    settled(verifier, auth_server)

    revoke(world)

    assert status(online, token, acl) == 401  # online: refused at once
    assert status(verifier, token, acl) == 200  # offline: accepted until the next poll
    assert verifier.revocations.poll()
    assert status(verifier, token, acl) == 401
    assert world['claims']['jti'] in verifier.revocations
    assert status(verifier, other) == 200


def test_a_key_retired_for_a_leak_is_refused_offline_after_the_next_poll(
        make_verifier, issuer, auth_server, feed_token, api, mint, signing_keys, mono):
    # The verifier keeps certs for its max-age (5 minutes): before, a token forged with the
    # leaked key passed for that long after `keys retire`, which revoked only the jtis of the
    # tokens the service had issued with it.
    verifier = polling(make_verifier, issuer, feed_token, audience=AUDIENCE)
    leaked = signing_keys.active()
    assert status(verifier, mint(scope='#')) == 200  # certs fetched, the key in them
    settled(verifier, auth_server)
    assert feed(api, feed_token)['retired_keys'] == []

    signing_keys.retire(leaked.kid)
    forged = mint(key=leaked, scope='#')  # signed with the leaked key, after it was retired

    assert status(verifier, forged) == 200  # until the next poll (the documented trade-off)
    assert verifier.revocations.poll()
    assert status(verifier, forged) == 401
    assert feed(api, feed_token, since='0')['retired_keys'] == [leaked.kid]  # whatever since
    mono.advance(10)  # the verifier may fetch certs again for the key that took over
    assert status(verifier, mint(scope='#')) == 200


def test_polls_send_back_the_cursor_the_feed_answered(make_verifier, issuer, auth_server,
                                                      feed_token, issue, api):
    verifier = polling(make_verifier, issuer, feed_token)
    first, second = revoked(api, issue()), revoked(api, issue())
    assert verifier.revocations.poll()
    third = revoked(api, issue())
    assert verifier.revocations.poll()

    assert all(jti in verifier.revocations for jti in (first, second, third))
    initial, later = auth_server.queries(FEED_PATH)
    assert initial == '' and later.startswith('since=')
    # The cursor sent is the feed's own, of after the first two revocations.
    assert revoked_jtis(api, feed_token, since=later[len('since='):]) == {third}


def test_the_service_token_may_come_from_the_client_library(make_verifier, issuer, api,
                                                            make_user, issue):
    make_user('feed-reader', 'r3ader', acl=[FEED_ACL])
    reader = AuthClient(api.url, username='feed-reader', password='r3ader')
    calls = []
    verifier = polling(make_verifier, issuer, lambda: calls.append(1) or reader.token())
    gone = revoked(api, issue())
    assert verifier.revocations.poll() and gone in verifier.revocations
    assert verifier.revocations.poll()
    assert len(calls) == 2  # asked at every poll, so it may renew the token


def test_a_feed_gone_keeps_the_known_set_and_warns(make_verifier, issuer, oauth_app, feed_token,
                                                  issue, api, caplog):
    token = issue()
    with LiveServer(oauth_app) as feed_server:  # the service, then it goes away
        verifier = polling(make_verifier, issuer, feed_token,
                           auth_url=f'{feed_server.url}/api/auth/0.1', audience='confd')
        revoked(api, token)
        assert verifier.revocations.poll()
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        assert not verifier.revocations.poll()
    assert 'unreachable' in caplog.text
    assert 'keeping the 1 known revoked tokens' in caplog.text
    assert feed_token not in caplog.text
    assert status(verifier, token) == 401


def _no_token():
    raise RuntimeError('the token service is down')


@pytest.mark.parametrize('credential, logged', [
    ('not-a-token', 'answered HTTP 401'),
    ('user', 'answered HTTP 401'),  # a real token without the feed's ACL
    (_no_token, 'no service token (RuntimeError)'),
])
def test_a_refused_service_token_changes_nothing(make_verifier, issuer, api, make_user, issue,
                                                 caplog, credential, logged):
    if credential == 'user':
        make_user('alice', 's3cret', acl=['confd.#'])
        credential = api.login('alice', 's3cret')
    verifier = polling(make_verifier, issuer, credential, audience='confd')
    token = issue()
    revoked(api, token)
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        assert not verifier.revocations.poll()
    assert logged in caplog.text
    assert status(verifier, token) == 200  # nothing learnt: accepted until its expiry


def test_an_entry_goes_once_its_token_has_expired_past_the_leeway(make_verifier, issuer, api,
                                                                  feed_token, issue):
    token = issue()
    exp = unverified_claims(token)['exp']
    jti = revoked(api, token)
    now = [exp + 29.0]
    verifier = polling(make_verifier, issuer, feed_token, leeway=30, wall_clock=lambda: now[0])
    assert verifier.revocations.poll() and jti in verifier.revocations
    now[0] = exp + 31.0
    assert verifier.revocations.poll()
    assert jti not in verifier.revocations  # forgotten: the token is dead anyway
    assert jti in revoked_jtis(api, feed_token)  # though the feed still lists it


# A test peer, because the real service cannot produce this failure: its feed always answers
# the documented shape (or an error status, tested above). What a verifier may still get is
# what stands between them: a proxy's maintenance page, a misrouted request, a broken cache.
class FeedInFront:
    """A test peer in front of the real feed: it forwards (query and X-Auth-Token) until
    ``answer`` holds a body of its own (a status and bytes) to send instead."""

    def __init__(self, feed_url: str):
        self.feed_url, self.answer = feed_url, None

    def __call__(self, environ, start_response):
        if self.answer is None:
            real = requests.get(f"{self.feed_url}?{environ.get('QUERY_STRING', '')}",
                                headers={'X-Auth-Token': environ.get('HTTP_X_AUTH_TOKEN', '')},
                                timeout=10)
            status, body = f'{real.status_code} Real', real.content
        else:
            status, body = self.answer
        start_response(status, [('Content-Type', 'application/json')])
        return [body]


def _json(value) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize('answer', [
    b'<html>maintenance</html>',
    _json(['not', 'an', 'object']),
    _json({'items': 'none', 'cursor': '1'}),
    _json({'items': []}),
    _json({'items': [], 'cursor': 17}),
    _json({'items': [{'jti': 'x'}], 'cursor': '1'}),
    _json({'items': [{'jti': '', 'expires_at': '2099-01-01T00:00:00+00:00'}], 'cursor': '1'}),
    _json({'items': [{'jti': 'x', 'expires_at': '2099-01-01T00:00:00'}], 'cursor': '1'}),
    _json({'items': [{'jti': 'x', 'expires_at': 'tomorrow'}], 'cursor': '1'}),
    _json({'items': ['x'], 'cursor': '1'}),
], ids=lambda answer: answer.decode()[:40])
def test_a_malformed_answer_changes_nothing(make_verifier, issuer, feed_token, issue, api,
                                            caplog, answer):
    token = issue()
    peer = FeedInFront(f'{issuer}/tokens/revoked')
    with LiveServer(peer) as front:
        verifier = polling(make_verifier, issuer, feed_token, audience='confd',
                           auth_url=f'{front.url}/api/auth/0.1')
        gone = revoked(api, token)
        assert verifier.revocations.poll() and gone in verifier.revocations
        peer.answer = ('200 OK', answer)
        with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
            assert not verifier.revocations.poll()
    assert 'keeping the 1 known revoked tokens' in caplog.text
    assert status(verifier, token) == 401
    assert 'x' not in verifier.revocations


def test_polling_needs_where_and_with_what(make_verifier, issuer):
    with pytest.raises(ValueError):
        make_verifier(auth_url=issuer, revocation_poll_interval=10)
    with pytest.raises(ValueError):
        make_verifier(revocation_token='t', revocation_poll_interval=10)


@pytest.mark.parametrize('interval', [0, -1, float('nan'), float('inf')])
def test_polling_needs_an_interval_above_0(make_verifier, issuer, interval):
    # 0 polled the service in a tight loop: every verifier so configured a flood of requests.
    with pytest.raises(ValueError, match='revocation_poll_interval'):
        make_verifier(auth_url=issuer, revocation_token='t', revocation_poll_interval=interval)


def test_a_feed_answer_that_never_ends_fails_in_bounded_time(make_verifier, issuer, feed_token):
    # A feed (or a proxy in front of it) sending its body a byte at a time, each within the
    # read timeout: the poll must fail as an unreachable feed does, within about the connect
    # + read timeout, as the key set's fetch does. Before: it waited for ever, holding the
    # poll lock, and the poller thread never polled again, silently: every token revoked from
    # then on was accepted offline until it expired.
    stop, polled = threading.Event(), []

    with LiveServer(dripping(stop)) as front:
        verifier = polling(make_verifier, issuer, feed_token, audience='confd',
                           auth_url=f'{front.url}/api/auth/0.1', timeout=(1.0, 1.0))
        poller = threading.Thread(target=lambda: polled.append(verifier.revocations.poll()),
                                  daemon=True)
        poller.start()
        poller.join(timeout=30)  # liveness, not speed: the budget is 2 s
        answered = list(polled)
        stop.set()
    assert answered == [False]


def test_a_feed_token_from_the_client_library_that_dies_is_replaced_at_the_next_poll(
        make_verifier, issuer, api, make_user, issue, caplog):
    # README's setup: revocation_token=feed_reader.token (an AuthClient with a password).
    # When the reader's token dies before its renewal time (its sessions ended by an
    # administrator, its password changed, ...), the feed answers 401 and AuthClient.token()
    # hands the same dead token out until its renewal margin (about 54 minutes of a 1 hour
    # token): every poll fails, and every JWT revoked meanwhile is accepted offline for that
    # long, although the feed is up and the client could log in again at once.
    make_user('feed-reader', 'r3ader', acl=[FEED_ACL])
    reader = AuthClient(api.url, username='feed-reader', password='r3ader')
    verifier = polling(make_verifier, issuer, reader.token)
    assert verifier.revocations.poll()
    dead = reader.token()  # the reader's session ended at the service:
    assert api.session.delete(f'{api.url}/token/{dead}', timeout=10).status_code == 200

    token = issue()
    gone = revoked(api, token)
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        learnt = verifier.revocations.poll() or verifier.revocations.poll()
    assert learnt and gone in verifier.revocations, caplog.text
    assert status(verifier, token) == 401


def test_a_feed_token_with_a_line_break_is_a_failed_poll_not_logged(make_verifier, issuer,
                                                                     feed_token, caplog):
    # A token read from a file keeps its final newline (revocation_token=path.read_text()).
    # bounded_http.BoundedHTTP.fetch prepares the request (requests' header check) before its
    # try: requests' InvalidHeader, which quotes the header's value, the token, escapes
    # _get (which catches only FetchFailed) and poll() itself; the polling thread logs it with
    # logger.exception at every poll, token and all. Before BoundedHTTP, the session's get
    # raised it inside the try: a failed poll, "unreachable (InvalidHeader)", no token.
    verifier = polling(make_verifier, issuer, feed_token + '\n')
    with caplog.at_level(logging.DEBUG):
        try:
            polled = verifier.revocations.poll()
        except Exception as error:  # noqa: BLE001 - what the polling thread would log
            logging.getLogger('wazo_like_auth.verifier.revocations').exception(
                'revocation feed: unexpected failure; polling goes on')
            polled = type(error)
    assert polled is False
    assert feed_token not in caplog.text
