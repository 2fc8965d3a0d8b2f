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
- a token of 16 KiB or more is refused without asking (JWT access tokens are checked online
  too: the service accepts them in the path);
- ``Wazo-Tenant``, when sent, is checked too (``tenant=`` of the token check);
- the check is ``HEAD {auth_url}/token/{token}?scope=<acl>``: 204 → the view runs (with the
  token in ``flask.g.auth_token``, ``flask.g.auth_claims`` None); 404 or no token → 401;
  403 → 403; unreachable, timeout or any other answer → 503. Errors use the service's JSON
  envelope ``{"message", "error_id", "details", "timestamp", "reason": [message], "status_code"}``.

Caching: only positive answers are cached, for ``cache_ttl`` seconds, in a bounded LRU of
``cache_size`` entries. HEAD does not tell when the token expires, so a cached answer may
outlive the token's expiry or revocation by up to ``cache_ttl``: keep it short (seconds).
``cache_ttl=0`` asks the service on every request.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable
from urllib.parse import quote

import requests

from .guard import DEFAULT_TIMEOUT, MAX_TOKEN_SIZE, Guard, forbidden, unauthorized, unreachable

logger = logging.getLogger(__name__)



class _PositiveCache:
    """A thread-safe LRU of recently allowed (token, acl, tenant) triples, each for ``ttl`` s.

    Keys are SHA-256 digests, so the cache never holds a usable token value.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float]):
        self._ttl, self._size, self._clock = ttl, size, clock
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str, acl: str, tenant: str | None) -> bytes:
        return hashlib.sha256('\0'.join((token, acl, tenant or '')).encode()).digest()

    def hit(self, key: bytes) -> bool:
        if self._ttl <= 0 or self._size <= 0:
            return False
        with self._lock:
            until = self._entries.get(key)
            if until is None:
                return False
            if self._clock() >= until:
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
            return True

    def remember(self, key: bytes) -> None:
        if self._ttl <= 0 or self._size <= 0:
            return
        with self._lock:
            self._entries[key] = self._clock() + self._ttl
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class TokenVerifier(Guard):
    """Checks tokens against wazo-like-auth for a backend; see the module docstring.

    ``auth_url`` is the service's base, e.g. ``http://127.0.0.1:9497/0.1``. ``session`` lets a
    caller configure TLS (``session.verify``); ``clock`` is a monotonic time source for the
    cache (tests pass a controllable one).
    """

    def __init__(self, auth_url: str, *, cache_ttl: float = 5.0, cache_size: int = 10000,
                 timeout: Any = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._base = auth_url.rstrip('/')
        self._timeout = timeout
        self._http = session or requests.Session()
        self._cache = _PositiveCache(cache_ttl, cache_size, clock)

    def verify(self, token: str, acl: str, tenant: str | None = None) -> None:
        """Return None if ``token`` grants ``acl`` (in ``tenant``); raise AccessDenied
        otherwise."""
        if not token or len(token) >= MAX_TOKEN_SIZE:
            raise unauthorized(token, acl)
        key = self._cache.key(token, acl, tenant)
        if self._cache.hit(key):
            return None
        status = self._ask(token, acl, tenant)
        if status == 204:
            self._cache.remember(key)
            return None
        if status == 404:
            raise unauthorized(token, acl)
        if status == 403:
            raise forbidden(acl, tenant)
        logger.warning('Auth service answered %s to a token check', status)
        raise unreachable()

    def _ask(self, token: str, acl: str, tenant: str | None) -> int:
        """The status of ``HEAD /token/{token}?scope=acl[&tenant=...]``."""
        params = {'scope': acl, **({'tenant': tenant} if tenant else {})}
        try:
            response = self._http.head(f'{self._base}/token/{quote(token, safe="")}',
                                       params=params, timeout=self._timeout,
                                       allow_redirects=False)
        except requests.RequestException as error:
            logger.warning('Auth service %s unreachable: %s', self._base, type(error).__name__)
            raise unreachable() from None
        response.close()
        return response.status_code
