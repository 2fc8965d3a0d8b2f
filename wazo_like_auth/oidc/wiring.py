"""Builds the OpenID Connect objects from the configuration and the core and OAuth 2.0
services (called by app.build_services after oauth2.wiring)."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..config import token_secret
from ..oauth2.token_endpoint import TokenEndpoint
from ..services.oidc_clients import OidcClientService
from ..services.oidc_codes import CodeService
from ..services.oidc_id_tokens import IdTokenIssuer
from ..services.oidc_signin import SigninService
from ..services.signing_keys import SigningKeyService, utc_now
from ..services.throttle import LoginThrottle, ThrottleSettings
from . import token_grants
from .realm_endpoints import SharedEndpoints


def build(config: dict, services: dict[str, Any],
          throttling: ThrottleSettings) -> dict[str, Any]:
    sessions, secret = services['sessions'], token_secret(config)
    keys = SigningKeyService(sessions=sessions, secret=secret,
                             algorithm=config['oidc']['signing_algorithm'],
                             token_lifetime=config['default_token_lifetime'])
    id_tokens = IdTokenIssuer(sessions=sessions, keys=keys,
                              legacy=services['oauth_token_service'])
    codes = CodeService(sessions=sessions, token_service=services['token_service'],
                        refresh_tokens=services['refresh_token_service'], id_tokens=id_tokens,
                        max_user_sessions=config['max_user_concurrent_sessions'])
    signins = SigninService(sessions=sessions, hasher=services['hasher'],
                            throttle=LoginThrottle(sessions=sessions, settings=throttling),
                            lifetime=config['oidc']['signin_session_lifetime'])
    grants = token_grants.grants(codes)
    shared = SharedEndpoints(clients=services['client_service'],
                             tokens=services['oauth_token_service'],
                             devices=services['device_flow'], signins=signins, grants=grants)
    return {
        'signing_keys': keys,
        'oidc_id_tokens': id_tokens,
        'oidc_codes': codes,
        'oidc_signins': signins,
        'oidc_clients': OidcClientService(sessions=sessions),
        'oidc_endpoints': shared,
        # The global token endpoint gains the authorization code grant and ID tokens.
        'oauth2_token_endpoint': TokenEndpoint(
            clients=shared.clients, tokens=shared.tokens, devices=shared.devices,
            grants=grants),
        # Key separation: the sign-in pages' CSRF key is derived with a label of its own.
        'oidc_signin_lifetime': config['oidc']['signin_session_lifetime'],
        'oidc_clock': utc_now,
        'oidc_csrf_key': hmac.new(secret, b'oidc-pages-csrf', hashlib.sha256).digest(),
    }
