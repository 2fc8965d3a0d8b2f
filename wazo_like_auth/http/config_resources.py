"""GET /config, GET /backends and GET /api/api.yml (admin spec §5.2-§5.4)."""
from __future__ import annotations

from flask import Response
from flask_restful import Resource

from ..services.authorization import Authorizer
from ..services.configuration import ConfigService
from . import openapi
from .auth import ProtectedResource, required_acl


class Config(ProtectedResource):
    """Read only: PATCH (runtime debug toggle in wazo-auth) is not served, as it would change
    one worker process of several and leave the others as they were."""

    def __init__(self, *, authorizer: Authorizer, config: ConfigService):
        super().__init__(authorizer=authorizer)
        self._config = config

    @required_acl('auth.config.read')
    def get(self, auth):
        return self._config.view(auth)


class Backends(Resource):
    def __init__(self, *, config: ConfigService):
        self._config = config

    def get(self):
        return {'data': self._config.backends()}


class ApiSpec(Resource):
    def get(self):
        return Response(openapi.document_yaml(), mimetype=openapi.MEDIA_TYPE)
