"""The value of a new access token: opaque (128 random bits, the Wazo token) or, for a client
with ``access_token_format: jwt``, a signed RFC 9068 JWT. Every access token of every grant is
minted here (TokenService.issue for users, OAuthTokenService.for_client for clients).

Either way the token is a row of ours keyed by the SHA-256 of the whole value (``Minted.digest``):
checks, introspection, revocation and the validation cache treat both formats alike, and never
verify a signature. Keying by the whole string rather than by ``jti`` is deliberate: only a
string we issued has a row, so a tampered payload, a re-signed or forged token, or a token
carrying a known ``jti`` (the ``jti`` is public: every resource server reads it, and the
revocation feed lists it) is unknown at the cost of one hash. The ``jti`` is stored beside, to
name the token in the revocation feed.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from .. import tokens
from ..exceptions import SigningKeyRetired
from ..oauth2 import jwt_access_tokens as rfc9068
from ..repositories import tokens as token_repo
from .signing_keys import ActiveKey, SigningKeyService


@dataclass(frozen=True)
class JwtFormat:
    """How one request's access token is made a JWT: the issuer it was requested at, the
    audience and the client, and the key read before the request's transaction."""
    issuer: str
    audience: tuple[str, ...]
    client_id: str
    key: ActiveKey


@dataclass(frozen=True)
class Minted:
    value: str
    digest: bytes
    jti: str | None = None
    signing_kid: str | None = None  # of a JWT: keys retire deletes the tokens of its key


@dataclass(frozen=True)
class TokenFacts:
    """What a token row says, as the JWT repeats it."""
    auth_id: str
    session_uuid: uuid.UUID
    tenant_uuid: uuid.UUID
    acl: Sequence[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    extra_scope: Sequence[str] = ()


def issue_time(token_format: JwtFormat | None, now: dt.datetime) -> dt.datetime:
    """When a token issued ``now`` says it was issued: a JWT on a whole second, as its ``iat``
    claim, so that its row expires when its ``exp`` says (a row keeping the microseconds
    answered its checks up to a second past ``exp``, where offline verifiers refuse it)."""
    return now.replace(microsecond=0) if token_format is not None else now


def mint(token_format: JwtFormat | None, facts: TokenFacts) -> Minted:
    """A new access-token value for ``facts``: opaque when ``token_format`` is None."""
    if token_format is None:
        value = tokens.new_token()
        return Minted(value, tokens.token_digest(value))
    content = rfc9068.AccessTokenContent(
        issuer=token_format.issuer, subject=facts.auth_id, audience=token_format.audience,
        client_id=token_format.client_id, issued_at=int(facts.issued_at.timestamp()),
        expires_at=int(facts.expires_at.timestamp()), jti=rfc9068.new_jti(),
        acl=tuple(facts.acl), tenant_uuid=str(facts.tenant_uuid),
        session_uuid=str(facts.session_uuid), extra_scope=tuple(facts.extra_scope))
    key = token_format.key
    value = rfc9068.sign(content, key.key, key.kid, key.alg)
    return Minted(value, tokens.token_digest(value), content.jti, key.kid)


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Around the INSERT of a minted token: a signing key retired since it was read (keys
    retire, within those milliseconds) is SigningKeyRetired, a 503 the client retries; the
    token is not recorded, and the database would have deleted it with its key anyway."""
    try:
        yield
    except IntegrityError as error:
        if token_repo.signing_key_gone(error):
            raise SigningKeyRetired() from None
        raise


class AccessTokenFormats:
    """The format of the access tokens a client gets."""

    def __init__(self, *, keys: SigningKeyService):
        self.keys = keys  # shared with ID tokens: one set of keys, one JWKS

    def of(self, client, issuer: str | None) -> JwtFormat | None:
        """None (opaque) unless ``client`` (an AuthenticatedClient) asks for JWTs; then the
        format, with the signing key read now (call it before the request's transaction:
        one pooled connection per request). ``issuer``: where the request arrived."""
        if client.access_token_format != 'jwt':
            return None
        if not issuer:
            raise ValueError('a JWT access token needs the issuer of the request')
        audience = tuple(client.access_token_audience) or (issuer,)
        return JwtFormat(issuer=issuer, audience=audience, client_id=client.client_id,
                         key=self.keys.active())
