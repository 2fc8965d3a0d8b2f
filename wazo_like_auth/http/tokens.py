"""Token resources: login, checks, scopes check, revocation (wazo-token-api §1–§3.1)."""
from __future__ import annotations

from flask import request
from flask_restful import Resource

from ..services.tokens import LoginRequest, TokenService
from ..services.validation import TokenChecker
from ..services.views import token_view
from .body import json_object
from .credentials import basic_credentials
from .schemas import ScopesCheckSchema, TokenRequestSchema

NO_STORE = {'Cache-Control': 'no-store', 'Pragma': 'no-cache'}


def login_request() -> LoginRequest:
    """The LoginRequest of the current POST /token request."""
    body = TokenRequestSchema().load(json_object())
    login, password = basic_credentials(request.headers.get('Authorization'))
    return LoginRequest(
        login=login, password=password, expiration=body.get('expiration'),
        backend=body['backend'], access_type=body['access_type'],
        client_id=body.get('client_id'), refresh_token=body.get('refresh_token'),
        mobile=request.headers.get('Wazo-Session-Type', '').lower() == 'mobile',
        user_agent=request.headers.get('User-Agent', ''),
        remote_addr=request.remote_addr or '',
    )


class Tokens(Resource):
    def __init__(self, *, token_service: TokenService):
        self._tokens = token_service

    def post(self):
        issued = self._tokens.login(login_request())
        headers = {**NO_STORE, 'Wazo-Sessions-Revoked': str(issued.sessions_revoked)}
        return {'data': {**issued.data, **issued.extra}}, 200, headers


class Token(Resource):
    def __init__(self, *, token_service: TokenService, token_checker: TokenChecker):
        self._tokens = token_service
        self._checker = token_checker

    def head(self, token):
        self._checker.check(token, request.args.get('scope'), request.args.get('tenant'),
                            request.remote_addr or '')
        return '', 204

    def get(self, token):
        value, row = self._checker.check(token, request.args.get('scope'),
                                         request.args.get('tenant'), request.remote_addr or '')
        return {'data': token_view(value, row)}, 200, NO_STORE

    def delete(self, token):
        self._tokens.revoke(token)
        return {'data': {'message': 'success'}}, 200


class TokenScopesCheck(Resource):
    def __init__(self, *, token_checker: TokenChecker):
        self._checker = token_checker

    def post(self, token):
        body = ScopesCheckSchema().load(json_object())
        scopes = self._checker.check_scopes(token, body['scopes'], body['tenant_uuid'],
                                            request.remote_addr or '')
        return {'scopes': scopes}, 200
