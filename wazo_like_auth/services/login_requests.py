"""What a login asks for and what it is given (services/tokens.py), free of Flask: built by
the HTTP layer and by the OAuth 2.0 and OpenID Connect grants."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from .access_tokens import JwtFormat
from .login_trail import LoginAttempt


@dataclass(frozen=True)
class OpenIdRequest:
    """A grant asked with the ``openid`` scope outside the authorization code flow (the OAuth
    2.0 password grant): the OpenID scopes granted and the issuer the request came to. Its
    token, and the refresh token it gives, record them as the code flow does (metadata
    ``oidc``: scope, sid, iss, auth_time), so ID tokens and userinfo follow."""
    scope: tuple[str, ...]
    issuer: str

    def metadata(self, session_uuid: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
        # No browser sign-in: the session is the sid, and the password was checked now.
        return {'scope': list(self.scope), 'sid': str(session_uuid), 'iss': self.issuer,
                'auth_time': int(now.timestamp())}


@dataclass(frozen=True)
class LoginRequest:
    """What a client asked for; built by the HTTP layer, free of Flask."""
    login: str | None = None
    password: str | None = None
    expiration: int | None = None
    backend: str = 'wazo_user'
    access_type: str = 'online'
    client_id: str | None = None
    refresh_token: str | None = None
    mobile: bool = False
    user_agent: str = ''
    remote_addr: str = ''
    # True when the OAuth 2.0 token endpoint has authenticated client_id with its secret.
    client_authenticated: bool = False
    # The tenant of the registered client at the OAuth 2.0 token endpoint: it serves only the
    # users of its tenant and the tenants below (refresh_tokens.governs).
    client_tenant_uuid: uuid.UUID | None = None
    # A JWT access token (RFC 9068) for an OAuth 2.0 client that asks for them; None: opaque.
    token_format: JwtFormat | None = None
    # A public client at the OAuth 2.0 token endpoint: the refresh token its grant gives, or
    # the one it presents, rotates (migration 0017).
    public_client: bool = False
    # The realm a refresh token is presented at (OpenID Connect): only its tenant's are
    # exchanged, checked before anything is issued or rotated. None: any tenant.
    realm_tenant_uuid: uuid.UUID | None = None
    # The issuer a refresh token is presented at (OAuth 2.0 token endpoint): one of an OpenID
    # grant is exchanged only there (its ``oidc.iss``). None: any issuer.
    issuer: str | None = None
    # The password grant asked with the openid scope; None otherwise.
    openid: OpenIdRequest | None = None
    endpoint: str = 'token'  # which endpoint logs in, for the login trail

    def attempt(self) -> LoginAttempt:
        """The login as the trail records it (no password, no refresh token)."""
        return LoginAttempt(login=self.login, address=self.remote_addr, endpoint=self.endpoint,
                            grant='refresh_token' if self.refresh_token else 'password',
                            client_id=self.client_id, user_agent=self.user_agent)


@dataclass
class IssuedToken:
    data: dict[str, Any]
    sessions_revoked: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenSettings:
    default_lifetime: int
    xivo_uuid: str | None
    default_user_policy: str | None
    max_user_sessions: int = 100
