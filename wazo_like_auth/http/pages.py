"""What every server-rendered page shares: templates, security headers, CSRF.

Pages (device verification, e-mail confirmation, password reset) are HTML with no JavaScript.
Every page is sent with a strict CSP (no script, no remote resource, ``form-action`` limited to
this server or nothing), is never framed (clickjacking), never cached (it may show a secret or
a result meant for one person) and sends no Referer (links carry codes and tokens in their URL).

CSRF (``CsrfGuard``): the first page sets a random nonce in an HttpOnly, SameSite=Lax
cookie; each form carries HMAC(key, form name + nonce). A POST is accepted only when the two
agree: another site can neither read the cookie nor compute the HMAC. Each page family has its
own key (derived from the server secret with its own label) and its own cookie. One nonce
serves every tab of the browser (see ``CsrfGuard``).

Errors (``readable_errors``): a page view that fails (database down, a bug) answers a readable
page with the status ``errors.handle_error`` chooses (and logs), never the JSON envelope. A form's
target opened as an address (``add_page_rule``: the address bar's URL after a wrong password,
a bookmark) answers a readable 405 page, not the API's JSON 405.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import jinja2
from flask import Flask, Response, request

from .errors import handle_error

_NONCE_RE = re.compile(r'^[A-Za-z0-9_-]{43}$')

# base.html (the layout every page extends) lives with the device and OpenID Connect pages.
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader([Path(__file__).parent / 'templates',
                                    Path(__file__).parent.parent / 'oauth2' / 'templates']),
    autoescape=True, undefined=jinja2.StrictUndefined)


def security_headers(form_action: str) -> dict[str, str]:
    """``form_action``: "'self'" for pages with a form, "'none'" for the others."""
    return {
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; "
                                   f"form-action {form_action}; frame-ancestors 'none'; "
                                   "base-uri 'none'",
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
    }


def render(template: str, status: int, *, form_action: str = "'none'", **context) -> Response:
    """``template`` rendered with ``context`` (autoescaped), with the security headers."""
    html = _templates.get_template(template).render(**context)
    response = Response(html, status=status, mimetype='text/html')
    response.headers.update(security_headers(form_action))
    return response


def throttled_message(retry_after: int | None) -> str:
    """What a page refused by a throttle (429) says: the wait its Retry-After gives, in
    seconds or minutes (a refusal of checks in flight is over in a second: "a few minutes"
    sent people away for nothing); None, when no wait is known: a few minutes."""
    if retry_after is None:
        wait = 'a few minutes'
    elif retry_after < 60:
        wait = f'{retry_after} second{"s" if retry_after > 1 else ""}'
    else:
        minutes = -(-retry_after // 60)
        wait = f'{minutes} minute{"s" if minutes > 1 else ""}'
    return f'Too many failed attempts. Please wait {wait} and try again.'


def with_retry_after(response: Response, retry_after: int | None) -> Response:
    """``response`` with the Retry-After header of a throttled page, when a wait is known."""
    if retry_after is not None:
        response.headers['Retry-After'] = str(retry_after)
    return response


def readable_errors(view: Callable[..., Response], *,
                    in_envelope: tuple[type[Exception], ...] = ()) -> Callable[..., Response]:
    """``view`` answering a page instead of the envelope when it raises (see module doc),
    except for the exceptions ``in_envelope`` (the unknown realm of the OpenID Connect
    endpoints, a 404 in the envelope on every one of them). By type, not status: another
    404 (a client or user deleted by a race the database caught) still answers a page."""
    @wraps(view)
    def page_view(*args, **kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 (classified and logged by handle_error)
            answer = handle_error(e)
            if isinstance(e, in_envelope):
                return answer
        status = answer.status_code
        if status == 503:
            return render('result.html', 503, title='Temporarily unavailable', ok=False,
                          message='This page cannot be shown right now. Please try again in '
                                  'a few minutes.')
        if status == 404:  # e.g. the device page of a realm that does not exist
            return render('result.html', 404, title='Page not found', ok=False,
                          message='There is no page at this address. Please check the link.')
        return render('result.html', status, title='Something went wrong', ok=False,
                      message='This page cannot be shown. Please try again later.')
    return page_view


def add_page_rule(app: Flask, path: str, endpoint: str, view: Callable[..., Response],
                  methods: list[str]) -> None:
    """Route ``path`` to the page ``view``; when it takes no GET (a form's target), a GET or
    HEAD of it answers the readable 405 page (``form_target``)."""
    app.add_url_rule(path, endpoint, view, methods=methods)
    if 'GET' not in methods:
        app.add_url_rule(path, endpoint + '_opened', form_target, methods=['GET'])


def form_target(**_path_values) -> Response:
    """405 (Allow: POST) for a browser that opened a form's target as a page: its answer
    cannot be shown again without the form, which the person must send anew."""
    response = render('result.html', 405, title='This page cannot be opened again', ok=False,
                      message='It was the answer to a form. Please go back to the application '
                              'you came from and start again.')
    response.headers['Allow'] = 'POST'
    return response


class CsrfGuard:
    """Form tokens bound to the browser by a cookie (see the module doc).

    One nonce per browser, kept once set: every page reuses the nonce the browser sends and
    sets the cookie only when it sends none, so a second tab's page carries tokens of the same
    nonce and the first tab's form still posts. That needs the cookie to come with the
    navigations that open these pages, and they mostly come from another site (a relying
    party's redirect to the sign-in page, a link to the device page or the reset page in a
    mail or chat client): hence SameSite=Lax. With Strict, the browser held the cookie back on
    such a navigation, the page made a new nonce, its cookie replaced the first tab's, and the
    first tab's form was refused as expired.

    Lax is no weaker here. What Strict adds over Lax is withholding the cookie from
    cross-site top-level GETs, and a GET of these pages changes nothing and its page cannot
    be read by another site (no CORS, never framed). A cross-site POST, the only request the
    guard checks, carries no Lax cookie (the attribute is explicit, so Chromium's two-minute
    "Lax allowing unsafe" exception for cookies without one does not apply), and a token is
    worthless without the nonce it was made from: a forged POST, with no cookie or with
    another browser's, is refused.
    """

    def __init__(self, *, key: bytes, cookie: str):
        self._key = key
        self.cookie = cookie

    def nonce(self) -> str:
        """The browser's nonce, or a new one when it has none (or a malformed one)."""
        current = request.cookies.get(self.cookie, '')
        return current if _NONCE_RE.match(current) else secrets.token_urlsafe(32)

    def token(self, form: str, nonce: str) -> str:
        return hmac.new(self._key, f'{form}:{nonce}'.encode(), hashlib.sha256).hexdigest()

    def ok(self, form: str) -> bool:
        """True when the POSTed ``csrf`` field matches this browser's cookie for ``form``."""
        nonce = request.cookies.get(self.cookie, '')
        sent = request.form.get('csrf', '')
        return bool(_NONCE_RE.match(nonce)) and hmac.compare_digest(
            sent.encode('utf-8', 'replace'), self.token(form, nonce).encode())

    def bind(self, response: Response, nonce: str, path: str = '/') -> Response:
        """Set the cookie holding ``nonce`` (for ``path``) unless the browser already sent
        it."""
        if request.cookies.get(self.cookie) != nonce:
            response.set_cookie(self.cookie, nonce, httponly=True, samesite='Lax',
                                secure=request.is_secure, path=path)
        return response
