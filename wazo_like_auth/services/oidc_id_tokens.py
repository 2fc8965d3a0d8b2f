"""ID tokens and user info: the user's standard claims for the granted scopes, signed with
the newest signing key; the check of an ``id_token_hint`` at logout."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..logs import get_logger
from ..oidc import id_token
from ..oidc.realms import Realm
from ..repositories import oidc as oidc_repo
from .oauth_tokens import Grant, OAuthTokenService
from ..clock import utc_now
from .signing_keys import ActiveKey, SigningKeyService

logger = get_logger(__name__)


@dataclass(frozen=True)
class Hint:
    """What a valid id_token_hint says: the sign-in and the client it was issued to."""
    sid: uuid.UUID | None
    client_id: str
    sub: str


def profile(row) -> id_token.Profile:
    return id_token.Profile(sub=str(row.uuid), username=row.username,
                            firstname=row.firstname, lastname=row.lastname, email=row.email,
                            email_verified=bool(row.email_confirmed))


class IdTokenIssuer:
    def __init__(self, *, sessions: sessionmaker, keys: SigningKeyService,
                 legacy: OAuthTokenService, clock: Callable[[], dt.datetime] = utc_now):
        """``legacy``: the userinfo of tokens from other grants."""
        self._sessions = sessions
        self._keys = keys
        self._legacy = legacy
        self._clock = clock

    def signing_key(self) -> ActiveKey:
        """The key to sign with (read in a transaction of its own, before the caller's)."""
        return self._keys.active()

    def sign(self, db, key: ActiveKey, user_uuid: uuid.UUID, client_id: str, oidc: dict,
             grant: Grant, nonce: str | None = None) -> str:
        """An ID token for a grant of the authorization code flow (or its refresh), expiring
        with the access token. ``oidc``: scope, sid, iss, auth_time (token metadata)."""
        now = int(self._clock().timestamp())
        content = id_token.IdTokenContent(
            issuer=oidc['iss'], client_id=client_id,
            profile=profile(oidc_repo.profile_row(db, user_uuid)),
            scope=tuple(oidc['scope']), issued_at=now, expires_at=now + grant.expires_in,
            auth_time=oidc['auth_time'], sid=oidc['sid'], nonce=nonce,
            access_token=grant.access_token)
        return id_token.sign(content, key.key, key.kid, key.alg)

    def userinfo(self, access_token: str, realm: Realm, address: str) -> dict | None:
        """UserInfo claims of a live access token, or None when it is unknown, expired, or of
        another tenant than ``realm``'s. Tokens of the authorization code flow get ``sub`` and
        the claims of their scopes; other tokens (password, device, client credentials, the
        Wazo API) keep the claims /oauth2/userinfo always gave them. Inside the unknown-token
        budget of token checks (OAuthTokenService.userinfo; TooManyAttempts over it)."""
        claims = self._legacy.userinfo(access_token, address)
        if claims is None or not realm.accepts(uuid.UUID(claims['tenant_uuid'])):
            return None
        digest = tokens.token_digest(tokens.normalize(access_token))
        with self._sessions() as db:
            row = oidc_repo.token_oidc(db, digest)
            if row is None or not row.oidc or row.user_uuid is None:
                return claims
            user = oidc_repo.profile_row(db, row.user_uuid)
        return profile(user).claims(row.oidc.get('scope', []))

    def verify_hint(self, value: str, issuer: str) -> Hint | None:
        """The sign-in and client of an ID token we issued for ``issuer``, or None (a JWT
        access token too). An expired token is a valid hint (RP-Initiated Logout 1.0 §2)."""
        if not value or len(value) > 16384:
            return None
        keyset = KeySet.import_key_set(self._keys.jwks())
        try:
            token = jwt.decode(value, keyset, algorithms=['RS256', 'ES256'])
        except (JoseError, ValueError, TypeError):
            return None
        if str(token.header.get('typ', 'JWT')).upper() != 'JWT':
            # A JWT access token (typ at+jwt, RFC 9068 §4) has our keys and iss too: explicit
            # typing keeps it from passing for an ID token (RFC 8725 §3.11).
            return None
        claims = token.claims
        if claims.get('iss') != issuer or not isinstance(claims.get('aud'), str):
            return None
        try:
            sid = uuid.UUID(claims['sid']) if 'sid' in claims else None
        except (ValueError, TypeError, AttributeError):
            return None
        return Hint(sid=sid, client_id=claims['aud'], sub=str(claims.get('sub')))
