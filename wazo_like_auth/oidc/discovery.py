"""OpenID Connect Discovery 1.0 §3 / RFC 8414 metadata of an issuer. Everything listed is
implemented; nothing is listed that is not."""
from __future__ import annotations

from typing import Any

from ..oauth2 import discovery as oauth2_discovery
from ..oauth2.clients import GRANT_TYPES
from .authorize import PROMPTS
from .id_token import CLAIMS_SUPPORTED
from .keys import ALGORITHMS
from .realms import global_endpoints, realm_endpoints

SCOPES = ['openid', 'profile', 'email', 'offline_access']
SECRET_METHODS = oauth2_discovery.SECRET_METHODS


def _common(issuer: str) -> dict[str, Any]:
    return {
        'issuer': issuer,
        'grant_types_supported': list(GRANT_TYPES),
        'response_types_supported': ['code'],
        'response_modes_supported': ['query', 'form_post'],
        'subject_types_supported': ['public'],
        'id_token_signing_alg_values_supported': list(ALGORITHMS),
        'scopes_supported': SCOPES,
        'claims_supported': CLAIMS_SUPPORTED,
        'code_challenge_methods_supported': ['S256'],
        'prompt_values_supported': list(PROMPTS),
        'token_endpoint_auth_methods_supported': [*SECRET_METHODS, 'none'],
        'introspection_endpoint_auth_methods_supported': SECRET_METHODS,
        'revocation_endpoint_auth_methods_supported': [*SECRET_METHODS, 'none'],
        'authorization_response_iss_parameter_supported': True,
        'claims_parameter_supported': False,
        'request_parameter_supported': False,
        'request_uri_parameter_supported': False,
        'frontchannel_logout_supported': False,
        'backchannel_logout_supported': False,
    }


def realm_metadata(issuer: str) -> dict[str, Any]:
    return {**_common(issuer), **realm_endpoints(issuer)}


def global_metadata(issuer: str) -> dict[str, Any]:
    """The document of /api/auth/0.1: the OAuth 2.0 endpoints plus the OpenID Connect ones."""
    return {**_common(issuer), **oauth2_discovery.endpoints(issuer), **global_endpoints(issuer)}
