"""The device verification page (RFC 8628 §3.3): server-rendered HTML, no JavaScript.

GET  .../device[?user_code=XXXX-XXXX]   the code (pre-filled) and a sign-in form
POST .../device                         checks code and credentials, shows the consent form
POST .../device/decision                approves or denies

CSRF: the first GET sets a random nonce in an HttpOnly, SameSite=Strict cookie; each form
carries HMAC(key, form name + nonce). A POST is accepted only when the two agree: another site
can neither read the cookie nor compute the HMAC. The approve/deny form also carries the
one-time consent value issued at sign-in (stored hashed), so only the person who just signed
in can decide. Pages are never framed (clickjacking on "Approve"), never cached, and send no
Referer (the user code is in the URL).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

import jinja2
from flask import Response, request

from ..oauth2.device import display_user_code, normalize_user_code
from ..services.device_flow import DeviceFlow, VerificationFailed

COOKIE = 'wazo_like_auth_device_csrf'
_NONCE_RE = re.compile(r'^[A-Za-z0-9_-]{43}$')
_HEADERS = {
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
}
MESSAGES = {
    'unknown_code': 'This code is unknown or has expired. Check the code shown on your device.',
    'bad_credentials': 'Wrong username or password.',
    'throttled': 'Too many failed attempts. Please wait a few minutes and try again.',
    'expired': 'This request is no longer pending: it expired or was already answered.',
    'csrf': 'This form has expired. Please try again.',
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / 'oauth2' / 'templates'),
    autoescape=True, undefined=jinja2.StrictUndefined)


class DevicePages:
    def __init__(self, *, devices: DeviceFlow, csrf_key: bytes):
        self._devices = devices
        self._key = csrf_key

    def show(self) -> Response:
        typed = request.args.get('user_code', '')
        code = normalize_user_code(typed)
        shown = display_user_code(code) if code else typed[:32]
        return self._page('device.html', 200, user_code=shown, username='', message=None)

    def sign_in(self) -> Response:
        form = request.form
        if not self._csrf_ok('sign_in'):
            return self._page('device.html', 400, user_code=form.get('user_code', '')[:32],
                              username='', message=MESSAGES['csrf'])
        try:
            consent = self._devices.sign_in(
                request.remote_addr or '', form.get('user_code', ''), form.get('username', ''),
                form.get('password', ''))
        except VerificationFailed as e:
            return self._page('device.html', e.status, user_code=form.get('user_code', '')[:32],
                              username=form.get('username', '')[:256],
                              message=MESSAGES[e.reason])
        return self._page('consent.html', 200, consent=consent)

    def decide(self) -> Response:
        if not self._csrf_ok('decide'):
            return self._page('done.html', 400, title='Try again', message=MESSAGES['csrf'])
        approve = request.form.get('decision') == 'approve'
        try:
            client = self._devices.decide(request.form.get('consent', ''), approve)
        except VerificationFailed as e:
            return self._page('done.html', e.status, title='Request not pending',
                              message=MESSAGES[e.reason])
        if approve:
            return self._page('done.html', 200, title='Device connected',
                              message=f'{client} is now signed in. You can return to your '
                                      'device.')
        return self._page('done.html', 200, title='Request denied',
                          message=f'{client} was not given access.')

    def _page(self, template: str, status: int, **context) -> Response:
        nonce = self._nonce()
        html = _templates.get_template(template).render(
            csrf_sign_in=self._csrf('sign_in', nonce), csrf_decide=self._csrf('decide', nonce),
            base=_base_path(), **context)
        response = Response(html, status=status, mimetype='text/html')
        response.headers.update(_HEADERS)
        if request.cookies.get(COOKIE) != nonce:
            response.set_cookie(COOKIE, nonce, httponly=True, samesite='Strict',
                                secure=request.is_secure, path='/')
        return response

    def _nonce(self) -> str:
        current = request.cookies.get(COOKIE, '')
        return current if _NONCE_RE.match(current) else secrets.token_urlsafe(32)

    def _csrf(self, form: str, nonce: str) -> str:
        return hmac.new(self._key, f'{form}:{nonce}'.encode(), hashlib.sha256).hexdigest()

    def _csrf_ok(self, form: str) -> bool:
        nonce = request.cookies.get(COOKIE, '')
        sent = request.form.get('csrf', '')
        return bool(_NONCE_RE.match(nonce)) and hmac.compare_digest(
            sent.encode('utf-8', 'replace'), self._csrf(form, nonce).encode())


def _base_path() -> str:
    """The prefix the page was reached under (/api/auth/0.1 or /0.1), for form actions."""
    path = request.script_root + request.path
    return path[:path.rindex('/device')]
