"""The device verification page (RFC 8628 §3.3): server-rendered HTML, no JavaScript.

GET  .../device[?user_code=XXXX-XXXX]   the code (pre-filled) and a sign-in form
POST .../device                         checks code and credentials, shows the consent form
POST .../device/decision                approves or denies

One page per issuer: ``/api/auth/0.1/device`` (and ``/0.1/device``) for the global issuer,
``/realms/{slug}/device`` for a realm (Keycloak's path). Each finds only the codes requested
at its own issuer: another's is "unknown or expired", exactly as a mistyped code.

CSRF: each form carries a token bound to the browser (``pages.CsrfGuard``). The approve/deny
form also carries the one-time consent value issued at sign-in (stored hashed), so only the
person who just signed in can decide. Pages have the headers of ``pages.security_headers``
(never framed: clickjacking on "Approve"; no Referer: the user code is in the URL).
"""
from __future__ import annotations

from flask import Response, request

from ..oauth2.device import display_user_code, normalize_user_code
from ..oidc.realms import Realm
from ..services.device_flow import DeviceFlow, VerificationFailed
from .client_facts import user_agent
from .oidc_endpoints import base_url, global_realm
from .pages import CsrfGuard, readable_errors, render, throttled_message, with_retry_after

COOKIE = 'wazo_like_auth_device_csrf'
MESSAGES = {
    'unknown_code': 'This code is unknown or has expired. Check the code shown on your device.',
    'bad_credentials': 'Wrong username or password.',
    'expired': 'This request is no longer pending: it expired or was already answered.',
    'csrf': 'This form has expired. Please try again.',
    'outside_client': 'This account cannot be used with this application. '
                      'Please sign in with another account.',
}


class DevicePages:
    """The views take ``slug``: the realm whose page it is (None: the global issuer's). An
    unknown realm, like any failure, answers a readable page (``pages.readable_errors``)."""

    def __init__(self, *, devices: DeviceFlow, csrf_key: bytes, oidc_clients,
                 public_url: str | None):
        self._devices = devices
        self._csrf = CsrfGuard(key=csrf_key, cookie=COOKIE)
        self._clients = oidc_clients
        self._public_url = public_url
        self.show = readable_errors(self._show)
        self.sign_in = readable_errors(self._sign_in)
        self.decide = readable_errors(self._decide)

    def _realm(self, slug: str | None) -> Realm:
        if slug is None:
            return global_realm(self._public_url)
        return self._clients.realm(slug, base_url(self._public_url))

    def _show(self, slug: str | None = None) -> Response:
        self._realm(slug)  # an unknown realm has no page
        typed = request.args.get('user_code', '')
        code = normalize_user_code(typed)
        shown = display_user_code(code) if code else typed[:32]
        return self._page('device.html', 200, user_code=shown, username='', message=None)

    def _sign_in(self, slug: str | None = None) -> Response:
        form, realm = request.form, self._realm(slug)
        if not self._csrf.ok('sign_in'):
            return self._page('device.html', 400, user_code=form.get('user_code', '')[:32],
                              username='', message=MESSAGES['csrf'])
        try:
            consent = self._devices.sign_in(
                request.remote_addr or '', form.get('user_code', ''), form.get('username', ''),
                form.get('password', ''), realm=realm,
                user_agent=user_agent())
        except VerificationFailed as e:
            message = throttled_message(e.retry_after) if e.reason == 'throttled' \
                else MESSAGES[e.reason]
            return with_retry_after(
                self._page('device.html', e.status, user_code=form.get('user_code', '')[:32],
                           username=form.get('username', '')[:256], message=message),
                e.retry_after)
        return self._page('consent.html', 200, consent=consent)

    def _decide(self, slug: str | None = None) -> Response:
        issuer = self._realm(slug).issuer
        if not self._csrf.ok('decide'):
            return self._page('done.html', 400, title='Try again', message=MESSAGES['csrf'])
        approve = request.form.get('decision') == 'approve'
        try:
            client = self._devices.decide(request.form.get('consent', ''), approve,
                                          issuer=issuer)
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
        nonce = self._csrf.nonce()
        response = render(template, status, form_action="'self'",
                          csrf_sign_in=self._csrf.token('sign_in', nonce),
                          csrf_decide=self._csrf.token('decide', nonce), base=_base_path(),
                          **context)
        return self._csrf.bind(response, nonce)


def _base_path() -> str:
    """The prefix the page was reached under (/api/auth/0.1, /0.1 or /realms/{slug}), for
    form actions."""
    path = request.script_root + request.path
    return path[:path.rindex('/device')]
