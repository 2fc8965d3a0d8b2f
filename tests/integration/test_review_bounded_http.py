"""Defects found by the fifth review of the libraries backend services and applications embed
(wazo_like_auth.bounded_http under the verifiers and the client): each test fails on the code
it was written against. Real sockets throughout: small peers standing for a proxy or a
keep-alive auth service."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid

import requests
from requests.adapters import HTTPAdapter
from urllib3 import ProxyManager

from tests.support.jwt_verifier import status
from tests.support.live_server import (EMPTY_JSON, NO_CONTENT, drip_header, listening,
                                       outcome_within, request_heads)
from wazo_like_auth.client import AuthClient, ServiceUnavailable
from wazo_like_auth.verifier import JwtVerifier, TokenVerifier

SERVICE = 'https://auth.example.com'  # never resolved: every exchange goes through the proxy


def _dripping_connect(peer: socket.socket, stop: threading.Event) -> None:
    """A proxy answering CONNECT with a status line, then one header that never ends."""
    drip_header(peer, stop, b'HTTP/1.1 200 Connection established\r\nX-Pad: ')


def _proxied(proxy: str) -> requests.Session:
    session = requests.Session()
    session.proxies = {'https': proxy}
    return session


def _jwt_header_only() -> str:
    """A token whose header names a key (so the verifier fetches the key set); no valid
    signature is needed to get that far."""
    header = {'typ': 'at+jwt', 'alg': 'RS256', 'kid': 'k1'}
    part = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b'=').decode()
    return f'{part}.e30.c2ln'


def test_an_online_check_through_a_proxy_whose_connect_answer_never_ends_is_503_in_bounded_time():
    # README: "a session= given lends its settings, verify, cert, proxies, headers" and the
    # check's whole answer must arrive within the connect + read timeout. An https auth_url
    # through an HTTP proxy is tunnelled: urllib3 reads the proxy's CONNECT answer inside
    # connect(), and the watchdog is only told of the connection after connect() returns
    # (bounded_http._Watched.connect): the proxy's answer, a byte at a time, is waited for
    # without end, and so is every request of the backend needing a check.
    with listening(_dripping_connect) as (proxy, _):
        verifier = TokenVerifier(f'{SERVICE}/0.1', cache_ttl=0, timeout=(1.0, 1.0),
                                 session=_proxied(proxy))
        assert outcome_within(lambda: status(verifier, str(uuid.uuid4()))) == [503]


def test_a_client_login_through_a_proxy_whose_connect_answer_never_ends_is_service_unavailable():
    # Same cause: AuthClient.token() waits for ever, holding the client's lock (every thread of
    # the application that needs a token).
    with listening(_dripping_connect) as (proxy, _):
        client = AuthClient(f'{SERVICE}/0.1', username='alice', password='s3cret',
                            timeout=(1.0, 1.0), session=_proxied(proxy))
        assert outcome_within(client.token) == [ServiceUnavailable]


def test_a_key_set_fetch_through_a_proxy_whose_connect_answer_never_ends_fails_closed():
    # Same cause, for the JWT verifier (an https issuer's keys are fetched over https only, so
    # a proxy is always a CONNECT tunnel): the fetch holds the key store's lock for ever.
    with listening(_dripping_connect) as (proxy, _):
        verifier = JwtVerifier(f'{SERVICE}/api/auth/0.1', 'confd', jwks_url=f'{SERVICE}/certs',
                               timeout=(1.0, 1.0), session=_proxied(proxy))
        try:
            assert outcome_within(lambda: status(verifier, _jwt_header_only())) == [503]
        finally:
            verifier.close()


class _KeepAlive:
    """An HTTP/1.1 peer keeping its connections open: 204 to HEAD, ``{}`` to anything else;
    counts the connections its clients still hold open."""

    def __init__(self):
        self._lock = threading.Lock()
        self.open = 0

    def __call__(self, peer: socket.socket, stop: threading.Event) -> None:
        with self._lock:
            self.open += 1
        try:
            with peer:
                for head in request_heads(peer):
                    peer.sendall(NO_CONTENT if head.startswith(b'HEAD ') else EMPTY_JSON)
        except OSError:
            return
        finally:
            with self._lock:
                self.open -= 1


def test_a_closed_verifier_and_its_closed_session_leave_no_connection_open():
    # Before bounded_http, the check went over the given session's pools, which
    # session.close() closes. Now it goes over BoundedHTTP's own adapter, which neither the
    # session's close() nor TokenVerifier.close() reaches (JwtVerifier.close() neither): the
    # keep-alive connection to the auth service stays open until the garbage collector finds
    # it (a verifier made per tenant or per issuer leaks one per verifier and per thread).
    peer = _KeepAlive()
    with listening(peer) as (url, _):
        session = requests.Session()
        verifier = TokenVerifier(f'{url}/0.1', cache_ttl=0, timeout=(1.0, 1.0),
                                 session=session)
        assert status(verifier, str(uuid.uuid4())) == 200
        assert peer.open == 1
        verifier.close()
        session.close()
        deadline = time.monotonic() + 5
        while peer.open and time.monotonic() < deadline:
            time.sleep(0.05)
        assert peer.open == 0


def test_two_first_checks_at_once_through_a_proxy_do_not_break_the_verifier_for_good(
        monkeypatch):
    # _WatchedAdapter.proxy_manager_for decides whether the proxy's manager is new
    # ("fresh") before asking requests for it, without a lock: two threads making their first
    # check through the proxy at once can both find it fresh, and both wrap the same
    # manager's pool classes, the second around the first. Every pool of that manager is then
    # built by the outer wrapper on a connection class that is already a functools.partial:
    # AttributeError ('__name__'), not FetchFailed, out of verify() (a 500 in the backend),
    # at this check and every later one through that proxy, until the process restarts.
    # The sleeps stand for thread switches (with a 5 ms switch interval, a switch lasts far
    # longer than the few steps each covers here): the second thread, having found the proxy
    # fresh, is switched out before requests' own lookup until the first has made and wrapped
    # the manager; the first is switched out before asking the manager for its pool.
    original, original_pool = HTTPAdapter.proxy_manager_for, ProxyManager.connection_from_host
    manager_waits, pool_waits = iter([0.2, 0.3]), iter([0.4])

    def switched(self, proxy, **kwargs):
        time.sleep(next(manager_waits, 0))
        return original(self, proxy, **kwargs)

    def switched_pool(self, *args, **kwargs):
        time.sleep(next(pool_waits, 0))
        return original_pool(self, *args, **kwargs)
    monkeypatch.setattr(HTTPAdapter, 'proxy_manager_for', switched)
    monkeypatch.setattr(ProxyManager, 'connection_from_host', switched_pool)
    peer = _KeepAlive()
    with listening(peer) as (proxy, _):
        session = requests.Session()
        session.proxies = {'http': proxy}  # plain HTTP through a forwarding proxy
        verifier = TokenVerifier('http://auth.example.com/0.1', cache_ttl=0,
                                 timeout=(1.0, 1.0), session=session)
        outcomes: list = []
        checks = [threading.Thread(
            target=lambda: outcomes.extend(outcome_within(lambda: status(verifier, 'a-token'))))
            for _ in range(2)]
        for check in checks:
            check.start()
            time.sleep(0.05)  # in this order
        for check in checks:
            check.join()
        later = outcome_within(lambda: status(verifier, 'a-token'))
    assert (outcomes, later) == ([200, 200], [200])
