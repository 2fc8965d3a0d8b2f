"""Cross-origin reads (CORS): what a browser application of another origin may read.

Browsers hide a cross-origin answer unless it carries ``Access-Control-Allow-Origin``. Two
kinds of endpoints carry it, both for any origin (``*``) and never with credentials:

- the OAuth 2.0 / OpenID Connect endpoints a single-page application (a public client with
  PKCE) calls: discovery, the JWK Set, token, userinfo, revocation and device authorization,
  of the global issuer and the realms. Their resources say ``cross_origin = True``;
  preflights allow ``Authorization`` and ``Content-Type``.
- the Wazo API, as wazo-auth answers it (flask-cors): every JSON resource under ``/0.1`` and
  ``/api/auth/0.1`` and the token check (also on its fast path, http/check_fast_path.py), so
  a web application of another origin logs in with ``POST /0.1/token`` and manages its
  tokens. Preflights allow ``rest_api.cors.allow_headers``.

Why ``*`` is safe: none of these endpoints reads a cookie. Each request proves itself with
what it carries (Basic credentials, a token header, client credentials, a code and its
verifier), so a script of another site gains nothing a program elsewhere would not, and
without ``Access-Control-Allow-Credentials`` a browser never lets a script read an answer it
sent cookies with. Left out: the HTML pages (sign-in, consent, logout, device, reset), which
use cookies, and introspection (``cross_origin = False``: confidential clients, server side).
``rest_api.cors.enabled: false`` turns all of it off.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import Flask, Response, current_app, request
from flask_restful import Resource

from .api import PREFIXES

ANY_ORIGIN = ('Access-Control-Allow-Origin', '*')
_WAZO_API = tuple(prefix + '/' for prefix in PREFIXES)
OAUTH_ALLOW_HEADERS = 'Authorization, Content-Type'
OAUTH_EXPOSE_HEADERS = 'WWW-Authenticate, Retry-After'  # what an OAuth client acts on
PREFLIGHT_MAX_AGE = '600'
CHECK_ENDPOINT = 'check_token'  # a plain Flask view (http/routes.py), part of the Wazo API


@dataclass(frozen=True)
class CorsSettings:
    """``rest_api.cors``: whether cross-origin reads are allowed at all, and the request
    headers a preflight of the Wazo API allows (wazo-auth's list by default)."""
    enabled: bool = True
    allow_headers: tuple[str, ...] = ('Content-Type', 'Authorization', 'X-Auth-Token',
                                      'Wazo-Tenant', 'Wazo-Session-Type')

    @classmethod
    def of(cls, config: dict) -> CorsSettings:
        cors = config['rest_api']['cors']
        return cls(enabled=cors['enabled'], allow_headers=tuple(cors['allow_headers']))


def install(app: Flask, settings: CorsSettings) -> None:
    if settings.enabled:
        app.after_request(functools.partial(_allow, wazo_headers=', '.join(settings.allow_headers)))


def _allow(response: Response, *, wazo_headers: str) -> Response:
    marked = _marked(current_app.view_functions.get(request.endpoint or ''))
    if marked is None:
        if request.url_rule is None and without_endpoint_readable(request.path):
            response.headers[ANY_ORIGIN[0]] = ANY_ORIGIN[1]
        return response
    response.headers[ANY_ORIGIN[0]] = ANY_ORIGIN[1]
    if request.method == 'OPTIONS':  # a preflight: what the real request may carry
        methods = [m for m in response.headers.get('Allow', '').split(', ')
                   if m not in ('', 'OPTIONS', 'HEAD')]
        response.headers['Access-Control-Allow-Methods'] = ', '.join(methods)
        response.headers['Access-Control-Allow-Headers'] = \
            OAUTH_ALLOW_HEADERS if marked else wazo_headers
        response.headers['Access-Control-Max-Age'] = PREFLIGHT_MAX_AGE
    elif marked:
        response.headers['Access-Control-Expose-Headers'] = OAUTH_EXPOSE_HEADERS
    return response


def without_endpoint_readable(path: str) -> bool:
    """Whether an answer made for ``path`` without an endpoint (a routing error, 404 or 405;
    a target too long, 414) is readable cross-origin, CORS being on: under the Wazo API, as
    every answer of that API is (a browser would see a network error instead)."""
    return path.startswith(_WAZO_API)


def _marked(view) -> bool | None:
    """True for an OAuth endpoint, False for the Wazo API, None for what answers no CORS."""
    view_class = getattr(view, 'view_class', None)
    marked = getattr(view_class, 'cross_origin', None)
    if marked is not None:
        return True if marked else None
    is_resource = isinstance(view_class, type) and issubclass(view_class, Resource)
    return False if is_resource or request.endpoint == CHECK_ENDPOINT else None
