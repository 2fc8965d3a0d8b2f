"""Consents users gave to clients that require consent (OpenID Connect): list and revoke.
Revoking a consent ends the client's access to the user (its refresh token, sessions and
access tokens for that user); it is asked again at the client's next authorization request."""
from __future__ import annotations

from ..exceptions import UnknownUser
from ..services.authorization import Authorizer
from ..services.listing import ListQuery
from ..services.oidc_clients import OidcClientService
from .auth import ProtectedResource, required_acl
from .listing import list_query


def _query() -> ListQuery:
    return list_query(sort_columns=('created_at', 'client_id'), default_order='created_at',
                      filters=('client_id', 'client_uuid', 'created_at'))


class ConsentResource(ProtectedResource):
    """A protected resource served by the consents of OidcClientService."""

    def __init__(self, *, authorizer: Authorizer, consents: OidcClientService):
        super().__init__(authorizer=authorizer)
        self._consents = consents


class UserConsents(ConsentResource):
    @required_acl('auth.users.{user_uuid}.consents.read')
    def get(self, user_uuid, auth):
        auth.user_scope(user_uuid)
        return self._consents.consents(user_uuid, _query()).as_dict(), 200


class UserConsent(ConsentResource):
    @required_acl('auth.users.{user_uuid}.consents.{client_uuid}.delete')
    def delete(self, user_uuid, client_uuid, auth):
        auth.user_scope(user_uuid)
        self._consents.forget_consent(user_uuid, client_uuid)
        return '', 204


class MyConsents(ConsentResource):
    @required_acl('auth.users.me.consents.read')
    def get(self, auth):
        return self._consents.consents(_me(auth), _query()).as_dict(), 200


class MyConsent(ConsentResource):
    @required_acl('auth.users.me.consents.{client_uuid}.delete')
    def delete(self, client_uuid, auth):
        self._consents.forget_consent(_me(auth), client_uuid)
        return '', 204


def _me(auth):
    if auth.user_uuid is None:
        raise UnknownUser(details={'uuid': 'me'})
    return auth.user_uuid
