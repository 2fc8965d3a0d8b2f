"""Token introspection (RFC 7662). Callers authenticate as confidential clients (§2.1); any
such client may introspect any access token, as anyone holding a token value may check it
with HEAD /token/{t}; refresh tokens are described only to the client they belong to, and
only while their exchange would take them (OAuthTokenService._describe_refresh)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...oauth2.parameters import required
from ..clients import ClientService
from ..oauth_tokens import OAuthTokenService
from .token_endpoint import authenticate_client


class IntrospectionEndpoint:
    def __init__(self, *, clients: ClientService, tokens: OAuthTokenService):
        self._clients = clients
        self._tokens = tokens

    def handle(self, form: Mapping[str, str], authorization: str | None,
               address: str = '') -> dict[str, Any]:
        """``address``: the caller's, whose unknown tokens count against the budget of token
        checks (OAuthTokenService.introspect)."""
        client = authenticate_client(self._clients, form, authorization, confidential=True)
        token = required(form, 'token')
        return self._tokens.introspect(token, client, form.get('token_type_hint'), address)
