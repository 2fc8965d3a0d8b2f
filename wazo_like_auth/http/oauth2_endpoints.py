"""HTTP resources of the OAuth 2.0 endpoints (token, introspection, revocation, device
authorization; discovery and userinfo are OpenID Connect's, in oidc_endpoints.py).

These answer RFC bodies, not the Wazo envelope of spec D4: successes are the RFC documents,
errors are ``{"error", "error_description"}`` (RFC 6749 §5.2) with the RFC status and headers,
because OAuth client libraries read exactly that. Routing errors on these paths (404, 405,
413) keep the envelope, like everything else of the service.
"""
from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from flask import request
from flask_restful import Resource
from sqlalchemy.exc import SQLAlchemyError

from ..exceptions import InvalidHost, ServiceError
from ..oauth2.errors import InvalidGrant, InvalidRequest, OAuth2Error, TemporarilyUnavailable
from ..services import actors
from ..services.oauth_tokens import Origin
from .client_facts import user_agent
from .errors import database_error_meaning

FORM = 'application/x-www-form-urlencoded'
NO_STORE = {'Cache-Control': 'no-store', 'Pragma': 'no-cache'}
MAX_FIELDS = 32


def oauth_form() -> dict[str, str]:
    """The form parameters of the request body (RFC 6749 §3.2, §3.1).

    Raises InvalidRequest for another media type (JSON included), a body that is not UTF-8
    form encoding, a NUL character, or a parameter given twice (§3.2: MUST NOT). Parameters
    without a value count as omitted (§3.1); so does an empty body, whatever its media type.
    """
    body = request.get_data(cache=True)
    if not body:
        # A request whose only parameters are its Basic credentials (RFC 8628 §3.1 without
        # scope) has an empty body, which HTTP clients send without a Content-Type.
        return {}
    if request.mimetype != FORM:
        raise InvalidRequest(f'The body must be {FORM}')
    try:
        pairs = parse_qsl(body.decode('utf-8'), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS, errors='strict')
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest('The body is not valid form encoding') from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if '\x00' in name or '\x00' in value:
            raise InvalidRequest('Parameters cannot contain NUL')
        if value == '':
            continue
        if name in form:
            raise InvalidRequest(f'Parameter {name} is repeated')
        form[name] = value
    return form


def origin(issuer_url: str | None = None) -> Origin:
    """The request's origin; ``issuer_url``: the issuer it came to (the ``iss`` of JWT access
    tokens it may issue)."""
    return Origin(user_agent=user_agent(),
                  remote_addr=request.remote_addr or '', issuer=issuer_url)


def issuer(public_url: str | None) -> str:
    """Configured ``public_url``, else derived from the request (``request_root``)."""
    return public_url or request_root() + '/api/auth/0.1'


def request_root() -> str:
    """The request's scheme and host as the client used them (behind ProxyFix when proxies are
    configured). InvalidHost when werkzeug read no host name in it: a Host of other characters (a space, '@', a port that is not one, 'web_app' with its underscore),
    which it takes for none: the issuer was then 'http:/api/auth/0.1'. Only what names the
    service by its host refuses it: the Wazo API answers such a request."""
    if not request.host:
        raise InvalidHost()
    return request.host_url.rstrip('/')


def oauth_answers(method):
    """Answers OAuth2Error as its RFC body; other service errors, and database errors (an
    outage, a race lost: http/errors.database_error_meaning), become the nearest OAuth error
    (a throttled login: 429 temporarily_unavailable with Retry-After; other 4xx:
    invalid_grant; 5xx: 503 temporarily_unavailable, with its Retry-After if any). Every
    answer is no-store."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            body, status = method(*args, **kwargs)
        except OAuth2Error as e:
            return e.body(), e.status_code, {**NO_STORE, **e.headers}
        except ServiceError as e:
            return _nearest(e)
        except SQLAlchemyError as e:
            meant = database_error_meaning(e)
            if meant is None:
                raise
            return _nearest(meant)
        return body, status, NO_STORE
    return wrapper


def _nearest(e: ServiceError) -> tuple[dict, int, dict]:
    if isinstance(e, InvalidHost):
        return InvalidRequest(e.message).body(), 400, NO_STORE
    if e.status_code == 429:
        error: OAuth2Error = TemporarilyUnavailable(e.message, headers=e.headers)
        return error.body(), 429, {**NO_STORE, **error.headers}
    error = InvalidGrant(e.message) if e.status_code < 500 \
        else TemporarilyUnavailable(headers=e.headers)
    return error.body(), error.status_code, {**NO_STORE, **error.headers}


class _OAuthResource(Resource):
    def __init__(self, *, endpoint):
        self._endpoint = endpoint


class OAuthToken(_OAuthResource):
    cross_origin = True  # http/cors.py

    def __init__(self, *, endpoint, public_url: str | None = None):
        super().__init__(endpoint=endpoint)
        self._public_url = public_url

    @oauth_answers
    def post(self):
        return self._endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                                     origin(issuer(self._public_url))), 200


class OAuthIntrospection(_OAuthResource):
    cross_origin = False  # confidential clients, server side (http/cors.py)

    @oauth_answers
    def post(self):
        return self._endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                                     request.remote_addr or ''), 200


class OAuthRevocation(_OAuthResource):
    cross_origin = True  # http/cors.py

    @oauth_answers
    def post(self):
        # The revocation's events name the client (learnt by the service) and this address.
        with actors.acting_as({'address': request.remote_addr or ''}):
            self._endpoint.handle(oauth_form(), request.headers.get('Authorization'))
        return {}, 200


class OAuthDeviceAuthorization(Resource):
    cross_origin = True  # http/cors.py

    def __init__(self, *, endpoint, public_url: str | None):
        self._endpoint = endpoint
        self._public_url = public_url

    @oauth_answers
    def post(self):
        return self._endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                                     issuer(self._public_url)), 200
