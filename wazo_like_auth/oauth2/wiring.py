"""Builds the OAuth 2.0 objects from the configuration and the core services (called by
app.build_services)."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..clock import Clock
from ..config import token_secret
from ..services.clients import ClientService
from ..services.device_flow import DeviceFlow
from ..services.oauth_tokens import OAuthTokenService
from ..services.throttle import LoginThrottle, ThrottleSettings
from .device import DeviceSettings
from .device_authorization import DeviceAuthorizationEndpoint
from .introspection import IntrospectionEndpoint
from .revocation import RevocationEndpoint
from .token_endpoint import TokenEndpoint


def build(config: dict, services: dict[str, Any], throttling: ThrottleSettings,
          clock: Clock) -> dict[str, Any]:
    sessions, hasher = services['sessions'], services['hasher']
    clients = ClientService(sessions=sessions, hasher=hasher)
    tokens = OAuthTokenService(sessions=sessions, token_service=services['token_service'],
                               refresh_tokens=services['refresh_token_service'],
                               lifetime=config['default_token_lifetime'],
                               xivo_uuid=config['uuid'], guard=services['check_guard'])
    devices = DeviceFlow(sessions=sessions, hasher=hasher,
                         token_service=services['token_service'],
                         refresh_tokens=services['refresh_token_service'],
                         throttle=LoginThrottle(sessions=sessions, settings=throttling),
                         settings=DeviceSettings.from_config(config),
                         max_user_sessions=config['max_user_concurrent_sessions'],
                         clock=clock)
    return {
        'client_service': clients,
        'oauth_token_service': tokens,
        'device_flow': devices,
        'oauth2_token_endpoint': TokenEndpoint(clients=clients, tokens=tokens, devices=devices),
        'oauth2_introspection': IntrospectionEndpoint(clients=clients, tokens=tokens),
        'oauth2_revocation': RevocationEndpoint(clients=clients, tokens=tokens),
        'oauth2_device_authorization': DeviceAuthorizationEndpoint(clients=clients,
                                                                   devices=devices),
        'oauth2_public_url': config['public_url'],
        # Key separation: the verification page's CSRF key is derived, never the raw secret.
        'oauth2_csrf_key': hmac.new(token_secret(config), b'device-page-csrf',
                                    hashlib.sha256).digest(),
    }
