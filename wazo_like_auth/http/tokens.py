"""Token resources: login, checks, scopes check, revocation (wazo-token-api §1–§3.1)."""
from __future__ import annotations

import json

from flask import Response, request
from flask_restful import Resource

from ..services.login_requests import LoginRequest
from ..services.tokens import TokenService
from ..services.validation import CheckedToken, TokenChecker
from ..services.views import token_view
from .client_facts import user_agent
from .body import json_object
from .credentials import basic_credentials
from .schemas import ScopesCheckSchema, TokenRequestSchema

NO_STORE = {'Cache-Control': 'no-store', 'Pragma': 'no-cache'}
# Built once for the hot paths: building a schema costs more than loading a body with it, and
# load() keeps no state between calls (marshmallow 4 has no context), so threads share them.
_TOKEN_REQUEST = TokenRequestSchema()
_SCOPES_CHECK = ScopesCheckSchema()


def login_request() -> LoginRequest:
    """The LoginRequest of the current POST /token request."""
    body = _TOKEN_REQUEST.load(json_object(falsy_is_empty=False))
    login, password = basic_credentials(request.headers.get('Authorization'))
    return LoginRequest(
        login=login, password=password, expiration=body.get('expiration'),
        backend=body['backend'], access_type=body['access_type'],
        client_id=body.get('client_id'), refresh_token=body.get('refresh_token'),
        mobile=request.headers.get('Wazo-Session-Type', '').lower() == 'mobile',
        user_agent=user_agent(),
        remote_addr=request.remote_addr or '',
    )


class Tokens(Resource):
    def __init__(self, *, token_service: TokenService):
        self._tokens = token_service

    def post(self):
        issued = self._tokens.login(login_request())
        headers = {**NO_STORE, 'Wazo-Sessions-Revoked': str(issued.sessions_revoked)}
        return {'data': {**issued.data, **issued.extra}}, 200, headers


def token_check_view(checker: TokenChecker):
    """HEAD/GET /token/{t}: the hot path, as a plain Flask view.

    Every API call of every backend service comes through here, so it skips flask-restful's
    dispatch and serialisation; errors still reach the one error handler (http/errors.py).
    Cached successful checks do not even get here: check_fast_path answers them first.
    """
    def check_token(token):
        current = request._get_current_object()  # one proxy lookup instead of five
        args = current.args
        value, row = checker.check(token, args.get('scope'), args.get('tenant'),
                                   current.remote_addr or '')
        if current.method == 'HEAD':
            return _NoContent(status=204)
        return Response(check_body(value, row), status=200, headers=NO_STORE,
                        mimetype='application/json')
    return check_token


_BODY_HEAD = b'{"data": {"token": '


def check_body(value: str, row: CheckedToken) -> bytes:
    """The body of a successful GET /token/{t}: ``{"data": token_view(value, row)}`` in JSON.

    Only the token value differs between two checks of one token, so the rest is serialised
    at the first GET and kept with the checked token: formatting four times and the JSON of
    a dozen fields took three quarters of a cached GET check's own CPU. The token value
    itself is never kept (the cache holds digests only)."""
    if row.check_body_tail is None:
        row.check_body_tail = _body_tail(row)
    return _BODY_HEAD + json.dumps(value).encode() + row.check_body_tail


def _body_tail(row) -> bytes:
    """What follows the token value in the body: its other fields, then the closing braces."""
    view = token_view('', row)
    del view['token']  # the first key: the body's head ends with its name
    return b', ' + json.dumps(view).encode()[1:] + b'}'


class _NoContent(Response):
    default_mimetype = None  # a 204 has no body, hence no type


class TokenRevocation(Resource):
    def __init__(self, *, token_service: TokenService):
        self._tokens = token_service

    def delete(self, token):
        self._tokens.revoke(token, request.remote_addr or '')
        return {'data': {'message': 'success'}}, 200


class TokenScopesCheck(Resource):
    def __init__(self, *, token_checker: TokenChecker):
        self._checker = token_checker

    def post(self, token):
        body = _SCOPES_CHECK.load(json_object(falsy_is_empty=False))
        scopes = self._checker.check_scopes(token, body['scopes'], body['tenant_uuid'],
                                            request.remote_addr or '')
        return {'scopes': scopes}, 200
