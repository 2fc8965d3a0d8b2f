"""The OAuth 2.0 endpoints of the global issuer, for its metadata document (RFC 8414), which
oidc/discovery.py completes into an OpenID Connect Discovery 1.0 document."""
from __future__ import annotations

SECRET_METHODS = ['client_secret_basic', 'client_secret_post']


def endpoints(issuer: str) -> dict[str, str]:
    """The absolute URLs of the OAuth endpoints under ``issuer`` (``.../api/auth/0.1``)."""
    return {
        'token_endpoint': f'{issuer}/oauth2/token',
        'device_authorization_endpoint': f'{issuer}/oauth2/device_authorization',
        'introspection_endpoint': f'{issuer}/oauth2/introspect',
        'revocation_endpoint': f'{issuer}/oauth2/revoke',
        'userinfo_endpoint': f'{issuer}/oauth2/userinfo',
    }


def verification_uri(issuer: str) -> str:
    return f'{issuer}/device'
