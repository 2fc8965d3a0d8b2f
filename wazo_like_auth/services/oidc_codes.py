"""Authorization codes (RFC 6749 §4.1, RFC 7636) and the tokens they give: an access token
(the same tokens as every grant: opaque, or a JWT for a client that asks), an ID token, and a
refresh token with offline_access.

A code is 256 random bits, stored as its SHA-256, lives 60 seconds, and is bound to the client,
the redirect URI, the PKCE challenge, the nonce and the sign-in (logging out deletes it). Its
first use marks it used and records what it issued; a second use answers invalid_grant and
revokes that (§4.1.2: a replayed code means it leaked).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..logs import get_logger
from ..models import RefreshToken, Session, User
from ..oauth2.errors import InvalidClient, InvalidGrant, OAuth2Error
from ..oidc import pkce
from ..oidc.authorize import AuthorizationRequest
from ..oidc.realms import same_issuer
from ..oidc_models import AuthorizationCode
from ..repositories import clients as client_repo
from ..repositories import oidc as oidc_repo
from ..repositories import refresh_tokens as refresh_repo
from ..repositories import sessions as session_repo
from .access_tokens import AccessTokenFormats, JwtFormat
from .clients import AuthenticatedClient
from .login_requests import LoginRequest
from .oauth_tokens import OFFLINE_ACCESS, Grant, Origin, grant_of
from .oidc_id_tokens import IdTokenIssuer
from .oidc_signin import SignedIn
from .refresh_tokens import RefreshTokenService, governs
from ..clock import utc_now
from .tokens import TokenService

logger = get_logger(__name__)

CODE_LIFETIME = dt.timedelta(seconds=60)


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode('utf-8', 'replace')).digest()


@dataclass(frozen=True)
class OidcGrant(Grant):
    """A token endpoint success with an ID token and the OpenID scopes granted."""
    id_token: str | None = None
    oidc_scope: tuple[str, ...] = ()

    def response(self) -> dict:
        body = super().response()
        if self.oidc_scope:
            body['scope'] = ' '.join(dict.fromkeys([*self.oidc_scope, *body['scope'].split()]))
        if self.id_token:
            body['id_token'] = self.id_token
        return body


class CodeService:
    def __init__(self, *, sessions: sessionmaker, token_service: TokenService,
                 refresh_tokens: RefreshTokenService, id_tokens: IdTokenIssuer,
                 formats: AccessTokenFormats, clock: Callable[[], dt.datetime] = utc_now):
        self._sessions = sessions
        self._formats = formats
        self._tokens = token_service
        self._refresh = refresh_tokens
        self._id_tokens = id_tokens
        self._clock = clock

    def issue(self, issuer: str, request: AuthorizationRequest, client_uuid: uuid.UUID,
              signin: SignedIn) -> str:
        """A new code for a signed-in user's approved request."""
        code, now = secrets.token_urlsafe(32), self._clock()
        with self._sessions.begin() as db:
            oidc_repo.add_code(db, AuthorizationCode(
                code_hash=_digest(code), client_uuid=client_uuid, signin_uuid=signin.uuid,
                redirect_uri=request.redirect_uri, scope=' '.join(request.scope),
                nonce=request.nonce, code_challenge=request.code_challenge, issuer=issuer,
                expires_at=now + CODE_LIFETIME))
        return code

    def exchange(self, client: AuthenticatedClient, code: str, redirect_uri: str | None,
                 verifier: str | None, origin: Origin) -> OidcGrant:
        """The tokens of a code; raises OAuth2Error (invalid_grant for any bad code)."""
        # The keys are read before the transaction: one pooled connection per request.
        key = self._id_tokens.signing_key()
        token_format = self._formats.of(client, origin.issuer)
        with self._sessions.begin() as db:
            outcome = self._exchange(db, client, code, redirect_uri, verifier, origin,
                                     (key, token_format))
        if isinstance(outcome, OAuth2Error):
            raise outcome
        return outcome

    def _exchange(self, db, client, code, redirect_uri, verifier, origin, keys):
        # The client first, as in device_flow._poll (repositories.clients.held).
        if client_repo.held(db, client.uuid) is None:
            return InvalidClient()
        # The code's user before the code: the order of every change of a user (a delete, a
        # password change, a consent withdrawn: the user, then its sessions, sign-ins, codes),
        # so that none deadlocks with an exchange.
        owner = oidc_repo.user_of_code(db, _digest(code or ''))
        if owner is not None:
            db.get(User, owner, with_for_update=True)
        row = oidc_repo.code_for_update(db, _digest(code or ''))
        if row is None or row.client_uuid != client.uuid:
            return InvalidGrant('Unknown, expired or used code, or issued to another client')
        if not same_issuer(row.issuer, origin.issuer):
            # A code answers only at the token endpoint of the realm that gave it (one
            # authorization server per realm, as Keycloak's): its tokens would otherwise mix
            # two issuers. Left usable at its own.
            return InvalidGrant('This code was issued by another issuer')
        if row.used_at is not None:
            self._revoke_first_use(db, row)
            return InvalidGrant('This code was already used: what it gave is revoked')
        if row.expires_at <= self._clock():
            return InvalidGrant('Unknown, expired or used code, or issued to another client')
        if redirect_uri != row.redirect_uri:
            return InvalidGrant('redirect_uri differs from the authorization request')
        if row.code_challenge and not pkce.verifies(verifier, row.code_challenge):
            return InvalidGrant('code_verifier does not match the code_challenge')
        if not row.code_challenge and verifier:
            return InvalidGrant('code_verifier given but no code_challenge was')
        row.used_at = self._clock()
        return self._grant(db, row, client, origin, *keys)

    def _revoke_first_use(self, db, row: AuthorizationCode) -> None:
        refresh = [row.issued_refresh_uuid] if row.issued_refresh_uuid else []
        revoked = session_repo.delete_from_refresh_tokens(db, refresh)
        refresh_repo.delete_uuids(db, refresh)
        if row.issued_session_uuid:
            revoked += session_repo.delete_where(db, Session.uuid == row.issued_session_uuid)
        row.issued_session_uuid = row.issued_refresh_uuid = None
        logger.warning('authorization code replayed: %d sessions revoked', len(revoked))

    def _grant(self, db, row: AuthorizationCode, client, origin: Origin, key,
               token_format: JwtFormat | None):
        signin = oidc_repo.signin_of_code(db, row.signin_uuid)
        user = db.get(User, signin.user_uuid, with_for_update=True) if signin else None
        if user is None or not user.enabled:
            return InvalidGrant('The user is no longer enabled')
        if not governs(db, client.tenant_uuid, user.tenant_uuid):
            # As for every grant: a client serves the users of its tenant tree only.
            return InvalidGrant("The user who signed in is outside the client's tenants")
        scope = tuple(row.scope.split())
        login = user.username or str(user.uuid)
        oidc = {'scope': list(scope), 'sid': str(signin.uuid), 'iss': row.issuer,
                'auth_time': int(signin.auth_time.timestamp())}
        refresh = self._offline(db, user, login, client, origin, oidc) \
            if OFFLINE_ACCESS in scope else None
        issued = self._tokens.issue(
            db, user, LoginRequest(login=login, client_id=client.client_id,
                                   user_agent=origin.user_agent,
                                   remote_addr=origin.remote_addr, token_format=token_format),
            login, refresh_token_uuid=refresh.uuid if refresh else None,
            persistent={'oidc': oidc})
        digest = tokens.token_digest(issued.data['token'])
        client_repo.set_token_client(db, digest, client.client_id)
        session_uuid = uuid.UUID(issued.data['session_uuid'])
        oidc_repo.link_session(db, session_uuid, signin.uuid)
        row.issued_session_uuid = session_uuid
        row.issued_refresh_uuid = refresh.uuid if refresh else None
        self._tokens.check_session_limit(db, user)
        if refresh is not None:
            issued.extra['refresh_token'] = refresh.value
        grant = grant_of(issued)
        id_token = self._id_tokens.sign(db, key, user.uuid, client.client_id, oidc, grant,
                                        nonce=row.nonce) if 'openid' in scope else None
        return OidcGrant(**vars(grant), id_token=id_token, oidc_scope=scope)

    def _offline(self, db, user: User, login: str, client, origin: Origin, oidc: dict):
        """The refresh token of an offline grant: one of its own for every sign-in, a
        confidential client's too (it rotates). One shared by a person's laptop and phone
        took the last sign-in's sid, auth_time and iss, and signing out on one ended the
        other's tokens."""
        refresh = self._refresh.obtain(db, user, login=login, client_id=client.client_id,
                                       mobile=False, backend='wazo_user',
                                       user_agent=origin.user_agent,
                                       remote_addr=origin.remote_addr, rotates=True)
        db.get(RefreshToken, refresh.uuid).metadata_ = {'oidc': oidc}
        return refresh

    def with_id_token(self, grant: Grant, client: AuthenticatedClient) -> OidcGrant:
        """``grant`` (of the refresh or password grant) with an ID token when its access token
        is of an OpenID grant with ``openid`` (token metadata ``oidc``: a refresh token from
        an OpenID sign-in, OIDC Core §12.2, or a password grant asked with ``openid``); the
        new session of a refresh joins the sign-in while it is live. Other grants pay one
        indexed read."""
        with self._sessions() as db:
            row = oidc_repo.token_oidc(db, tokens.token_digest(grant.access_token))
        if row is None or not row.oidc:
            return OidcGrant(**vars(grant))
        oidc, sid = row.oidc, uuid.UUID(row.oidc['sid'])
        scope = tuple(oidc.get('scope', ()))
        key = self._id_tokens.signing_key() if 'openid' in scope else None
        with self._sessions.begin() as db:
            if oidc_repo.signin_alive(db, sid, self._clock()):
                oidc_repo.link_session(db, row.session_uuid, sid)
            id_token = self._id_tokens.sign(db, key, row.user_uuid, client.client_id, oidc,
                                            grant) if key else None
        return replace(OidcGrant(**vars(grant)), id_token=id_token, oidc_scope=scope)
