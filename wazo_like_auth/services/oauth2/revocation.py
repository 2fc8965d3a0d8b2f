"""Token revocation (RFC 7009). A valid request always answers 200, whether the token was
known, already revoked or issued to another client (§2.2): the client cannot act on the
difference, and an attacker learns nothing. Unknown ``token_type_hint`` values are ignored
(§2.1: the server MAY ignore the hint)."""
from __future__ import annotations

from collections.abc import Mapping

from ...oauth2.parameters import required
from ..clients import ClientService
from ..oauth_tokens import OAuthTokenService
from .token_endpoint import authenticate_client


class RevocationEndpoint:
    def __init__(self, *, clients: ClientService, tokens: OAuthTokenService):
        self._clients = clients
        self._tokens = tokens

    def handle(self, form: Mapping[str, str], authorization: str | None) -> None:
        client = authenticate_client(self._clients, form, authorization)
        token = required(form, 'token')
        self._tokens.revoke(token, client, form.get('token_type_hint'))
