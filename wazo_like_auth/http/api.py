"""The flask-restful Api of the service: error mapping and the two URL prefixes (spec D1)."""
from __future__ import annotations

from collections.abc import Iterable

import flask_restful

from .errors import handle_error

PREFIXES = ('/0.1', '/api/auth/0.1')


class Api(flask_restful.Api):
    """flask-restful's Api with every error answered by our envelope.

    Overriding handle_error (not only app.errorhandler) is what keeps flask-restful from
    turning our exceptions into bare 500s (flask-restful issues #578, #796).
    """

    def handle_error(self, e):
        return handle_error(e)

    def route(self, resource, *paths: str, **kwargs) -> None:
        """Serve ``resource`` at every path under both prefixes."""
        self.add_resource(resource, *_prefixed(paths),
                          resource_class_kwargs=kwargs)


def _prefixed(paths: Iterable[str]) -> list[str]:
    return [prefix + path for path in paths for prefix in PREFIXES]
