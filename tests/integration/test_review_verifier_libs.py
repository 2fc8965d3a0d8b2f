"""Defects found by the fourth review of the libraries backend services and applications embed
(wazo_like_auth.verifier, wazo_like_auth.client): each test fails on the code it was written
against. Real HTTP throughout: the real service, or a small WSGI peer standing for a broken or
hostile one."""
from __future__ import annotations

import contextlib
import threading
import uuid

import pytest

from tests.support.jwt_verifier import (auth_server, issuer, make_verifier, mint,  # noqa: F401
                                        mono, signing_keys, status)
from tests.support.live_server import (LiveServer, closed_port_url, drip_header, dripping,
                                       listening, outcome_within)
from wazo_like_auth.client import AuthClient, ServiceUnavailable, UnexpectedResponse
from wazo_like_auth.verifier import PushRevocation, TokenVerifier


def _no_bus() -> PushRevocation:
    """Push configured, its broker unreachable: the online check is GET, as with push."""
    return PushRevocation(closed_port_url().replace('http', 'amqp'), retry_initial_delay=60)


def test_with_push_a_check_answer_sent_a_byte_at_a_time_is_503_in_bounded_time():
    # The GET check of push mode reads its answer with response.json(): each byte arrives
    # within the read timeout, so the check never ends, and every request of the backend
    # needing it hangs (the HEAD check has no body; the key set, the feed and the client
    # library read theirs within connect + read timeouts).
    stop, answers = threading.Event(), []
    with LiveServer(dripping(stop)) as server:
        verifier = TokenVerifier(f'{server.url}/0.1', cache_ttl=0, push=_no_bus(),
                                 timeout=(1.0, 1.0))
        checker = threading.Thread(
            target=lambda: answers.append(status(verifier, str(uuid.uuid4()))), daemon=True)
        checker.start()
        checker.join(timeout=20)  # liveness, not speed: the budget is 2 s
        answered = list(answers)
        stop.set()
        verifier.close()
    assert answered == [503]


@pytest.fixture
def narrow_token(auth_server, make_user, login):
    """A real token of the service whose only ACL is confd.users.me.read."""
    make_user('erin', 's3cret', acl=['confd.users.me.read'])
    return login('erin', 's3cret').get_json()['data']['token']


@pytest.mark.parametrize('acl, tenant', [
    ('confd.users.' + 'a' * 17_000 + '.read', None),        # a long path value
    ('confd.users.' + '\u00e9' * 3000 + '.read', None),      # 18 KB once quoted
    ('confd.users.me.read', 'x' * 17_000),                   # a long Wazo-Tenant
], ids=['long path value', 'non-ASCII path value', 'long Wazo-Tenant'])
def test_a_check_whose_scope_or_tenant_is_too_long_for_the_service_is_no_outage(
        auth_server, narrow_token, caplog, acl, tenant):
    # The token is refused unasked past 16 KiB (a fix of the last round), but the scope and the
    # tenant, which the request's path and Wazo-Tenant header fill, go to the check's query
    # string unbounded: the service answers 414, and the verifier a 503 "Authentication server
    # unreachable" and a WARNING, per request, to anyone (no token needed: an unknown one does).
    # The token does not hold that access (nor that tenant): 403; an unknown token: 401.
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0)
    assert [status(verifier, narrow_token, acl, tenant),
            status(verifier, str(uuid.uuid4()), acl, tenant)] == [403, 401]
    assert 'answered 414' not in caplog.text


def _nested_json(environ, start_response):
    """A 200 JSON answer nested too deep for Python's json (well under the client's 1 MiB)."""
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [b'{"data": ' + b'[' * 100_000 + b']' * 100_000 + b'}']


def test_a_login_answer_nested_too_deep_is_an_unexpected_response():
    # The client's errors are typed (README: all AuthErrors); its error envelopes are read
    # with RecursionError caught (client_errors.body_field), as the verifier's key set is, but
    # a 200 login answer is read with only ValueError, KeyError and TypeError caught:
    # RecursionError out of token() (a misrouted base URL, a broken proxy).
    with LiveServer(_nested_json) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret')
        with pytest.raises(UnexpectedResponse):
            client.token()


@contextlib.contextmanager
def dripping_headers():
    """The URL of a peer that answers every request with a status line, then one header whose
    value it sends a byte every 0.1 s (each read gets a byte within any read timeout; the
    header never ends), until the block exits."""
    head = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: '
    with listening(lambda peer, stop: drip_header(peer, stop, head)) as (url, _):
        yield url



def test_a_login_answer_whose_headers_never_end_is_service_unavailable_in_bounded_time():
    # README: ServiceUnavailable for "an answer not whole within the connect + read timeouts".
    # bounded_http bounds the body only: the headers are read by requests' own call, each
    # byte within the read timeout, so token() waits for ever, holding the client's lock.
    with dripping_headers() as url:
        client = AuthClient(f'{url}/0.1', username='alice', password='s3cret',
                            timeout=(1.0, 1.0))
        assert outcome_within(client.token) == [ServiceUnavailable]


def test_a_key_set_whose_headers_never_end_fails_closed_in_bounded_time(make_verifier, mint):
    # README: a key set fetch "fails closed ... on one still arriving after the connect + read
    # timeout": not when the headers are what keeps arriving; every request needing the keys
    # waits on the key store's lock meanwhile.
    with dripping_headers() as url:
        verifier = make_verifier(jwks_url=f'{url}/certs', timeout=(1.0, 1.0))
        assert outcome_within(lambda: status(verifier, mint())) == [503]


def test_an_online_check_whose_headers_never_end_is_503_in_bounded_time():
    # DEFAULT_TIMEOUT is (connect, read) "so that a backend must not hang on its auth service".
    with dripping_headers() as url:
        verifier = TokenVerifier(f'{url}/0.1', cache_ttl=0, timeout=(1.0, 1.0))
        assert outcome_within(lambda: status(verifier, str(uuid.uuid4()))) == [503]
