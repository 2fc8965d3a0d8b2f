"""E-mail confirmation (admin spec §1.9): ask for a link, confirm by API or by the mailed link.

The GET of a mailed link answers a small server-rendered page (``pages.render``: no
JavaScript, strict CSP, never framed or cached, no Referer: the token is in the URL), 200 when
confirmed, else the error's status with a readable sentence (``pages.readable_errors`` for the
unexpected ones: a database outage, a bug).
"""
from __future__ import annotations

import re
import uuid

from flask import Response, request
from flask_restful import Resource
from werkzeug.exceptions import NotFound

from ..exceptions import ServiceError
from ..services.authorization import Authorizer
from ..services.email_confirmation import EmailConfirmationService
from .auth import ProtectedResource, request_token, required_acl
from .pages import readable_errors, render
from .users import reach

_MESSAGES = {
    # Every live link of an address works (it only proves the mailbox): none is "replaced".
    401: ('Link not valid', 'This link is not valid: it expired, was already used, the '
                            'address is already confirmed or no longer on the account, or the '
                            "account's password changed since it was sent. If the address "
                            'still needs confirming, ask for a new confirmation mail.'),
    404: ('Address unknown', 'This address is no longer on the account.'),
}
_MANGLED = ('Link not valid', 'This link is incomplete or mistyped. Open it again from your mail '
                              '(the whole link), or ask for a new confirmation mail.')
_UUID_RE = re.compile(r'[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-'
                      r'[A-Fa-f0-9]{12}')


class ConfirmationRequest(ProtectedResource):
    def __init__(self, *, authorizer: Authorizer, confirmations: EmailConfirmationService):
        super().__init__(authorizer=authorizer)
        self._confirmations = confirmations

    @required_acl('auth.users.{user_uuid}.emails.{email_uuid}.confirm.read')
    def get(self, user_uuid, email_uuid, auth):
        self._confirmations.request(reach(auth, user_uuid), user_uuid, email_uuid)
        return '', 204


class EmailConfirm(Resource):
    """Routed for any path segment: a malformed address uuid answers the API's 404 envelope
    to a PUT, and a readable 404 page to the GET of a mangled link (truncated, wrapped)."""

    def __init__(self, *, confirmations: EmailConfirmationService):
        self._confirmations = confirmations

    def put(self, email_uuid):
        self._confirmations.confirm(_uuid(email_uuid), _token(), request.remote_addr or '')
        return '', 204

    @readable_errors  # a browser opens it: a database outage or a bug answers a page too
    def get(self, email_uuid):
        try:
            parsed = _uuid(email_uuid)
        except NotFound:
            return _page(404, *_MANGLED, ok=False)
        try:
            self._confirmations.confirm(parsed, _token(), request.remote_addr or '')
        except ServiceError as e:
            title, message = _MESSAGES.get(e.status_code, ('Not confirmed', e.message))
            return _page(e.status_code, title, message, ok=False)
        return _page(200, 'Address confirmed',
                     'Your e-mail address is confirmed. You can close this page.', ok=True)


def _uuid(value: str) -> uuid.UUID:
    """``value`` as werkzeug's uuid converter reads it, else the 404 of an unknown URL."""
    if not _UUID_RE.fullmatch(value):
        raise NotFound()
    return uuid.UUID(value)


def _token() -> str:
    return request_token() or request.args.get('token', '')


def _page(status: int, title: str, message: str, ok: bool) -> Response:
    return render('result.html', status, title=title, message=message, ok=ok)
