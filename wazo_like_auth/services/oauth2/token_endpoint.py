"""The token endpoint (RFC 6749 §3.2): grant dispatch, client authentication, and the rules
each grant adds. Takes the parsed form, answers the §5.1 body or raises an OAuth2Error."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...exceptions import AuthenticationFailed
from ...oauth2.clients import (CLIENT_CREDENTIALS, DEVICE_CODE, PASSWORD, REFRESH_TOKEN,
                               client_credentials, scope_tokens)
from ...oauth2.errors import (InvalidClient, InvalidGrant, InvalidScope, UnauthorizedClient,
                              UnsupportedGrantType)
from ...oauth2.parameters import required
from ..clients import AuthenticatedClient, ClientService
from ..device_flow import DeviceFlow
from ..oauth_tokens import OFFLINE_ACCESS, Grant, OAuthTokenService, Origin


def authenticate_client(clients: ClientService, form: Mapping[str, str],
                        authorization: str | None, *,
                        confidential: bool = False) -> AuthenticatedClient:
    """The client of a request (RFC 6749 §2.3); ``confidential`` refuses public clients.
    Raises InvalidClient."""
    client = clients.authenticate(client_credentials(authorization, form))
    if client is None:
        raise InvalidClient()
    if confidential and client.public:
        raise InvalidClient('A public client cannot authenticate to this endpoint')
    return client


class TokenEndpoint:
    def __init__(self, *, clients: ClientService, tokens: OAuthTokenService,
                 devices: DeviceFlow, grants: Mapping[str, Callable[..., Any]] | None = None):
        """``grants``: grant type -> ``make(built-in handler or None)`` returning a handler
        ``(client, form, origin) -> Grant``: OpenID Connect adds the authorization code grant
        and wraps refresh to add ID tokens (services/oidc/token_grants.py)."""
        self._clients = clients
        self._tokens = tokens
        self._devices = devices
        self._grants = {PASSWORD: self._password, CLIENT_CREDENTIALS: self._client_credentials,
                        REFRESH_TOKEN: self._refresh_token, DEVICE_CODE: self._device_code}
        for name, make in (grants or {}).items():
            self._grants[name] = make(self._grants.get(name))

    def handle(self, form: Mapping[str, str], authorization: str | None,
               origin: Origin) -> dict[str, Any]:
        grant_type = required(form, 'grant_type')
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(f'Supported grant types: {", ".join(self._grants)}')
        client = authenticate_client(self._clients, form, authorization)
        if grant_type not in client.grant_types:
            raise UnauthorizedClient(f'This client may not use the {grant_type} grant')
        return grant(client, form, origin).response()

    def _password(self, client, form, origin: Origin) -> Grant:
        username, password = required(form, 'username'), required(form, 'password')
        scope = scope_tokens(form.get('scope'))
        offline = OFFLINE_ACCESS in scope
        if offline and REFRESH_TOKEN not in client.grant_types:
            raise InvalidScope('offline_access needs the refresh_token grant for this client')
        try:
            return self._tokens.password(client, username, password, offline, origin, scope)
        except AuthenticationFailed:
            raise InvalidGrant('Invalid username or password') from None

    def _client_credentials(self, client, form, origin: Origin) -> Grant:
        if OFFLINE_ACCESS in scope_tokens(form.get('scope')):
            # RFC 6749 §4.4.3: no refresh token for the client credentials grant.
            raise InvalidScope('offline_access is not available with client_credentials')
        grant = self._tokens.for_client(client, origin)
        if grant is None:
            raise InvalidClient()
        return grant

    def _refresh_token(self, client, form, origin: Origin) -> Grant:
        refresh_token = required(form, 'refresh_token')
        scope_tokens(form.get('scope'))  # validated; a refresh keeps the original grant
        try:
            return self._tokens.refresh(client, refresh_token, origin)
        except AuthenticationFailed:
            raise InvalidGrant('Unknown refresh token, or issued to another client') from None

    def _device_code(self, client, form, origin: Origin) -> Grant:
        return self._devices.poll(client, required(form, 'device_code'), origin)
