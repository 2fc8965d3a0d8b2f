"""What both verification modes share: the request's token, the required access, the refusals
in the service's error envelope, and the ``required_acl`` decorator.

Depends on ``flask`` only.
"""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

import flask

# No token of ours comes near this (an opaque token is 36 characters, a JWT access token about
# a kilobyte plus its ACL): anything this long is refused before any work (issue 16).
MAX_TOKEN_SIZE = 16 * 1024
DEFAULT_TIMEOUT = (1.0, 2.0)  # (connect, read): a backend must not hang on its auth service


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


class Guard:
    """The decorator of both modes, over the mode's ``verify``.

    ``verify(token, acl, tenant)`` returns the token's verified claims (None when the mode has
    none: the online check) or raises AccessDenied.
    """

    def verify(self, token: str, acl: str, tenant: str | None = None) -> dict | None:
        raise NotImplementedError

    def required_acl(self, template: str) -> Callable:
        """Decorator for a Flask view or a flask-restful method: on success the view runs with
        ``flask.g.auth_token`` (the token) and ``flask.g.auth_claims`` (its verified claims,
        None in online mode); a refusal answers in the error envelope."""
        def decorate(view: Callable) -> Callable:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                token = request_token()
                try:
                    claims = self.verify(token, required_access(template, flask.request.view_args),
                                         flask.request.headers.get('Wazo-Tenant') or None)
                except AccessDenied as denied:
                    return denied.response()
                flask.g.auth_token = token
                flask.g.auth_claims = claims
                return view(*args, **kwargs)
            return guarded
        return decorate


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


def unauthorized(token: str, acl: str) -> AccessDenied:
    # The token is never echoed whole: a response body may end up in a proxy or browser log.
    return AccessDenied(401, 'unauthorized', 'Unauthorized', {
        'invalid_token': _redact(token) if token else '', 'reason': 'not_found_or_expired',
        'required_access': acl})


def forbidden(acl: str, tenant: str | None) -> AccessDenied:
    return AccessDenied(403, 'forbidden', 'Forbidden', {
        'reason': 'missing_permission_or_invalid_tenant', 'required_access': acl,
        'tenant_uuid': tenant})


def unreachable() -> AccessDenied:
    return AccessDenied(503, 'authentication-server-unreachable',
                        'Authentication server unreachable')


def _redact(value: str) -> str:
    return 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + value[-8:] if len(value) >= 8 else 'XXXXXXXX'
