"""The token endpoint's OpenID Connect grants: the authorization code grant (RFC 6749 §4.1.3,
RFC 7636 §4.5, OIDC Core §3.1.3), ID tokens on refresh (OIDC Core §12.2), and ID tokens for
the password and device grants asked with the ``openid`` scope (a token response to an OpenID
request has one, OIDC Core §3.1.3.3; Keycloak's direct access and device grants do the same).
Given to services.oauth2.token_endpoint.TokenEndpoint as extra grant handlers."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from ...oauth2.clients import (AUTHORIZATION_CODE, DEVICE_CODE, PASSWORD, REFRESH_TOKEN,
                               scope_tokens)
from ...oauth2.parameters import required
from ..clients import AuthenticatedClient
from ..oauth_tokens import Grant, Origin
from ..oidc_codes import CodeService

Handler = Callable[[AuthenticatedClient, Mapping[str, str], Origin], Grant]


def grants(codes: CodeService) -> dict[str, Callable[[Handler | None], Handler]]:
    """The ``grants`` argument of TokenEndpoint."""
    def authorization_code(_: Handler | None) -> Handler:
        def handle(client, form, origin):
            return codes.exchange(client, required(form, 'code'), form.get('redirect_uri'),
                                  form.get('code_verifier'), origin)
        return handle

    def refresh_token(built_in: Handler | None) -> Handler:
        def handle(client, form, origin):
            return codes.with_id_token(built_in(client, form, origin), client)
        return handle

    def password(built_in: Handler | None) -> Handler:
        def handle(client, form, origin):
            grant = built_in(client, form, origin)
            if 'openid' not in scope_tokens(form.get('scope')):
                return grant  # no OpenID request: no extra read
            return codes.with_id_token(grant, client)
        return handle

    def device_code(built_in: Handler | None) -> Handler:
        def handle(client, form, origin):  # an ID token when the device asked for openid
            return codes.with_id_token(built_in(client, form, origin), client)
        return handle

    return {AUTHORIZATION_CODE: authorization_code, REFRESH_TOKEN: refresh_token,
            PASSWORD: password, DEVICE_CODE: device_code}
