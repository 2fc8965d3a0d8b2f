"""Health of the service's components."""
from __future__ import annotations


from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ..logs import get_logger
from ..repositories import locks

logger = get_logger(__name__)


class StatusService:
    def __init__(self, *, engine: Engine):
        self._engine = engine

    def report(self) -> dict[str, dict[str, str]]:
        """``{component: {"status": "ok" | "fail"}}`` for the REST API and the database."""
        try:
            with self._engine.connect() as conn:
                locks.ping(conn)
            database = 'ok'
        except SQLAlchemyError as e:
            logger.warning('status: database unreachable: %s', type(e).__name__)
            database = 'fail'
        return {'rest_api': {'status': 'ok'}, 'database': {'status': database}}
