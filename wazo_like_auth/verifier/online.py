"""Online mode: every token is checked by the service (``HEAD /token/{token}?scope=...``).

Depends on ``flask`` and ``requests`` only.

    verifier = TokenVerifier('http://127.0.0.1:9497/0.1', cache_ttl=5.0)

    @app.get('/users/<user_uuid>/profile')
    @verifier.required_acl('confd.users.{user_uuid}.read')
    def profile(user_uuid): ...

Contract of ``required_acl(template)``:
- the token comes from ``X-Auth-Token``, else ``Authorization: Bearer``;
- the ACL is ``template`` formatted with the route's view arguments, each value with ``.``
  replaced by ``_`` (as the service does), so a path value cannot add ACL segments;
- a token of 16 KiB or more once quoted in the path, or made of dots only (``..`` would take
  the check to another path), is refused without asking (JWT access tokens are checked online
  too: the service accepts them in the path);
- ``Wazo-Tenant``, when sent, is checked too (``tenant=`` of the token check);
- a check whose target (path and query) would reach 16 KiB, its ACL filled from long path
  values or its ``Wazo-Tenant`` long, asks the token alone: unknown → 401, valid → 403 (see
  ``_unaskable``), rather than a 414 of the service taken for an outage;
- the check is ``HEAD {auth_url}/token/{token}?scope=<acl>``: exactly 204 → the view runs
  (with the token in ``flask.g.auth_token``, ``flask.g.auth_claims`` None); 404 or no token →
  401; 403 → 403; unreachable, timeout or any other answer (a 200 too: a web server answering
  everything is no token check) → 503. Errors use the service's JSON
  envelope ``{"message", "error_id", "details", "timestamp", "reason": [message], "status_code"}``.

Caching: only positive answers are cached, for ``cache_ttl`` seconds, in a bounded LRU of
``cache_size`` entries. HEAD does not tell when the token expires, so a cached answer may
outlive the token's expiry or revocation by up to ``cache_ttl``: keep it short (seconds).
``cache_ttl=0`` asks the service on every request.

Push revocation (``push=PushRevocation(...)``, see ``push``; needs py-amqp): the verifier
follows ``auth_session_deleted`` on the service's bus and drops the cached answers of a session
the moment it ends. The check is then ``GET`` (200 with ``{"data": {"token": <the token>,
...}}`` instead of 204, same refusals; any other 200 → 503), whose answer names the token's
session and expiry: a cached answer is kept ``push_cache_ttl`` seconds while
the subscription is live (never past the token's expiry), and ``cache_ttl`` while it is not
(the bus unreachable: the normal behaviour above). On every (re)subscription the cache is
emptied, since events sent meanwhile were missed. A session end reaches the verifier once the
service's publisher has sent it (its ``amqp.poll_interval``): if the publisher lags, so does
push, up to ``push_cache_ttl``.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any, Callable, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

import requests

from ..bounded_http import BoundedHTTP, FetchFailed, Reply
from ..logs import get_logger
from .cache import PositiveCache
from .guard import (DEFAULT_TIMEOUT, MAX_TOKEN_SIZE, AccessDenied, Guard, forbidden,
                    unauthorized, unreachable)
from .push import PushRevocation, SessionEndings

logger = get_logger(__name__)

# A check's target (path and query, as sent) this long or longer is not asked: past 16 KiB
# the service answers 414 (README, Input limits).
MAX_TARGET = 16 * 1024
_MAX_ANSWER = 64 * 1024  # bytes: a check's answer (GET, with push) is about 1 KiB


class _Answer(NamedTuple):
    status: int
    allowed: bool = False  # the token check's own success: HEAD 204, or GET 200 naming it
    session: str | None = None  # the token's session (GET only)
    lifetime: float | None = None  # seconds until the token expires (GET only)


class TokenVerifier(Guard):
    """Checks tokens against wazo-like-auth for a backend; see the module docstring.

    ``auth_url`` is the service's base, e.g. ``http://127.0.0.1:9497/0.1``. ``session`` lets a
    caller configure TLS (``session.verify``; its settings are used, not its mounted
    adapters); ``clock`` is a monotonic time source for the cache, ``wall_clock`` gives epoch
    seconds (a token's expiry, with push); tests pass their own. ``push`` subscribes to
    session ends (``push``), started on the first verification.
    """

    def __init__(self, auth_url: str, *, cache_ttl: float = 5.0, cache_size: int = 10000,
                 timeout: Any = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 push: PushRevocation | None = None, push_cache_ttl: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self._base = auth_url.rstrip('/')
        self._target = urlsplit(self._base).path + '/token/'  # a check's target starts so
        self._timeout = timeout
        self._http = BoundedHTTP(session or requests.Session())
        self._wall_clock = wall_clock
        self._cache = PositiveCache(cache_ttl, cache_size, clock,
                                    push_ttl=push_cache_ttl if push else 0.0)
        self.push: SessionEndings | None = None
        if push is not None:
            self.push = SessionEndings(push, on_ended=self._cache.drop_session,
                                       on_subscribed=self._cache.clear)

    def close(self) -> None:
        """Stop following the bus and close the connections kept open to the service (checks
        go on, with ``cache_ttl``, over new connections; the given session is the caller's to
        close: its pools are not those the checks use)."""
        if self.push is not None:
            self.push.stop()
        self._http.close()

    def verify(self, token: str, acl: str, tenant: str | None = None) -> None:
        """Return None if ``token`` grants ``acl`` (in ``tenant``); raise AccessDenied
        otherwise."""
        if not token or len(token) >= MAX_TOKEN_SIZE or not token.strip('.'):
            raise unauthorized(token, acl)  # '.' and '..' would leave the check's path
        key = self._cache.key(token, acl, tenant)
        if self._cache.hit(key, pushed=self._pushed()):
            return None
        path = quote(token, safe='')  # a token of ours is the same quoted (base64url, UUID)
        if len(path) >= MAX_TOKEN_SIZE:
            raise unauthorized(token, acl)  # the service would answer 414: no token of ours
        params = {'scope': acl, **({'tenant': tenant} if tenant else {})}
        if len(self._target) + len(path) + 1 + len(urlencode(params)) >= MAX_TARGET:
            raise self._unaskable(token, path, acl, tenant)
        generation = self._cache.generation()
        answer = self._ask(token, path, params)
        if answer.allowed:
            self._cache.remember(key, generation, answer.session, answer.lifetime)
            return None
        raise self._refusal(answer, token, acl, tenant)

    def _unaskable(self, token: str, path: str, acl: str, tenant: str | None) -> AccessDenied:
        """The refusal of a check whose scope or tenant (filled from a request's path and
        headers) makes its target too long for the service (it would answer 414, which is no
        outage): the token alone is asked (no scope), so an unknown token is still 401; a
        valid one is 403, not granted, even if its ACL (``confd.#``, say) would have matched:
        the service cannot be asked, and no ACL or tenant of ours is that long."""
        answer = self._ask(token, path, {})
        return forbidden(acl, tenant) if answer.allowed else \
            self._refusal(answer, token, acl, tenant)

    def _refusal(self, answer: _Answer, token: str, acl: str,
                 tenant: str | None) -> AccessDenied:
        """The refusal a check's answer other than success means: 404 → 401, 403 → 403, any
        other → 503 (logged)."""
        if answer.status == 404:
            return unauthorized(token, acl)
        if answer.status == 403:
            return forbidden(acl, tenant)
        logger.warning('Auth service answered %s to a token check', answer.status)
        return unreachable()

    def _pushed(self) -> bool:
        """Whether session ends are followed right now (subscribing first, in this process)."""
        if self.push is None:
            return False
        self.push.start()
        return self.push.live

    def _ask(self, token: str, path: str, params: dict[str, str]) -> _Answer:
        """``HEAD /token/{path}?scope=acl[&tenant=...]`` (``params``); GET with push (200: its
        session); ``path`` is ``token`` quoted. The answer, status line, headers and body, must
        be whole within the connect + read timeouts: one sent a byte at a time is unreachable
        (503)."""
        try:
            response = self._http.fetch('GET' if self.push is not None else 'HEAD',
                                        f'{self._base}/token/{path}', params=params,
                                        timeout=self._timeout, max_bytes=_MAX_ANSWER)
        except FetchFailed as error:
            logger.warning('Auth service %s unreachable: %s', self._base, error)
            raise unreachable() from None
        if self.push is None:  # exactly 204, as wazo clients: another success is no check
            return _Answer(response.status_code, response.status_code == 204)
        if response.status_code != 200:
            return _Answer(response.status_code)
        described = self._described(response, token)
        return _Answer(200) if described is None else _Answer(200, True, *described)

    def _described(self, response: Reply,
                   token: str) -> tuple[str | None, float | None] | None:
        """The session and remaining lifetime a GET answer tells (None for what it does not:
        such an answer is then cached as without push); None if the answer is no check of
        ``token`` (``{"data": {"token": ...}}``)."""
        try:
            data = json.loads(response.body)['data']
            named = data.get('token')
            session, expires = data.get('session_uuid'), data.get('utc_expires_at')
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if not isinstance(named, str) or named.lower() != token.lower():
            return None
        lifetime = None
        if isinstance(expires, str):
            try:
                moment = dt.datetime.fromisoformat(expires).replace(tzinfo=dt.timezone.utc)
                lifetime = moment.timestamp() - self._wall_clock()
            except (ValueError, OverflowError):
                pass
        return (session if isinstance(session, str) and session else None), lifetime
