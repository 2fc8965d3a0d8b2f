"""JWT access tokens (RFC 9068): the claims of a token and its signature. Pure: the caller
gives the values, the times and the signing key; joserfc signs.

Claims: ``iss`` (the issuer the token was requested at), ``sub`` (the user's uuid, or the
client_id for client credentials), ``aud``, ``client_id``, ``exp``, ``iat``, ``jti``,
``scope`` (the Wazo ACL entries that are valid scope tokens, then the OpenID scopes granted),
``tenant_uuid``, ``session_uuid``, and ``acl`` (the Wazo ACL, exact) when ``scope`` does not
say the same thing. Header: ``typ: at+jwt`` (§2.1), ``kid``, ``alg`` of the key.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from joserfc import jwt

from .clients import scope_string

TYPE = 'at+jwt'
FORMATS = ('opaque', 'jwt')
MAX_AUDIENCES = 20
MAX_AUDIENCE_LENGTH = 2048


def new_jti() -> str:
    """A fresh ``jti``: 128 random bits, base64url."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class AccessTokenContent:
    issuer: str
    subject: str
    audience: tuple[str, ...]
    client_id: str
    issued_at: int
    expires_at: int
    jti: str
    acl: tuple[str, ...]
    tenant_uuid: str
    session_uuid: str
    extra_scope: tuple[str, ...] = ()

    def claims(self) -> dict:
        scope = scope_string(self.acl, self.extra_scope)
        claims = {'iss': self.issuer, 'sub': self.subject,
                  'aud': self.audience[0] if len(self.audience) == 1 else list(self.audience),
                  'client_id': self.client_id, 'exp': self.expires_at, 'iat': self.issued_at,
                  'jti': self.jti, 'scope': scope, 'tenant_uuid': self.tenant_uuid,
                  'session_uuid': self.session_uuid}
        if scope.split() != list(self.acl):
            claims['acl'] = list(self.acl)
        return claims


def sign(content: AccessTokenContent, key, kid: str, alg: str) -> str:
    """The compact JWS of an access token for ``content``."""
    return jwt.encode({'typ': TYPE, 'alg': alg, 'kid': kid}, content.claims(), key,
                      algorithms=[alg])


def audience_error(value: object) -> str | None:
    """Why ``value`` cannot be a client's ``access_token_audience``, or None. A string or a
    list of strings: each 1 to 2048 printable characters, at most 20."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return 'must be a string or a list of strings'
    if len(values) > MAX_AUDIENCES:
        return f'at most {MAX_AUDIENCES} audiences'
    for item in values:
        if not 0 < len(item) <= MAX_AUDIENCE_LENGTH or not item.isprintable():
            return f'each audience is 1 to {MAX_AUDIENCE_LENGTH} printable characters'
    return None


def audience_list(value: str | Sequence[str] | None) -> list[str]:
    """A valid ``access_token_audience`` (see audience_error) as a list, duplicates removed."""
    if value is None:
        return []
    return list(dict.fromkeys([value] if isinstance(value, str) else value))


def format_error(value: object) -> str | None:
    """Why ``value`` cannot be a client's ``access_token_format``, or None."""
    return None if value in FORMATS else f'must be one of {", ".join(FORMATS)}'
