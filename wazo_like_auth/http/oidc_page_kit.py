"""What every OpenID Connect page shares: rendering (autoescaped templates beside the device
page's), security headers, CSRF tokens bound to the browser, and the sign-in cookie.

CSRF: as on the device page (``pages.CsrfGuard``), a random nonce lives in an HttpOnly,
SameSite=Lax cookie scoped to the issuer's path, and each form carries HMAC(key, form name +
nonce); the nonce is kept once set, so sign-in and consent pages open in several tabs all
post. The sign-in cookie is SameSite=Lax too (it must come along when a relying party sends
the browser here), HttpOnly, Secure under TLS, and scoped to the issuer's path.

The CSP allows forms to post only here, and (because browsers apply form-action to the
redirect that follows a form) to the origin of the client's registered redirect URI.
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from flask import Response, request

from .pages import CsrfGuard, security_headers

CSRF_COOKIE = 'wla_oidc_csrf'
SIGNIN_COOKIE = 'wla_signin'
# CSP3 host-source (§2.3.1): host-char is ALPHA / DIGIT / "-", in dot-separated labels. A browser
# ignores a source outside it (a host with "_", an IPv6 literal), so its redirect is blocked.
_ORIGIN_RE = re.compile(r'^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?(:[0-9]{1,5})?\Z')
_SCHEME_RE = re.compile(r'^[a-z][a-z0-9+.-]{0,63}$')
FORM_POST_SCRIPT = 'document.forms[0].submit();'

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / 'oauth2' / 'templates'),
    autoescape=True, undefined=jinja2.StrictUndefined)


def csp(redirect_uri: str | None = None, script: str | None = None) -> str:
    actions = ["'self'"]
    target = _form_target(redirect_uri) if redirect_uri else None
    if target:
        actions.append(target)
    scripts = "'none'"
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        scripts = f"'sha256-{digest}'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src {scripts}; "
            f"form-action {' '.join(actions)}; frame-ancestors 'none'; base-uri 'none'")


def _form_target(uri: str) -> str | None:
    """The CSP source of a registered redirect URI: its origin (http/https) or its scheme
    (custom schemes of native apps); None when it cannot be written safely.

    An http(s) origin the CSP grammar cannot name (docker-compose's ``web_app``, RFC 8252
    §7.3's loopback ``[::1]``, a userinfo) is allowed by its scheme, which we write, never the
    URI's text: no request value reaches the header. That is no weaker where it matters: the
    redirect is ours, to a URI the client registered, and form-action only stops a form
    injected into the page, which shows nothing unescaped and runs no script."""
    parts = urlsplit(uri)
    if parts.scheme in ('http', 'https'):
        origin = f'{parts.scheme}://{parts.netloc}'
        return origin if _ORIGIN_RE.match(origin) else f'{parts.scheme}:'
    return f'{parts.scheme}:' if _SCHEME_RE.match(parts.scheme) else None


class PageKit:
    """The OpenID Connect pages' rendering: pages.CsrfGuard with this family's cookie (scoped to
    the issuer's path), pages.security_headers with the CSP above."""

    def __init__(self, *, csrf_key: bytes):
        self._csrf = CsrfGuard(key=csrf_key, cookie=CSRF_COOKIE)

    def page(self, template: str, status: int, *, cookie_path: str,
             redirect_uri: str | None = None, script: str | None = None,
             **context) -> Response:
        nonce = self._csrf.nonce()
        html = templates.get_template(template).render(
            csrf=lambda form: self._csrf.token(form, nonce), **context)
        response = Response(html, status=status, mimetype='text/html')
        response.headers.update({**security_headers("'self'"), 'Pragma': 'no-cache',
                                 'Content-Security-Policy': csp(redirect_uri, script)})
        return self._csrf.bind(response, nonce, path=cookie_path)

    def csrf_ok(self, form: str) -> bool:
        return self._csrf.ok(form)


def set_signin_cookie(response: Response, value: str, path: str, max_age: int) -> None:
    response.set_cookie(SIGNIN_COOKIE, value, httponly=True, samesite='Lax',
                        secure=request.is_secure, path=path, max_age=max_age)


def clear_signin_cookie(response: Response, path: str) -> None:
    response.delete_cookie(SIGNIN_COOKIE, path=path, httponly=True, samesite='Lax',
                           secure=request.is_secure)


def no_store(response: Response) -> Response:
    response.headers.update({'Cache-Control': 'no-store', 'Pragma': 'no-cache',
                             'Referrer-Policy': 'no-referrer'})
    return response
