"""OAuth 2.0 error responses (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8628 §3.5).

The OAuth endpoints answer these RFC bodies, ``{"error", "error_description"}``, and NOT the
Wazo envelope of spec D4: OAuth client libraries read ``error`` to decide what to do (keep
polling, re-authenticate...), and would not understand the envelope. Everything else of the
service (admin API, routing errors such as 404/405) keeps the envelope.

Each error is a small class carrying its code and HTTP status, free of Flask.
"""
from __future__ import annotations

from typing import Any

REALM = 'wazo-like-auth'


class OAuth2Error(Exception):
    error = 'invalid_request'
    status_code = 400
    description = 'The request is invalid'

    def __init__(self, description: str | None = None, headers: dict[str, str] | None = None):
        self.description = description or self.description
        self.headers = {**self._default_headers(), **(headers or {})}
        super().__init__(self.description)

    def _default_headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        return {'error': self.error, 'error_description': self.description}


class InvalidRequest(OAuth2Error):
    pass


class InvalidClient(OAuth2Error):
    """Client authentication failed. Always 401 with a Basic challenge (RFC 6749 §5.2)."""
    error = 'invalid_client'
    status_code = 401
    description = 'Client authentication failed'

    def _default_headers(self) -> dict[str, str]:
        return {'WWW-Authenticate': f'Basic realm="{REALM}"'}


class InvalidGrant(OAuth2Error):
    error = 'invalid_grant'
    description = 'The grant is invalid, expired, revoked or issued to another client'


class UnauthorizedClient(OAuth2Error):
    error = 'unauthorized_client'
    description = 'The client is not allowed to use this grant type'


class UnsupportedGrantType(OAuth2Error):
    error = 'unsupported_grant_type'
    description = 'The grant type is not supported'


class InvalidScope(OAuth2Error):
    error = 'invalid_scope'
    description = 'The requested scope is invalid'


class AuthorizationPending(OAuth2Error):
    error = 'authorization_pending'
    description = 'The user has not yet approved or denied the request'


class SlowDown(OAuth2Error):
    error = 'slow_down'
    description = 'Polling too fast: the interval is now 5 seconds longer'


class AccessDenied(OAuth2Error):
    error = 'access_denied'
    description = 'The user denied the request'


class ExpiredToken(OAuth2Error):
    error = 'expired_token'
    description = 'The device code has expired'


class TemporarilyUnavailable(OAuth2Error):
    error = 'temporarily_unavailable'
    status_code = 503
    description = 'The service is temporarily unavailable'


class InvalidToken(OAuth2Error):
    """A protected OAuth resource (userinfo) refused the bearer token (RFC 6750 §3.1)."""
    error = 'invalid_token'
    status_code = 401
    description = 'The access token is missing, unknown or expired'

    def _default_headers(self) -> dict[str, str]:
        return {'WWW-Authenticate': f'Bearer realm="{REALM}", error="invalid_token"'}


class MissingToken(InvalidToken):
    """A protected OAuth resource got no bearer token at all: the challenge carries no error
    code (RFC 6750 §3.1: the client may not have known authentication was needed). The body
    keeps the RFC 6749 shape the OAuth endpoints always answer."""
    description = 'No access token was presented'

    def _default_headers(self) -> dict[str, str]:
        return {'WWW-Authenticate': f'Bearer realm="{REALM}"'}
