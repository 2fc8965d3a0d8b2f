"""The device authorization endpoint (RFC 8628 §3.1-3.2). The authorization belongs to the
issuer it was requested at; its verification page is that issuer's (``{issuer}/device``, as
Keycloak's ``/realms/{realm}/device``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...oauth2.clients import DEVICE_CODE, REFRESH_TOKEN, scope_tokens
from ...oauth2.device import MAX_SCOPE_LENGTH
from ...oauth2.discovery import verification_uri
from ...oauth2.errors import InvalidScope, UnauthorizedClient
from ..clients import ClientService
from ..device_flow import DeviceFlow
from ..oauth_tokens import OFFLINE_ACCESS
from .token_endpoint import authenticate_client


class DeviceAuthorizationEndpoint:
    def __init__(self, *, clients: ClientService, devices: DeviceFlow):
        self._clients = clients
        self._devices = devices

    def handle(self, form: Mapping[str, str], authorization: str | None,
               issuer: str) -> dict[str, Any]:
        """``issuer``: the issuer URL the request came to (a realm's or the global one)."""
        client = authenticate_client(self._clients, form, authorization)
        if DEVICE_CODE not in client.grant_types:
            raise UnauthorizedClient('This client may not use the device code grant')
        if len(form.get('scope') or '') > MAX_SCOPE_LENGTH:
            raise InvalidScope(f'scope is longer than {MAX_SCOPE_LENGTH} characters')
        scope = scope_tokens(form.get('scope'))
        if OFFLINE_ACCESS in scope and REFRESH_TOKEN not in client.grant_types:
            raise InvalidScope('offline_access needs the refresh_token grant for this client')
        return self._devices.start(client, scope, issuer, verification_uri(issuer))
