"""The revocation feed, polled for the JWT mode: the ``jti`` of revoked JWT access tokens.

The trade-off, plainly: a JWT is verified offline, so a token revoked at the service (logout,
``DELETE /token``, a disabled user, ...) is still accepted by a backend until its next poll,
``revocation_poll_interval`` seconds at most while the feed answers, and for as long as it does
not. The online mode (``TokenVerifier``) asks the service on every request and never accepts a
revoked token (beyond its own ``cache_ttl``).

The feed, as wazo-like-auth serves it::

    GET {auth_url}/tokens/revoked[?since=<cursor>]
    X-Auth-Token: <a token whose ACL holds auth.tokens.revoked.read>

    200 {"items": [{"jti": "<jti>", "expires_at": "<ISO 8601 with an offset>"}, ...],
         "cursor": "<opaque string>", "retired_keys": ["<kid>", ...]}

Without ``since`` it lists every revoked JWT whose expiry is still to come; with the cursor of
the previous answer, those revoked since. ``retired_keys``, in every answer: the signing keys
retired for a leak lately (``keys retire``), whose tokens are refused even while a ``certs``
fetched before still holds the key (a feed without it retires none). A jti is forgotten once
its ``expires_at`` (plus the verifier's leeway, during which the token would still pass) is
past: the token is dead anyway.

If a poll fails (unreachable, not 200, an answer not of that shape, the service token not
obtainable), the known set stays as it is, the cursor is not moved, and a warning is logged
(never a token). Except when the feed refuses the cursor itself (400 ``invalid-cursor``: its
database was restored or replaced, and no longer knows it): the same poll then lists every
revoked token again from no cursor, rather than sending a dead cursor forever. When the feed
refuses the service token (401: its session ended, its user's password changed, ...), the next
poll asks a token source that takes a ``refused`` keyword (as ``AuthClient.token`` does) for a
replacement of that token, rather than sending a dead one until its source renews it on its own
schedule (most of its lifetime, all revocations unknown meanwhile). The first poll
runs when the first token is verified, in the background: until it has answered, no jti is
known.
"""
from __future__ import annotations

import datetime as dt
import inspect
import json
import threading
from typing import Any, Callable

from ..bounded_http import BoundedHTTP, FetchFailed
from ..logs import get_logger
from .background import ProcessThread

logger = get_logger(__name__)

PATH = '/tokens/revoked'
# A first poll lists every revoked JWT still to expire (about 100 bytes each); more than this
# is no answer of a feed.
_MAX_BODY = 64 * 1024 * 1024


class _FeedFailed(Exception):
    pass


class _CursorRefused(_FeedFailed):
    pass


class RevocationFeed:
    """The set of revoked jtis, kept up to date by a daemon thread polling every ``interval``
    seconds; ``token`` is the service token, or a callable returning one (e.g. the ``token``
    method of ``wazo_like_auth.client.AuthClient``, which renews it). A callable taking a
    ``refused`` keyword is passed, at the poll after a 401, the token the feed refused."""

    def __init__(self, auth_url: str, *, token: str | Callable[[], str], interval: float,
                 keep_for: float, http: BoundedHTTP, timeout: Any,
                 wall_clock: Callable[[], float]):
        self._url = auth_url.rstrip('/') + PATH
        self._token, self._interval, self._keep_for = token, interval, keep_for
        self._replaces = _takes_refused(token)
        self._refused: str | None = None  # the token of the last 401, for its source
        self._http, self._timeout, self._wall_clock = http, timeout, wall_clock
        self._revoked: dict[str, float] = {}  # jti -> when it may be forgotten (epoch s)
        self._retired_keys: frozenset[str] = frozenset()
        self._cursor: str | None = None
        self._poll_lock = threading.Lock()
        self._worker = ProcessThread(self._run, 'wazo-like-auth-revocation-feed')

    def __contains__(self, jti: str) -> bool:
        return jti in self._revoked  # the dict is replaced whole by a poll, never mutated

    def key_retired(self, kid: str) -> bool:
        """Whether the feed's last answer lists ``kid`` as retired for a leak."""
        return kid in self._retired_keys

    def start(self) -> None:
        """Start polling in this process, if not already (a forked worker starts its own)
        and not stopped."""
        self._worker.start()

    def stop(self) -> None:
        """Stop polling for good (the known set stays, ``poll`` still works)."""
        self._worker.stop()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a dead poller would accept revoked tokens forever
                logger.exception('revocation feed %s: unexpected failure; polling goes on',
                                 self._url)
            stop.wait(self._interval)

    def poll(self) -> bool:
        """Ask the feed once; True when its answer was applied (see the module docstring)."""
        with self._poll_lock:
            try:
                items, cursor, retired_keys = _parsed(self._ask_from_cursor())
            except _FeedFailed as failure:
                logger.warning('revocation feed %s: %s; keeping the %d known revoked tokens',
                               self._url, failure, len(self._revoked))
                return False
            now = self._wall_clock()
            revoked = {jti: until for jti, until in self._revoked.items() if until > now}
            revoked.update((jti, until + self._keep_for) for jti, until in items
                           if until + self._keep_for > now)
            self._revoked, self._cursor = revoked, cursor
            self._retired_keys = retired_keys
            return True

    def _ask_from_cursor(self) -> Any:
        """The feed's answer since the cursor, or, if the feed refuses it, since nothing."""
        try:
            return self._ask()
        except _CursorRefused:
            logger.warning('revocation feed %s: refused our cursor (its database restored or '
                           'replaced?); listing every revoked token again', self._url)
            self._cursor = None
            return self._ask()

    def _ask(self) -> Any:
        params = {} if self._cursor is None else {'since': self._cursor}
        try:
            token = self._service_token()
        except Exception as error:  # noqa: BLE001 - whatever the token source raises, keep going
            raise _FeedFailed(f'no service token ({type(error).__name__})') from None
        status, body = self._get(params, token)
        if status == 401:
            self._refused = token  # the next poll asks its source for another
        if status == 400 and params and _error_id(body) == 'invalid-cursor':
            raise _CursorRefused('refused the cursor')
        if status != 200:
            raise _FeedFailed(f'answered HTTP {status}')
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise _FeedFailed('answered something else than JSON') from None

    def _service_token(self) -> str:
        """The token to send: the source's, told of the one refused last if it takes that."""
        if not callable(self._token):
            return self._token
        refused, self._refused = self._refused, None
        if refused is not None and self._replaces:
            return self._token(refused=refused)
        return self._token()

    def _get(self, params: dict, token: str) -> tuple[int, bytes]:
        """The status and body of the feed's answer, whole (status line, headers, body) within
        connect + read timeouts: an answer sent a byte at a time held the poll, and so
        revocation, for ever."""
        try:
            reply = self._http.fetch('GET', self._url, params=params, timeout=self._timeout,
                                     headers={'X-Auth-Token': token}, max_bytes=_MAX_BODY)
        except FetchFailed as error:
            raise _FeedFailed(f'unreachable ({error})') from None
        return reply.status_code, reply.body


def _parsed(document: Any) -> tuple[list[tuple[str, float]], str, frozenset[str]]:
    """The (jti, expiry as epoch seconds) items, the cursor and the retired kids of a feed
    answer."""
    if not isinstance(document, dict) or not isinstance(document.get('items'), list) \
            or not isinstance(document.get('cursor'), str):
        raise _FeedFailed('answered an unexpected document')
    retired = document.get('retired_keys', [])
    if not isinstance(retired, list) or not all(isinstance(kid, str) for kid in retired):
        raise _FeedFailed('answered unexpected retired keys')
    items = []
    for item in document['items']:
        jti = item.get('jti') if isinstance(item, dict) else None
        until = _epoch(item.get('expires_at')) if isinstance(item, dict) else None
        if not isinstance(jti, str) or not jti or until is None:
            raise _FeedFailed('answered an unexpected item')
        items.append((jti, until))
    return items, document['cursor'], frozenset(retired)


def _takes_refused(source: Any) -> bool:
    """Whether the token source ``source`` accepts a ``refused`` keyword argument."""
    if not callable(source):
        return False
    try:
        return 'refused' in inspect.signature(source).parameters
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False


def _error_id(body: bytes) -> Any:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return document.get('error_id') if isinstance(document, dict) else None


def _epoch(value: Any) -> float | None:
    """An ISO 8601 time with an offset, as epoch seconds; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
