"""ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.6) and the claims of scopes (§5.4).

Pure: the caller gives the user's profile, the times and the signing key; joserfc signs.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from joserfc import jwt
from joserfc.util import urlsafe_b64encode

PROFILE_CLAIMS = ('name', 'given_name', 'family_name', 'preferred_username')
EMAIL_CLAIMS = ('email', 'email_verified')
SCOPE_CLAIMS = {'profile': PROFILE_CLAIMS, 'email': EMAIL_CLAIMS}
CLAIMS_SUPPORTED = ['iss', 'sub', 'aud', 'azp', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash',
                    'sid', *PROFILE_CLAIMS, *EMAIL_CLAIMS]


@dataclass(frozen=True)
class Profile:
    """What we know of a user, as OpenID Connect standard claims."""
    sub: str
    username: str | None
    firstname: str | None
    lastname: str | None
    email: str | None
    email_verified: bool

    def claims(self, scope: Sequence[str]) -> dict:
        """``sub`` and the claims of the granted scopes that have a value."""
        name = ' '.join(p for p in (self.firstname, self.lastname) if p) or None
        every = {'name': name, 'given_name': self.firstname, 'family_name': self.lastname,
                 'preferred_username': self.username, 'email': self.email,
                 'email_verified': self.email_verified if self.email else None}
        wanted = {c for s in scope for c in SCOPE_CLAIMS.get(s, ())}
        return {'sub': self.sub,
                **{k: v for k, v in every.items() if k in wanted and v is not None}}


def at_hash(access_token: str, alg: str) -> str:
    """§3.1.3.6: base64url of the left half of the hash of the access token (SHA-256 for
    RS256 and ES256)."""
    if alg not in ('RS256', 'ES256'):
        raise ValueError(alg)
    digest = hashlib.sha256(access_token.encode('ascii')).digest()
    return urlsafe_b64encode(digest[:16]).decode()


@dataclass(frozen=True)
class IdTokenContent:
    issuer: str
    client_id: str
    profile: Profile
    scope: tuple[str, ...]
    issued_at: int
    expires_at: int
    auth_time: int
    sid: str
    nonce: str | None = None
    access_token: str | None = None


def sign(content: IdTokenContent, key, kid: str, alg: str) -> str:
    """The compact JWS of an ID token for ``content``."""
    claims = {'iss': content.issuer, **content.profile.claims(content.scope),
              'aud': content.client_id, 'azp': content.client_id,
              'exp': content.expires_at, 'iat': content.issued_at,
              'auth_time': content.auth_time, 'sid': content.sid}
    if content.nonce is not None:
        claims['nonce'] = content.nonce
    if content.access_token is not None:
        claims['at_hash'] = at_hash(content.access_token, alg)
    return jwt.encode({'alg': alg, 'kid': kid, 'typ': 'JWT'}, claims, key, algorithms=[alg])
