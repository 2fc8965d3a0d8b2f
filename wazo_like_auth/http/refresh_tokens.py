"""Refresh-token management (wazo-token-api §3.3)."""
from __future__ import annotations

from ..exceptions import UnknownUser
from ..services.authorization import Authorizer
from ..services.listing import ListQuery
from ..services.refresh_tokens import RefreshTokenService
from .auth import ProtectedResource, required_acl
from .listing import list_query


def _query() -> ListQuery:
    return list_query(sort_columns=('created_at', 'client_id', 'mobile'),
                      default_order='created_at', filters=('created_at', 'client_id', 'mobile'))


class RefreshTokenResource(ProtectedResource):
    """A protected resource served by the RefreshTokenService."""

    def __init__(self, *, authorizer: Authorizer, refresh_tokens: RefreshTokenService):
        super().__init__(authorizer=authorizer)
        self._refresh_tokens = refresh_tokens


class RefreshTokens(RefreshTokenResource):
    @required_acl('auth.tokens.read')
    def get(self, auth):
        query = _query()
        return self._refresh_tokens.list(auth.visible_tenants(query.recurse), query).as_dict()


class UserRefreshTokens(RefreshTokenResource):
    @required_acl('auth.users.{user_uuid}.tokens.read')
    def get(self, user_uuid, auth):
        tenants = auth.user_scope(user_uuid)
        return self._refresh_tokens.list(tenants, _query(), user_uuid).as_dict()


class MyRefreshTokens(RefreshTokenResource):
    @required_acl('auth.users.me.tokens.read')
    def get(self, auth):
        tenants = auth.visible_tenants(recurse=False)
        return self._refresh_tokens.list(tenants, _query(), _me(auth)).as_dict()


class UserRefreshToken(RefreshTokenResource):
    @required_acl('auth.users.{user_uuid}.tokens.{client_id}.delete')
    def delete(self, user_uuid, client_id, auth):
        tenants = auth.user_scope(user_uuid)
        self._refresh_tokens.delete(tenants, user_uuid, client_id)
        return '', 204


class MyRefreshToken(RefreshTokenResource):
    @required_acl('auth.users.me.tokens.{client_id}.delete')
    def delete(self, client_id, auth):
        self._refresh_tokens.delete(auth.visible_tenants(), _me(auth), client_id)
        return '', 204


def _me(auth):
    if auth.user_uuid is None:
        raise UnknownUser(details={'uuid': 'me'})
    return auth.user_uuid
