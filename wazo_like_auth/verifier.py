"""Token verification for backend services that trust wazo-like-auth (Flask, flask-restful).

Only depends on ``flask`` and ``requests``; it imports nothing else of the service, so a backend
does not need the service's dependencies (SQLAlchemy, bcrypt, ...).

    verifier = TokenVerifier('http://127.0.0.1:9497/0.1', cache_ttl=5.0)

    @app.get('/users/<user_uuid>/profile')
    @verifier.required_acl('confd.users.{user_uuid}.read')
    def profile(user_uuid): ...

Contract of ``required_acl(template)``:
- the token comes from ``X-Auth-Token``, else ``Authorization: Bearer``;
- the ACL is ``template`` formatted with the route's view arguments, each value with ``.``
  replaced by ``_`` (as the service does), so a path value cannot add ACL segments;
- ``Wazo-Tenant``, when sent, is checked too (``tenant=`` of the token check);
- the check is ``HEAD {auth_url}/token/{token}?scope=<acl>``: 204 → the view runs (with the
  token in ``flask.g.auth_token``); 404 or no token → 401; 403 → 403; unreachable, timeout or
  any other answer → 503. Errors use the service's JSON envelope
  ``{"message", "error_id", "details", "timestamp", "reason": [message], "status_code"}``.

Caching: only positive answers are cached, for ``cache_ttl`` seconds, in a bounded LRU of
``cache_size`` entries. HEAD does not tell when the token expires, so a cached answer may
outlive the token's expiry or revocation by up to ``cache_ttl``: keep it short (seconds).
``cache_ttl=0`` asks the service on every request.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Callable
from urllib.parse import quote

import flask
import requests

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (1.0, 2.0)  # (connect, read): a backend must not hang on its auth service
_MAX_TOKEN_LENGTH = 512       # a longer value cannot be a token: refused without asking


class AccessDenied(Exception):
    """A refused request: ``status_code``, ``error_id``, ``message``, ``details``."""

    def __init__(self, status_code: int, error_id: str, message: str,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.error_id = error_id
        self.message = message
        self.details = details or {}

    def response(self) -> flask.Response:
        """The service's error envelope (spec D4) as a Flask response."""
        body = {'message': self.message, 'error_id': self.error_id, 'details': self.details,
                'timestamp': time.time(), 'reason': [self.message],
                'status_code': self.status_code}
        return flask.Response(flask.json.dumps(body), status=self.status_code,
                              mimetype='application/json')


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


class TokenVerifier:
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

    def required_acl(self, template: str) -> Callable:
        """Decorator for a Flask view or a flask-restful method; see the module docstring."""
        def decorate(view: Callable) -> Callable:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                token = request_token()
                try:
                    self.verify(token, required_access(template, flask.request.view_args),
                                flask.request.headers.get('Wazo-Tenant') or None)
                except AccessDenied as denied:
                    return denied.response()
                flask.g.auth_token = token
                return view(*args, **kwargs)
            return guarded
        return decorate

    def verify(self, token: str, acl: str, tenant: str | None = None) -> None:
        """Return if ``token`` grants ``acl`` (in ``tenant``); raise AccessDenied otherwise."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise _unauthorized(token, acl)
        key = self._cache.key(token, acl, tenant)
        if self._cache.hit(key):
            return
        status = self._ask(token, acl, tenant)
        if status == 204:
            self._cache.remember(key)
            return
        if status == 404:
            raise _unauthorized(token, acl)
        if status == 403:
            raise AccessDenied(403, 'forbidden', 'Forbidden', {
                'reason': 'missing_permission_or_invalid_tenant', 'required_access': acl,
                'tenant_uuid': tenant})
        logger.warning('Auth service answered %s to a token check', status)
        raise _unreachable()

    def _ask(self, token: str, acl: str, tenant: str | None) -> int:
        """The status of ``HEAD /token/{token}?scope=acl[&tenant=...]``."""
        params = {'scope': acl, **({'tenant': tenant} if tenant else {})}
        try:
            response = self._http.head(f'{self._base}/token/{quote(token, safe="")}',
                                       params=params, timeout=self._timeout,
                                       allow_redirects=False)
        except requests.RequestException as error:
            logger.warning('Auth service %s unreachable: %s', self._base, type(error).__name__)
            raise _unreachable() from None
        response.close()
        return response.status_code


def request_token() -> str:
    """The token of the current request: ``X-Auth-Token``, else ``Authorization: Bearer``."""
    token = flask.request.headers.get('X-Auth-Token', '').strip()
    if token:
        return token
    scheme, _, credentials = flask.request.headers.get('Authorization', '').partition(' ')
    return credentials.strip() if scheme.lower() == 'bearer' else ''


def required_access(template: str, view_args: dict[str, Any] | None) -> str:
    """``template`` filled with the view arguments, ``.`` in each value replaced by ``_``."""
    values = {name: str(value).replace('.', '_') for name, value in (view_args or {}).items()}
    return template.format(**values)


def _unauthorized(token: str, acl: str) -> AccessDenied:
    # The token is never echoed whole: a response body may end up in a proxy or browser log.
    return AccessDenied(401, 'unauthorized', 'Unauthorized', {
        'invalid_token': _redact(token) if token else '', 'reason': 'not_found_or_expired',
        'required_access': acl})


def _unreachable() -> AccessDenied:
    return AccessDenied(503, 'authentication-server-unreachable',
                        'Authentication server unreachable')


def _redact(value: str) -> str:
    return 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + value[-8:] if len(value) >= 8 else 'XXXXXXXX'
