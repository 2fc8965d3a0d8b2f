"""Authorization server metadata (RFC 8414), also served as /.well-known/openid-configuration.

Every endpoint, grant type and authentication method listed is implemented; nothing is listed
that is not. There is no authorization endpoint (no browser redirect grants), so
``response_types_supported`` is empty; there are no ID tokens, so no OpenID Connect signing
metadata (``jwks_uri``, ``id_token_signing_alg_values_supported``) is announced.
"""
from __future__ import annotations

from typing import Any

from .clients import GRANT_TYPES

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


def metadata(issuer: str) -> dict[str, Any]:
    return {
        'issuer': issuer,
        **endpoints(issuer),
        'grant_types_supported': list(GRANT_TYPES),
        'response_types_supported': [],
        'scopes_supported': ['offline_access'],
        'token_endpoint_auth_methods_supported': [*SECRET_METHODS, 'none'],
        'introspection_endpoint_auth_methods_supported': SECRET_METHODS,
        'revocation_endpoint_auth_methods_supported': [*SECRET_METHODS, 'none'],
        'claims_supported': ['sub', 'preferred_username', 'name', 'email'],
    }
