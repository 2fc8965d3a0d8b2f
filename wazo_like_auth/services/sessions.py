"""Session listing and revocation (wazo-token-api §3.4, with the D5 fix)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import sessionmaker

from ..logs import get_logger
from ..repositories import sessions as session_repo
from ..repositories.listing import paginate
from .listing import ListQuery, Page

logger = get_logger(__name__)

class SessionService:
    def __init__(self, *, sessions: sessionmaker):
        self._sessions = sessions

    def list(self, tenants: list[uuid.UUID], query: ListQuery,
             user_uuid: uuid.UUID | None = None) -> Page:
        with self._sessions() as db:
            total, filtered, rows = paginate(db, session_repo.listing(tenants, user_uuid),
                                             query, columns=session_repo.LIST_COLUMNS)
        return Page(total, filtered, [_item(row) for row in rows])

    def delete(self, tenants: list[uuid.UUID], session_uuid: uuid.UUID,
               user_uuid: uuid.UUID | None = None) -> bool:
        """Delete a visible session (only if it belongs to ``user_uuid`` when given).

        Returns whether something was deleted; its tokens stop validating at once.
        """
        with self._sessions.begin() as db:
            deleted = session_repo.delete_visible(db, session_uuid, tenants, user_uuid)
        if deleted:
            logger.info('session %s deleted', session_uuid)
        return bool(deleted)


def _item(row: Any) -> dict[str, Any]:
    return {'uuid': str(row.uuid), 'mobile': row.mobile, 'tenant_uuid': str(row.tenant_uuid),
            'user_uuid': str(row.user_uuid) if row.user_uuid else None}
