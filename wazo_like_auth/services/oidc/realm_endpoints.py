"""The OAuth 2.0 endpoint objects restricted to a realm: a client of another tenant fails
authentication as a wrong secret does, a user of another tenant fails the password grant as a
wrong password does, and a refresh or device grant that would give a token of another tenant's
user is refused (what it issued is revoked at once). Built per request (plain objects around
the shared services)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ...oauth2.errors import AccessDenied, InvalidGrant, OAuth2Error
from ...oidc.realms import Realm
from ..clients import AuthenticatedClient, ClientService
from ..device_flow import DeviceFlow
from ..oauth2.device_authorization import DeviceAuthorizationEndpoint
from ..oauth2.introspection import IntrospectionEndpoint
from ..oauth2.revocation import RevocationEndpoint
from ..oauth2.token_endpoint import TokenEndpoint
from ..login_trail import LoginAttempt
from ..oauth_tokens import OAUTH2_TOKEN, Grant, OAuthTokenService, Origin
from ..oidc_signin import SigninService


class RealmClients:
    """ClientService.authenticate for one realm."""

    def __init__(self, clients: ClientService, realm: Realm):
        self._clients = clients
        self._realm = realm

    def authenticate(self, credentials) -> AuthenticatedClient | None:
        client = self._clients.authenticate(credentials)
        return client if client and self._realm.accepts(client.tenant_uuid) else None


class RealmTokens:
    """OAuthTokenService for one realm: the password grant checks the user's tenant, and
    introspection describes only the realm's tokens."""

    def __init__(self, tokens: OAuthTokenService, signins: SigninService, realm: Realm):
        self._tokens = tokens
        self._signins = signins
        self._realm = realm

    def password(self, client: AuthenticatedClient, username: str, password: str,
                 offline: bool, origin: Origin, scope: Sequence[str] = ()) -> Grant:
        attempt = LoginAttempt(login=username, address=origin.remote_addr,
                               endpoint=OAUTH2_TOKEN, client_id=client.client_id,
                               user_agent=origin.user_agent)
        self._signins.check_realm_login(self._realm, attempt)
        return self._tokens.password(client, username, password, offline, origin, scope)

    def refresh(self, client: AuthenticatedClient, refresh_token: str, origin: Origin) -> Grant:
        # Another tenant's refresh token is refused by the exchange itself, before anything
        # is issued or rotated.
        return self._tokens.refresh(client, refresh_token, origin,
                                    realm_tenant=self._realm.tenant_uuid)

    def introspect(self, value: str, client: AuthenticatedClient, hint: str | None = None,
                   address: str = '') -> dict:
        found = self._tokens.introspect(value, client, hint, address)
        tenant = found.get('tenant_uuid')
        if tenant is not None and not self._realm.accepts(uuid.UUID(tenant)):
            return {'active': False}
        return found

    def __getattr__(self, name: str):
        return getattr(self._tokens, name)


class RealmDevices:
    """DeviceFlow for one realm. The code itself answers only here (DeviceFlow compares
    issuers), and the realm's verification page takes the realm's own users only. Checked here
    again, as for every grant of a realm: a device approved by a user of another tenant would
    get ``access_denied``, what it was issued revoked."""

    def __init__(self, devices: DeviceFlow, tokens: OAuthTokenService, realm: Realm):
        self._devices = devices
        self._tokens = tokens
        self._realm = realm

    def poll(self, client: AuthenticatedClient, device_code: str, origin: Origin) -> Grant:
        return _of_realm(self._tokens, self._realm, client,
                         self._devices.poll(client, device_code, origin),
                         AccessDenied('The user who approved is not of this realm'))


def _of_realm(tokens: OAuthTokenService, realm: Realm, client: AuthenticatedClient,
              grant: Grant, refused: OAuth2Error | None = None) -> Grant:
    """``grant`` if its user is of ``realm``; otherwise what it issued is revoked before it
    leaves the server, and ``refused`` (invalid_grant by default) is raised."""
    tenant = tokens.tenant_of(grant.access_token)
    if tenant is None or realm.accepts(tenant):
        return grant
    tokens.revoke(grant.access_token, client, 'access_token')
    if grant.refresh_token:
        tokens.revoke(grant.refresh_token, client, 'refresh_token')
    raise refused or InvalidGrant('Unknown refresh token, or issued to another client')


@dataclass(frozen=True)
class SharedEndpoints:
    """What the realm endpoints are built from (one instance, made at start)."""
    clients: ClientService
    tokens: OAuthTokenService
    devices: DeviceFlow
    signins: SigninService
    grants: dict

    def token(self, realm: Realm) -> TokenEndpoint:
        return TokenEndpoint(clients=RealmClients(self.clients, realm),
                             tokens=RealmTokens(self.tokens, self.signins, realm),
                             devices=RealmDevices(self.devices, self.tokens, realm),
                             grants=self.grants)

    def introspection(self, realm: Realm) -> IntrospectionEndpoint:
        return IntrospectionEndpoint(clients=RealmClients(self.clients, realm),
                                     tokens=RealmTokens(self.tokens, self.signins, realm))

    def revocation(self, realm: Realm) -> RevocationEndpoint:
        return RevocationEndpoint(clients=RealmClients(self.clients, realm),
                                  tokens=self.tokens)

    def device_authorization(self, realm: Realm) -> DeviceAuthorizationEndpoint:
        return DeviceAuthorizationEndpoint(clients=RealmClients(self.clients, realm),
                                           devices=self.devices)
