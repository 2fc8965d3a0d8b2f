"""POST /users/register (admin spec §1.13): public self-registration, when enabled."""
from __future__ import annotations

from flask import request
from flask_restful import Resource
from marshmallow import Schema, validate
from werkzeug.exceptions import NotFound

from ..services.registration import RegistrationService
from .admin_schemas import Text, email_field
from .body import json_object


class RegisterSchema(Schema):
    username = Text(required=True, validate=validate.Length(1, 256))
    password = Text(required=True, validate=validate.Length(min=1))
    firstname = Text(allow_none=True, load_default=None)
    lastname = Text(allow_none=True, load_default=None)
    email_address = email_field(required=True)

    class Meta:
        unknown = 'exclude'


class Register(Resource):
    def __init__(self, *, registrations: RegistrationService, enabled: bool):
        self._registrations = registrations
        self._enabled = enabled

    def post(self):
        if not self._enabled:  # answered exactly as a path that does not exist
            raise NotFound()
        body = RegisterSchema().load(json_object())
        return self._registrations.register(body, request.remote_addr or '')
