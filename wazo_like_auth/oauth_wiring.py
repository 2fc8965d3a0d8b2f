"""Builds the OAuth 2.0 authorization server's endpoints and OpenID Connect (realms, sign-in
pages, ID tokens, signing keys) from the configuration and the core services (called by
composition.build_services)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from .clock import Clock
from .config_secret import token_secret
from .passwords import PasswordHasher
from .services.access_tokens import AccessTokenFormats
from .services.clients import ClientService
from .services.device_flow import DeviceFlow
from .services.oauth2.device_authorization import DeviceAuthorizationEndpoint
from .services.oauth2.introspection import IntrospectionEndpoint
from .services.oauth2.revocation import RevocationEndpoint
from .services.oauth2.token_endpoint import TokenEndpoint
from .services.oauth_tokens import OAuthTokenService
from .services.oidc import token_grants
from .services.oidc.realm_endpoints import SharedEndpoints
from .services.oidc_clients import OidcClientService
from .services.oidc_codes import CodeService
from .services.oidc_id_tokens import IdTokenIssuer
from .services.oidc_signin import SigninService
from .services.refresh_tokens import RefreshTokenService
from .services.signing_keys import SigningKeyService
from .services.throttle import LoginThrottle
from .services.tokens import TokenService


@dataclass(frozen=True)
class OAuth2:
    """The OAuth 2.0 authorization server: one endpoint object per RFC endpoint, and what
    the device verification page needs."""
    token_endpoint: TokenEndpoint
    introspection: IntrospectionEndpoint
    revocation: RevocationEndpoint
    device_authorization: DeviceAuthorizationEndpoint
    public_url: str | None
    csrf_key: bytes  # the verification page's CSRF key, derived from the token secret


@dataclass(frozen=True)
class OIDC:
    """OpenID Connect: the realms' endpoint objects, the sign-in and consent pages' services,
    ID tokens and their signing keys."""
    signing_keys: SigningKeyService
    id_tokens: IdTokenIssuer
    codes: CodeService
    signins: SigninService
    clients: OidcClientService
    endpoints: SharedEndpoints
    signin_lifetime: int
    csrf_key: bytes  # the sign-in pages' CSRF key, derived from the token secret


def build_oauth2(config: dict, clients: ClientService, tokens: OAuthTokenService,
            devices: DeviceFlow, grants: dict) -> OAuth2:
    """``grants``: the token endpoint's extra grants (OpenID Connect's authorization code
    grant, ID tokens on refresh: services/oidc/token_grants.py)."""
    return OAuth2(
        token_endpoint=TokenEndpoint(clients=clients, tokens=tokens, devices=devices,
                                     grants=grants),
        introspection=IntrospectionEndpoint(clients=clients, tokens=tokens),
        revocation=RevocationEndpoint(clients=clients, tokens=tokens),
        device_authorization=DeviceAuthorizationEndpoint(clients=clients, devices=devices),
        public_url=config['public_url'],
        # Key separation: the verification page's CSRF key is derived, never the raw secret.
        csrf_key=hmac.new(token_secret(config), b'device-page-csrf', hashlib.sha256).digest(),
    )


def signing_keys(config: dict, sessions: sessionmaker, clock: Clock) -> SigningKeyService:
    """The keys of ID tokens and JWT access tokens."""
    return SigningKeyService(sessions=sessions, secret=token_secret(config),
                             algorithm=config['oidc']['signing_algorithm'],
                             token_lifetime=config['default_token_lifetime'], clock=clock)


def build_oidc(config: dict, sessions: sessionmaker, hasher: PasswordHasher, clock: Clock,
          token_service: TokenService, refresh_tokens: RefreshTokenService,
          oauth_tokens: OAuthTokenService, clients: ClientService, devices: DeviceFlow,
          login_throttle: LoginThrottle, formats: AccessTokenFormats) -> OIDC:
    secret = token_secret(config)
    keys = formats.keys
    id_tokens = IdTokenIssuer(sessions=sessions, keys=keys, legacy=oauth_tokens, clock=clock)
    codes = CodeService(sessions=sessions, token_service=token_service,
                        refresh_tokens=refresh_tokens, id_tokens=id_tokens, formats=formats,
                        clock=clock)
    signins = SigninService(sessions=sessions, hasher=hasher, throttle=login_throttle,
                            lifetime=config['oidc']['signin_session_lifetime'],
                            purge_batch=config['token_cleanup_batch_size'], clock=clock)
    endpoints = SharedEndpoints(clients=clients, tokens=oauth_tokens, devices=devices,
                                signins=signins, grants=token_grants.grants(codes))
    return OIDC(
        signing_keys=keys, id_tokens=id_tokens, codes=codes, signins=signins,
        clients=OidcClientService(sessions=sessions), endpoints=endpoints,
        signin_lifetime=config['oidc']['signin_session_lifetime'],
        # Key separation: the sign-in pages' CSRF key is derived with a label of its own.
        csrf_key=hmac.new(secret, b'oidc-pages-csrf', hashlib.sha256).digest(),
    )
