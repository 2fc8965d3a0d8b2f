"""GET/POST /users/password/reset (admin spec §1.13): public, no X-Auth-Token required."""
from __future__ import annotations

import uuid

from flask import request
from flask_restful import Resource
from marshmallow import Schema, validate

from ..exceptions import InvalidData
from ..services.password_reset import FIELDS, PasswordResetService
from .admin_schemas import Text
from .auth import request_token
from .body import json_object


class ResetPasswordSchema(Schema):
    """``password`` is required; null removes the password."""
    password = Text(required=True, allow_none=True, validate=validate.Length(min=1))

    class Meta:
        unknown = 'exclude'


class PasswordReset(Resource):
    def __init__(self, *, resets: PasswordResetService):
        self._resets = resets

    def get(self):
        """Always 204 once the query is well-formed: no account enumeration."""
        given = [(name, request.args[name]) for name in FIELDS if name in request.args]
        if len(given) != 1 or not given[0][1]:
            raise InvalidData('"username" or "email" or "login" should be used',
                              resource='reset')
        name, value = given[0]
        if '\x00' in value:  # no login holds one, and PostgreSQL cannot store it (a 500)
            raise InvalidData(f'{name}: Not a valid text string.', resource='reset',
                              details={name: ['Not a valid text string.']})
        self._resets.request(name, value, request.remote_addr or '')
        return '', 204

    def post(self):
        user_uuid = _user_uuid(request.args.get('user_uuid', ''))
        body = ResetPasswordSchema().load(json_object())
        token = request_token() or request.args.get('token', '')
        self._resets.complete(user_uuid, token, body['password'], request.remote_addr or '')
        return '', 204


def _user_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidData('user_uuid: Not a valid UUID.', details={'user_uuid': {
            'message': 'Not a valid UUID.', 'constraint_id': 'type',
            'constraint': 'uuid'}}) from None
