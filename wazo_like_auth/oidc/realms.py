"""Issuer URLs: one issuer per tenant at ``{public base}/realms/{tenant slug}`` (the layout
Keycloak clients expect), and the global issuer of /api/auth/0.1. Pure."""
from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass

API_PREFIXES = ('/api/auth/0.1', '/0.1')
PROTOCOL = '/protocol/openid-connect'


@dataclass(frozen=True)
class Realm:
    """Where a request arrived: a tenant's realm, or the global issuer (``tenant_uuid`` None:
    users and clients of every tenant)."""
    issuer: str
    tenant_uuid: uuid.UUID | None = None
    slug: str | None = None
    name: str | None = None

    @property
    def is_global(self) -> bool:
        return self.tenant_uuid is None

    def accepts(self, tenant_uuid: uuid.UUID) -> bool:
        """Whether a user or client of ``tenant_uuid`` belongs here."""
        return self.tenant_uuid is None or self.tenant_uuid == tenant_uuid


def public_base(public_url: str | None, host_url: str) -> str:
    """The service's public root: ``public_url`` (the global issuer, which ends with the API
    prefix) without that prefix, else the request's scheme and host."""
    if not public_url:
        return host_url.rstrip('/')
    for prefix in API_PREFIXES:
        if public_url.endswith(prefix):
            return public_url[:-len(prefix)]
    return public_url


def same_issuer(issuer: str | None, other: str | None) -> bool:
    """Whether two issuer URLs name the same issuer: compared by path (``/realms/acme``,
    ``/api/auth/0.1``), not host: without ``public_url`` the issuer follows each request's
    Host, and a client may reach the token endpoint by another name than the browser did."""
    def path(url: str | None) -> str:
        return urllib.parse.urlsplit(url or '').path.rstrip('/')
    return path(issuer) == path(other)


def realm_issuer(base: str, slug: str) -> str:
    return f'{base}/realms/{slug}'


def realm_endpoints(issuer: str) -> dict[str, str]:
    """Keycloak's endpoint paths under a realm issuer."""
    protocol = issuer + PROTOCOL
    return {
        'authorization_endpoint': f'{protocol}/auth',
        'token_endpoint': f'{protocol}/token',
        'jwks_uri': f'{protocol}/certs',
        'userinfo_endpoint': f'{protocol}/userinfo',
        'end_session_endpoint': f'{protocol}/logout',
        'introspection_endpoint': f'{protocol}/token/introspect',
        'revocation_endpoint': f'{protocol}/revoke',
        'device_authorization_endpoint': f'{protocol}/auth/device',
    }


def global_endpoints(issuer: str) -> dict[str, str]:
    """The OpenID Connect endpoints of the global issuer (``.../api/auth/0.1``)."""
    return {
        'authorization_endpoint': f'{issuer}/oauth2/authorize',
        'jwks_uri': f'{issuer}/oauth2/certs',
        'end_session_endpoint': f'{issuer}/oauth2/logout',
    }
