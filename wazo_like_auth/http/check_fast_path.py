"""The token check's fast path: a cached, successful HEAD/GET /token/{t} answered before Flask.

Every API call of every backend service is one check, and nearly all of them ask about a token
this process has checked moments ago. For those, Flask's request context, URL matching and
hooks cost more than the check itself. This WSGI middleware answers them from the validation
cache with the status, headers and body of the Flask view (``tokens.token_check_view``).

Everything else goes to the Flask application untouched, which runs the full check (and fills
the cache): a token not in the cache or expired, a refused scope, a ``tenant`` argument, any
query string other than one plain ``scope``, a client throttled for scanning, the cache off or
its listener down. The fast path has no side effect besides its answer and the metrics, so a
request that falls through is counted, throttled and logged exactly once, by the full path.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable

from ..services.validation import TokenChecker
from . import request_log
from .api import PREFIXES
from .cors import ANY_ORIGIN
from .tokens import NO_STORE, check_body

ROUTE = '/token/<token>'
# The check's paths: the token follows, and is vetted by TokenChecker.peek (tokens.normalize:
# an opaque token or a JWT). No regex over the path: a JWT is some 850 characters.
_PATHS = tuple(prefix + '/token/' for prefix in PREFIXES)
# Scopes as Wazo services send them; anything percent-encoded is left to werkzeug's parser.
_QUERY = re.compile(r'scope=([A-Za-z0-9._:*-]{1,512})')
_GET_HEADERS = list(NO_STORE.items())

Observe = Callable[[str, str, int, float], None]  # method, route, status, seconds


class CheckFastPath:
    def __init__(self, app, checker: TokenChecker, observe: Observe | None = None, *,
                 cross_origin: bool = False):
        """``cross_origin``: the answers allow any origin to read them, as the full path's
        do when CORS is on (http/cors.py)."""
        self._app = app
        self._checker = checker
        self._observe = observe
        extra = [ANY_ORIGIN] if cross_origin else []
        # The headers every answer of a kind shares, built once.
        self._head_headers = extra
        self._get_headers = [*_GET_HEADERS, ('Content-Type', 'application/json'), *extra]

    def __call__(self, environ, start_response):
        method = environ.get('REQUEST_METHOD')
        if method == 'HEAD' or method == 'GET':
            started = time.perf_counter()
            found = self._cached(environ)
            if found is not None:
                return self._answer(environ, start_response, method, found, started)
        return self._app(environ, start_response)

    def _cached(self, environ):
        """(value, row) of a cached check that would succeed; None to take the full path."""
        token = _token_of(environ.get('PATH_INFO', ''))
        if token is None:
            return None
        query = environ.get('QUERY_STRING', '')
        if query:
            scope = _QUERY.fullmatch(query)
            if scope is None:
                return None
            scope = scope.group(1)
        else:
            scope = None
        return self._checker.peek(token, scope, environ.get('REMOTE_ADDR') or '')

    def _answer(self, environ, start_response, method, found, started):
        request_id = ('X-Request-Id', request_log.request_id(environ.get('HTTP_X_REQUEST_ID')))
        if method == 'HEAD':
            start_response('204 NO CONTENT', [request_id, *self._head_headers])
            body, status = [], 204
        else:
            payload = check_body(*found)
            start_response('200 OK', [*self._get_headers,
                                      ('Content-Length', str(len(payload))), request_id])
            body, status = [payload], 200
        if self._observe is not None:
            self._observe(method, ROUTE, status, time.perf_counter() - started)
        return body


def _token_of(path: str) -> str | None:
    """The token of a check's path, or None when ``path`` is another route's."""
    for prefix in _PATHS:
        if path.startswith(prefix):
            token = path[len(prefix):]
            return None if '/' in token else token
    return None
