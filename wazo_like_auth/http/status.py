"""HEAD/GET /status: is the service able to answer, and is its database reachable."""
from __future__ import annotations

from flask_restful import Resource

from ..services.status import StatusService


class Status(Resource):
    def __init__(self, *, status_service: StatusService):
        self._status = status_service

    def get(self):
        report = self._status.report()
        healthy = all(part['status'] == 'ok' for part in report.values())
        return report, 200 if healthy else 503

    head = get
