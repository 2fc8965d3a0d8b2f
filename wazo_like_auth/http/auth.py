"""Protected endpoints: the token check every admin resource goes through.

``@required_acl('auth.users.{user_uuid}.tokens.read')`` on a method of a ``ProtectedResource``
reads the token (``X-Auth-Token``, or ``Authorization: Bearer``), fills the ACL template with
the path parameters (``.`` in a value becomes ``_``, so a value cannot add ACL segments), checks
it in-process, resolves ``Wazo-Tenant`` (and the tenants the caller sees, and the tenant of the
path's ``user_uuid``), and passes the caller as the keyword ``auth``. The method runs as that
caller (services/actors.py): every event its transactions write, by triggers and cascades too,
names the caller's auth_id, session, tenant, client and address.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import request
from flask_restful import Resource

from ..exceptions import ServiceError
from ..services import actors
from ..services.authorization import Authorizer


def request_token() -> str:
    token = request.headers.get('X-Auth-Token')
    if token:
        return token
    scheme, _, credentials = request.headers.get('Authorization', '').partition(' ')
    return credentials.strip() if scheme.lower() == 'bearer' else ''


def required_acl(template: str, *, body: Callable[[], Any] | None = None):
    """``body``: the request body's loader, run after the ACL check and before Wazo-Tenant is
    resolved (wazo-auth's order for POST /groups and /policies: a bad body is a 400 whatever
    the tenant); the method gets what it returns as the keyword ``body``."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            values = {k: str(v).replace('.', '_') for k, v in kwargs.items()}
            required = template.format(**values)
            address = request.remote_addr or ''
            loaded = {}
            load = None if body is None else lambda: loaded.update(body=body())
            try:
                auth = self._authorizer.authorize(request_token(), required,
                                                  request.headers.get('Wazo-Tenant'), address,
                                                  subject=kwargs.get('user_uuid'),
                                                  before_tenant=load)
            except ServiceError as e:
                _bearer_challenge(e)
                raise
            with actors.acting_as(actors.of_token(auth.row, address)):
                return method(self, *args, auth=auth, **loaded, **kwargs)
        return wrapper
    return decorate


def _bearer_challenge(error: ServiceError) -> None:
    """RFC 6750 §3: a 401 to a request that used ``Authorization: Bearer`` says why in
    WWW-Authenticate (OAuth clients read it); the body stays the envelope."""
    scheme = request.headers.get('Authorization', '').partition(' ')[0].lower()
    if error.status_code != 401 or scheme != 'bearer' or request.headers.get('X-Auth-Token'):
        return
    missing_acl = error.details.get('reason') == 'missing_permission_or_invalid_tenant'
    code = 'insufficient_scope' if missing_acl else 'invalid_token'
    error.headers.setdefault('WWW-Authenticate', f'Bearer realm="wazo-like-auth", error="{code}"')


class ProtectedResource(Resource):
    """A resource whose methods use @required_acl. A subclass names its other collaborators
    as keyword arguments of its own ``__init__`` (see http/users.py: UserResource)."""

    def __init__(self, *, authorizer: Authorizer):
        self._authorizer = authorizer
