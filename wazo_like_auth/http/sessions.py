"""Session management (wazo-token-api §3.4)."""
from __future__ import annotations

from ..services.authorization import Authorizer
from ..services.listing import ListQuery
from ..services.sessions import SessionService
from .auth import ProtectedResource, required_acl
from .listing import list_query


def _query() -> ListQuery:
    return list_query(sort_columns=('mobile',), default_order=None)


class SessionResource(ProtectedResource):
    """A protected resource served by the SessionService."""

    def __init__(self, *, authorizer: Authorizer, sessions: SessionService):
        super().__init__(authorizer=authorizer)
        self._sessions = sessions


class Sessions(SessionResource):
    @required_acl('auth.sessions.read')
    def get(self, auth):
        query = _query()
        return self._sessions.list(auth.visible_tenants(query.recurse), query).as_dict()


class SessionItem(SessionResource):
    @required_acl('auth.sessions.{session_uuid}.delete')
    def delete(self, session_uuid, auth):
        self._sessions.delete(auth.visible_tenants(), session_uuid)
        return '', 204


class UserSessions(SessionResource):
    @required_acl('auth.users.{user_uuid}.sessions.read')
    def get(self, user_uuid, auth):
        tenants = auth.user_scope(user_uuid)
        return self._sessions.list(tenants, _query(), user_uuid).as_dict()


class UserSession(SessionResource):
    @required_acl('auth.users.{user_uuid}.sessions.{session_uuid}.delete')
    def delete(self, user_uuid, session_uuid, auth):
        tenants = auth.user_scope(user_uuid)
        self._sessions.delete(tenants, session_uuid, user_uuid)
        return '', 204
