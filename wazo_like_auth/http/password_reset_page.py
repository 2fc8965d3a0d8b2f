"""The page a mailed password-reset link opens (admin spec §1.13, for people): HTML, no
JavaScript, the headers of ``pages.security_headers`` (no Referer: the token is in the URL).

GET  .../users/password/reset/page?user_uuid=U&token=T   the form, or "link not valid"
POST .../users/password/reset/page                        csrf, user_uuid, token, password,
                                                          confirmation: sets the password

The form is shown only for a link ``PasswordResetService.complete`` would accept now; any
other link (malformed, unknown, expired, used, another user's, an access token) gets one and
the same "link not valid" page, so the page tells nothing about accounts. The POST is
CSRF-protected (``pages.CsrfGuard``, its own key and cookie) and completes the reset through
the API's own ``complete``: single use, sessions ended, reset tokens voided, the password
rules of the API (``ResetPasswordSchema``, 72 bytes at most) with the reason on the page.
The token travels in the form body of the POST, not in its URL.
"""
from __future__ import annotations

import uuid

from flask import Response, request
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from ..exceptions import PasswordTooLong, Unauthorized
from ..services.password_reset import PasswordResetService
from .pages import CsrfGuard, render
from .password_reset import ResetPasswordSchema

COOKIE = 'wazo_like_auth_reset_csrf'
FORM = 'password_reset'
MESSAGES = {
    'empty': 'Type a new password.',
    'unstorable': 'This password holds a character that cannot be used. Choose another one.',
    'mismatch': 'The two passwords are not the same. Type the same password twice.',
    'too_long': 'This password is too long: at most 72 bytes (72 plain letters or digits, '
                'fewer with accented letters or other scripts).',
}


class PasswordResetPages:
    def __init__(self, *, resets: PasswordResetService, csrf_key: bytes):
        self._resets = resets
        self._csrf = CsrfGuard(key=csrf_key, cookie=COOKIE)

    def show(self) -> Response:
        user_uuid, token = _link(request.args)
        if user_uuid is None or not self._resets.link_valid(user_uuid, token):
            return _invalid()
        return self._form(200, user_uuid, token, None)

    def submit(self) -> Response:
        if not self._csrf.ok(FORM):
            return render('result.html', 400, title='Form expired', ok=False,
                          message='This form has expired or did not come from this site. '
                                  'Open the link from your mail again.')
        user_uuid, token = _link(request.form)
        if user_uuid is None or not self._resets.link_valid(user_uuid, token):
            return _invalid()
        password, problem = _new_password(request.form)
        if problem is not None:
            return self._form(400, user_uuid, token, MESSAGES[problem])
        try:
            self._resets.complete(user_uuid, token, password, request.remote_addr or '')
        except PasswordTooLong:
            return self._form(400, user_uuid, token, MESSAGES['too_long'])
        except Unauthorized:  # used or voided since the check above
            return _invalid()
        return render('result.html', 200, title='Password changed', ok=True,
                      message='Your password is changed and every session of your account '
                              'has ended. Sign in with your new password.')

    def _form(self, status: int, user_uuid: uuid.UUID, token: str,
              message: str | None) -> Response:
        nonce = self._csrf.nonce()
        response = render('password_reset.html', status, form_action="'self'",
                          csrf=self._csrf.token(FORM, nonce), user_uuid=str(user_uuid),
                          token=token, message=message,
                          action=request.script_root + request.path)
        return self._csrf.bind(response, nonce)


def _link(values: MultiDict) -> tuple[uuid.UUID | None, str]:
    try:
        user_uuid = uuid.UUID(values.get('user_uuid', ''))
    except ValueError:
        user_uuid = None
    return user_uuid, values.get('token', '')


def _new_password(form: MultiDict) -> tuple[str, str | None]:
    """The typed password and what is wrong with it (a MESSAGES key), if anything."""
    password = form.get('password', '')
    if not password:
        return password, 'empty'
    try:
        ResetPasswordSchema().load({'password': password})  # the API's rules
    except ValidationError:
        return password, 'unstorable'
    if password != form.get('confirmation', ''):
        return password, 'mismatch'
    return password, None


def _invalid() -> Response:
    return render('result.html', 401, title='Link not valid', ok=False,
                  message='This link is invalid or has expired: it may have been used '
                          'already or replaced by a newer one. Ask for a new password-reset '
                          'mail.')
