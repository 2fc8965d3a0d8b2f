"""Cross-origin reads (CORS) of the endpoints a browser application calls from its own
origin: discovery, the JWK Set, token, userinfo, revocation and device authorization, of the
global issuer and the realms. A single-page application (a public client with PKCE) cannot
read their answers otherwise, as browsers hide cross-origin answers without these headers.

A resource opts in with ``cross_origin = True``. Any origin (``*``) and never credentials:
these endpoints read no cookie, each request proves itself with what it carries (client
credentials, a code and its verifier, a bearer token), so a script on another site gains
nothing a program elsewhere would not. The pages (sign-in, consent, logout, device) with
their cookies, introspection (confidential clients, server side) and the Wazo API are left
as they are.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, request

ALLOW_HEADERS = 'Authorization, Content-Type'
EXPOSE_HEADERS = 'WWW-Authenticate, Retry-After'  # what an OAuth client acts on
PREFLIGHT_MAX_AGE = '600'


def install(app: Flask) -> None:
    app.after_request(_allow)


def _allow(response: Response) -> Response:
    view = current_app.view_functions.get(request.endpoint or '')
    if not getattr(getattr(view, 'view_class', None), 'cross_origin', False):
        return response
    response.headers['Access-Control-Allow-Origin'] = '*'
    if request.method == 'OPTIONS':  # a preflight: what the real request may carry
        methods = [m for m in response.headers.get('Allow', '').split(', ')
                   if m not in ('', 'OPTIONS', 'HEAD')]
        response.headers['Access-Control-Allow-Methods'] = ', '.join(methods)
        response.headers['Access-Control-Allow-Headers'] = ALLOW_HEADERS
        response.headers['Access-Control-Max-Age'] = PREFLIGHT_MAX_AGE
    else:
        response.headers['Access-Control-Expose-Headers'] = EXPOSE_HEADERS
    return response
