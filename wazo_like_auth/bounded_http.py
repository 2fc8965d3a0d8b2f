"""HTTP exchanges whole within a deadline.

``requests``' timeouts bound each wait for the next bytes, not the whole answer: a server, or a
proxy before it, that sends its status line, headers or body one byte a second keeps a plain
``get`` for ever. Whoever must give up in time (the verifiers' token checks, key set and
revocation feed fetches, the client library's calls to the service) exchanges through
``BoundedHTTP.fetch``: a watchdog shuts the socket of the exchange's connection down at its
deadline, connect + read timeouts after it began, which ends any read waiting on it, and an
exchange that reached its deadline fails, whatever it had read by then (a status line read
whole with headers cut short is no answer).

Needs ``requests`` (the client library and the verifier both do); no other package.
"""
from __future__ import annotations

import contextlib
import functools
import socket
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import requests
from requests.adapters import HTTPAdapter

_CHUNK = 16 * 1024


class FetchFailed(Exception):
    """The request could not be sent, or its answer did not arrive whole in time, was too
    large, or broke off; the message says which (no value of the request or the answer)."""


@dataclass(frozen=True)
class Reply:
    """An answer read whole: status, headers, body (decoded)."""
    status_code: int
    headers: Any
    body: bytes


def budget(timeout: Any) -> float:
    """The whole time a request may take: its connect + read timeouts (requests'
    ``timeout``, one number or a pair); infinite when the caller asked for no limit."""
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if any(part is None for part in parts):
        return float('inf')
    return float(sum(parts))


class BoundedHTTP:
    """Exchanges with ``session``'s settings (verify, cert, proxies, headers, auth), each
    whole within its connect + read timeouts. Its connections are its own (not those of the
    session's mounted adapters), so that its watchdog can reach their sockets."""

    def __init__(self, session: requests.Session):
        self._session = session
        self._adapter = _WatchedAdapter()

    def fetch(self, method: str, url: str, *, timeout: Any, max_bytes: int,
              **kwargs: Any) -> Reply:
        """``method url`` (``kwargs`` of ``requests.Request``: params, headers, json, auth),
        not following redirects; its status, headers and at most ``max_bytes`` of body, all
        received within ``budget(timeout)`` seconds of the real clock. Raises FetchFailed, and
        nothing else: unreachable, too slow, too large, broken off, or a request that could
        not be prepared or sent (named by its exception's type only: requests' messages quote
        header values, a token among them)."""
        with self._adapter.watching(budget(timeout)) as watch:
            try:
                reply = self._exchange(method, url, timeout, max_bytes, kwargs)
            except FetchFailed as error:
                failure = error
            except Exception as error:  # noqa: BLE001 - any, so that no caller logs its message
                failure = FetchFailed(type(error).__name__)
            else:
                failure = None
        if watch.expired:
            raise FetchFailed('not whole in time')
        if failure is not None:
            raise failure  # raised here, out of the except: no context carrying the message
        return reply

    def _exchange(self, method: str, url: str, timeout: Any, max_bytes: int,
                  kwargs: dict[str, Any]) -> Reply:
        request = self._session.prepare_request(requests.Request(method, url, **kwargs))
        settings = self._session.merge_environment_settings(request.url, {}, True, None, None)
        settings['stream'] = True
        with self._adapter.send(request, timeout=timeout, **settings) as response:
            return Reply(response.status_code, response.headers,
                         _body_of(response, max_bytes))

    def close(self) -> None:
        """Close the connections kept open for later exchanges (the session's are its own)."""
        self._adapter.close()


def _body_of(response: Any, max_bytes: int) -> bytes:
    """The (decoded) body of a streamed ``requests`` response, at most ``max_bytes``, read by
    short reads that each return what has arrived (``read1``); raises FetchFailed."""
    raw = response.raw
    read = getattr(raw, 'read1', None) or raw.read  # read1: urllib3 2.3 and later
    body = bytearray()
    while True:
        try:
            chunk = read(_CHUNK, decode_content=True)
        except Exception as error:  # noqa: BLE001 - urllib3's (timeout, reset, bad encoding)
            raise FetchFailed(type(error).__name__) from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FetchFailed(f'over {max_bytes} bytes')


class _Watch:
    """One exchange's deadline: when it passes, the sockets of the connections the exchange
    uses are shut down (a retry of the session's adapter may use a second one)."""

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._sockets: list[tuple[Any, Any, bool]] = []  # (connection, socket, owned)
        self.expired = False
        self._ended = False
        self._timer = None
        if seconds != float('inf'):
            self._timer = threading.Timer(seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def attach(self, connection: Any, sock: Any, *, owned: bool = False) -> None:
        """Called by ``connection``, in the exchange's thread, with the socket it is about to
        wait on: a socket given after the deadline is cut at once. An ``owned`` socket (a
        duplicate) is the watch's own, closed when the exchange ends."""
        with self._lock:
            connection.deadline_watch = self
            self._sockets.append((connection, sock, owned))
            if self.expired:
                _cut(sock)

    def end(self) -> None:
        """The exchange is over: the timer stops, and the duplicates the watch holds are
        closed (they kept the connections' sockets open)."""
        with self._lock:
            self._ended = True
            for _, sock, owned in self._sockets:
                if owned:
                    sock.close()
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._ended:
                return
            self.expired = True
            for connection, sock, _ in self._sockets:
                # Not a connection another exchange took from the pool meanwhile.
                if getattr(connection, 'deadline_watch', None) is self:
                    _cut(sock)


def _cut(sock: Any) -> None:
    """Shut a connection's socket down: a read waiting on it returns at once (a close from
    another thread would not wake it); the pool then sees the connection dropped."""
    try:
        _network_socket(sock).shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its peer or its owner


def _network_socket(sock: Any) -> Any:
    """The socket beneath ``sock``: urllib3's SSLTransport (TLS to the service inside TLS to
    an https proxy) has no shutdown of its own, the socket it wraps (``.socket``) has."""
    while not hasattr(sock, 'shutdown') and hasattr(sock, 'socket'):
        sock = sock.socket
    return sock


class _Watched:
    """Mixed into a pool's connection class: tells the current exchange's watch (of its
    thread, in the adapter's ``_deadline_watches``, set on the subclass) that it holds the
    connection, as soon as it has a socket."""

    _deadline_watches: threading.local
    deadline_watch: _Watch | None = None  # the watch of the exchange that last held it

    def _new_conn(self) -> Any:
        # urllib3's connect() makes the socket here, then reads on it before it returns: a
        # proxy's CONNECT answer, a TLS handshake. The watch gets a duplicate: the TLS layer
        # takes the socket object itself over (detach), and a shutdown of the duplicate
        # ends any read on the connection all the same.
        sock = super()._new_conn()
        watch = self._watch()
        if watch is not None:
            try:
                watch.attach(self, sock.dup(), owned=True)
            except OSError:
                sock.close()  # out of descriptors: no unwatched connection
                raise
        return sock

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        # A connection reused from the pool was made under an earlier exchange's watch.
        watch = self._watch()
        if watch is not None and getattr(self, 'sock', None) is not None:
            # The socket, not the connection: http.client may hand it to the response and
            # take it off the connection (``Connection: close``).
            watch.attach(self, self.sock)
        return super().getresponse(*args, **kwargs)

    def _watch(self) -> _Watch | None:
        return getattr(self._deadline_watches, 'watch', None)


class _WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools make connections that report to the thread's watch."""

    def __init__(self) -> None:
        self._watches = threading.local()
        # Guards the wrapping of managers: two first exchanges through a proxy at once both
        # found its manager new and wrapped it twice, which broke its every pool for good.
        self._wrapping = threading.Lock()
        self._classes: dict[type, type] = {}  # connection class -> its watched subclass
        super().__init__()

    @contextlib.contextmanager
    def watching(self, seconds: float) -> Iterator[_Watch]:
        watch = _Watch(seconds)
        self._watches.watch = watch
        try:
            yield watch
        finally:
            self._watches.watch = None
            watch.end()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        with self._wrapping:
            super().init_poolmanager(*args, **kwargs)
            self._watch_pools_of(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        with self._wrapping:
            manager = super().proxy_manager_for(proxy, **kwargs)
            self._watch_pools_of(manager)
        return manager

    def _watch_pools_of(self, manager: Any) -> None:
        """Make the pools ``manager`` makes from now on make watched connections; once per
        manager, however often asked (the caller holds ``_wrapping``)."""
        if getattr(manager, 'deadline_watched', False):
            return
        manager.pool_classes_by_scheme = {
            scheme: functools.partial(_watched_pool, pool_class,
                                      self._watched(pool_class.ConnectionCls))
            for scheme, pool_class in manager.pool_classes_by_scheme.items()}
        manager.deadline_watched = True

    def _watched(self, base: type) -> type:
        """The subclass of connection class ``base`` reporting to this adapter's watches."""
        if base not in self._classes:
            self._classes[base] = type(f'Watched{base.__name__}', (_Watched, base),
                                       {'_deadline_watches': self._watches})
        return self._classes[base]


def _watched_pool(pool_class: type, connection_class: type, *args: Any, **kwargs: Any) -> Any:
    """A pool of ``pool_class`` making connections of ``connection_class``."""
    pool = pool_class(*args, **kwargs)
    pool.ConnectionCls = connection_class
    return pool
