"""Tokens of the OAuth 2.0 endpoints: the SAME access tokens, sessions and refresh tokens as
the Wazo API (a token from either validates with HEAD /token/{t} and is listed in sessions).

User grants go through TokenService (same login checks, bcrypt off the database connection,
session limit, refresh-token store); the token is then marked with the client it was issued to.
Client tokens (client_credentials) belong to no user: auth_id is the client_id, the session is
in the client's tenant, metadata carries that tenant so tenant checks work, and the ACL comes
from the client's own entries and policies. A client with ``access_token_format: jwt`` gets
RFC 9068 JWTs from every grant, still rows of ours (services/access_tokens.py).
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..clock import Clock, utc_now
from ..exceptions import AuthenticationFailed
from ..logs import get_logger
from ..models import User
from ..oauth2.clients import scope_string
from ..oauth2.errors import InvalidClient
from ..oidc.authorize import SCOPES as OPENID_SCOPES
from ..repositories import clients as client_repo
from ..repositories import oauth_tokens as oauth_repo
from ..repositories import refresh_tokens as refresh_repo
from ..repositories import sessions as session_repo
from ..repositories import tokens as token_repo
from .access_tokens import AccessTokenFormats, TokenFacts, issue_time, mint, recording
from . import actors
from .clients import AuthenticatedClient
from .login_requests import IssuedToken, LoginRequest, OpenIdRequest
from .refresh_tokens import RefreshTokenService, governs
from .throttle import CheckGuard
from .tokens import TokenService

logger = get_logger(__name__)

OFFLINE_ACCESS = 'offline_access'
OAUTH2_TOKEN = 'oauth2_token'  # the endpoint the login trail names


@dataclass(frozen=True)
class Origin:
    """Where a request came from, recorded on the tokens it creates, and the issuer it came to
    (the ``iss`` of JWT access tokens: a realm's, or the global one)."""
    user_agent: str = ''
    remote_addr: str = ''
    issuer: str | None = None


@dataclass(frozen=True)
class Grant:
    """A token endpoint success (RFC 6749 §5.1), before serialisation."""
    access_token: str
    expires_in: int
    acl: list[str]
    refresh_token: str | None = None

    def response(self) -> dict[str, Any]:
        extra = [OFFLINE_ACCESS] if self.refresh_token else []
        body = {'access_token': self.access_token, 'token_type': 'Bearer',
                'expires_in': self.expires_in, 'scope': scope_string(self.acl, extra)}
        if self.refresh_token:
            body['refresh_token'] = self.refresh_token
        return body


def openid_request(scope: Sequence[str], issuer: str | None) -> OpenIdRequest | None:
    """The OpenID part of a password or device grant's scope; None without ``openid``. Scopes
    that are not OpenID ones are ignored (OIDC Core §3.1.2.1), as the authorization endpoint
    does."""
    if 'openid' not in scope or not issuer:
        return None
    return OpenIdRequest(scope=tuple(s for s in scope if s in OPENID_SCOPES), issuer=issuer)


def grant_of(issued: IssuedToken) -> Grant:
    data = issued.data
    issued_at = dt.datetime.fromisoformat(data['utc_issued_at'])
    expires_at = dt.datetime.fromisoformat(data['utc_expires_at'])
    return Grant(access_token=data['token'], acl=list(data['acl']),
                 expires_in=round((expires_at - issued_at).total_seconds()),
                 refresh_token=issued.extra.get('refresh_token'))


class OAuthTokenService:
    def __init__(self, *, sessions: sessionmaker, token_service: TokenService,
                 refresh_tokens: RefreshTokenService, lifetime: int, xivo_uuid: str | None,
                 guard: CheckGuard, formats: AccessTokenFormats, clock: Clock = utc_now):
        self._sessions = sessions
        self._clock = clock
        self._formats = formats
        self._guard = guard
        self._tokens = token_service
        self._refresh = refresh_tokens
        self._lifetime = lifetime
        self._xivo_uuid = xivo_uuid

    def password(self, client: AuthenticatedClient, username: str, password: str,
                 offline: bool, origin: Origin, scope: Sequence[str] = ()) -> Grant:
        """RFC 6749 §4.3 through the Wazo login; raises AuthenticationFailed like POST /token.
        ``offline`` also gives the user's refresh token for this client (access_type=offline).
        ``scope`` with ``openid`` makes an OpenID grant (OIDC Core §3.1.2.1's scopes, at the
        issuer of ``origin``): the caller adds the ID token (services/oidc/token_grants.py)."""
        issued = self._tokens.login(LoginRequest(
            login=username, password=password, access_type='offline' if offline else 'online',
            client_id=client.client_id, client_tenant_uuid=client.tenant_uuid,
            user_agent=origin.user_agent, remote_addr=origin.remote_addr,
            token_format=self._formats.of(client, origin.issuer), endpoint=OAUTH2_TOKEN,
            openid=openid_request(scope, origin.issuer), public_client=client.public))
        self._mark(issued, client)
        return grant_of(issued)

    def refresh(self, client: AuthenticatedClient, refresh_token: str, origin: Origin,
                realm_tenant: uuid.UUID | None = None) -> Grant:
        """RFC 6749 §6: a token for a refresh token bound to this client (AuthenticationFailed
        otherwise; also for a user of another tenant than ``realm_tenant``, and for a refresh
        token of an OpenID grant of another issuer than ``origin``'s). A public client's
        refresh token of a grant rotates (RFC 9700 §4.14.2): the answer holds the next one,
        and the one presented, used again, revokes the grant. The Wazo API's refresh tokens
        (and a confidential client's) keep working as they are."""
        try:
            issued = self._tokens.login(LoginRequest(
                refresh_token=refresh_token, client_id=client.client_id,
                client_authenticated=True, client_tenant_uuid=client.tenant_uuid,
                user_agent=origin.user_agent, remote_addr=origin.remote_addr,
                endpoint=OAUTH2_TOKEN, token_format=self._formats.of(client, origin.issuer),
                public_client=client.public, realm_tenant_uuid=realm_tenant,
                issuer=origin.issuer))
        except AuthenticationFailed:
            if client.public:
                self._refresh.revoke_reused(refresh_token, client.client_id)
            raise
        self._mark(issued, client)
        return grant_of(issued)

    def _mark(self, issued: IssuedToken, client: AuthenticatedClient) -> None:
        """Record the client a token went to. InvalidClient when the client was deleted
        while the grant ran (its password check takes a while): the delete could not see
        what the grant made, which is revoked now (repositories.clients.held)."""
        digest = tokens.token_digest(issued.data['token'])
        with self._sessions.begin() as db:
            if client_repo.held(db, client.uuid) is not None:
                client_repo.set_token_client(db, digest, client.client_id)
                return
            refresh = issued.extra.get('refresh_token')
            client_repo.revoke_issued(db, digest, client.client_id,
                                      tokens.token_digest(refresh) if refresh else None)
        raise InvalidClient()

    def for_client(self, client: AuthenticatedClient, origin: Origin) -> Grant | None:
        """RFC 6749 §4.4: a token for the client itself; None if it was deleted meanwhile."""
        token_format = self._formats.of(client, origin.issuer)
        now = issue_time(token_format, self._clock())
        expires_at = now + dt.timedelta(seconds=self._lifetime)
        metadata = {'uuid': None, 'tenant_uuid': str(client.tenant_uuid),
                    'auth_id': client.client_id, 'pbx_user_uuid': None,
                    'xivo_uuid': self._xivo_uuid, 'purpose': 'client',
                    'client_id': client.client_id}
        session_uuid = uuid.uuid4()
        with self._sessions.begin() as db:
            row = client_repo.held(db, client.uuid)  # a delete waits, then revokes our token
            if row is None:
                return None
            acl = client_repo.token_acl(db, row)
            minted = mint(token_format, TokenFacts(
                auth_id=client.client_id, session_uuid=session_uuid,
                tenant_uuid=row.tenant_uuid, acl=acl, issued_at=now, expires_at=expires_at))
            with recording():
                token_repo.insert(
                    db, digest=minted.digest, session_uuid=session_uuid,
                    tenant_uuid=row.tenant_uuid, user_uuid=None, mobile=False,
                    auth_id=client.client_id, pbx_user_uuid=None, xivo_uuid=self._xivo_uuid,
                    issued_at=now, expires_at=expires_at, acl=acl, metadata_=metadata,
                    user_agent=origin.user_agent, remote_addr=origin.remote_addr,
                    client_id=client.client_id, jti=minted.jti,
                    signing_kid=minted.signing_kid)
        logger.info('client %s got token %s from %s', client.client_id,
                    tokens.redact(minted.value), origin.remote_addr)
        return Grant(access_token=minted.value, expires_in=self._lifetime, acl=acl)

    def introspect(self, value: str, client: AuthenticatedClient, hint: str | None = None,
                   address: str = '') -> dict[str, Any]:
        """RFC 7662 §2.2: what a live access token (any), or a refresh token of the calling
        client, is; ``{"active": false}`` for anything else. Inside the unknown-token budget
        of token checks, as userinfo is (RFC 7662 §4: no scanning through introspection)."""
        self._guard.refuse_if_scanning(address)
        canonical = tokens.normalize(value or '')
        found = self._described(canonical, client, hint) if canonical is not None else None
        if found is None:
            self._guard.not_found(address)
            return {'active': False}
        return {'active': True, **found}

    def _described(self, value: str, client: AuthenticatedClient,
                   hint: str | None) -> dict | None:
        with self._sessions() as db:
            lookups = [self._describe_access, self._describe_refresh]
            if hint == 'refresh_token':
                lookups.reverse()
            for lookup in lookups:
                found = lookup(db, value, client)
                if found is not None:
                    return found
        return None

    def _describe_access(self, db, value: str, client: AuthenticatedClient) -> dict | None:
        row = oauth_repo.describe(db, tokens.token_digest(value))
        if row is None or row.expires_at <= self._clock():
            return None
        # The scope its answer and its JWT said: the ACL, and an OpenID grant's own scopes.
        oidc_scope = (row.metadata or {}).get('oidc', {}).get('scope', ())
        found = {'scope': scope_string(row.acl, oidc_scope), 'client_id': row.client_id,
                 'username': row.username, 'sub': row.auth_id, 'token_type': 'Bearer',
                 'exp': int(row.expires_at.timestamp()), 'iat': int(row.issued_at.timestamp()),
                 'tenant_uuid': str(row.tenant_uuid), 'jti': row.jti}
        return {key: v for key, v in found.items() if v is not None}

    def _describe_refresh(self, db, value: str, client: AuthenticatedClient) -> dict | None:
        """A refresh token of ``client`` that its exchange would take (RFC 7662 §2.2: active
        means usable): not one of a disabled user, nor of a user outside the client's
        tenants. ``tenant_uuid`` lets a realm's introspection refuse another tenant's."""
        row, user = self._governed_refresh(db, value, client)
        if user is None or not user.enabled:
            return None
        found = {'scope': OFFLINE_ACCESS, 'client_id': row.client_id,
                 'username': user.username, 'sub': str(row.user_uuid),
                 'token_type': 'refresh_token', 'iat': int(row.created_at.timestamp()),
                 'tenant_uuid': str(user.tenant_uuid)}
        return {key: v for key, v in found.items() if v is not None}

    def _governed_refresh(self, db, value: str, client: AuthenticatedClient) -> tuple:
        """``(row, user)`` of the refresh token ``value`` of ``client``, when the client
        governs it (its user is in the client's tenants); ``(None, None)`` otherwise."""
        row = self._refresh.find(db, value, client.client_id)
        user = db.get(User, row.user_uuid) if row is not None else None
        if user is None or not governs(db, client.tenant_uuid, user.tenant_uuid):
            return None, None
        return row, user

    def revoke(self, value: str, client: AuthenticatedClient, hint: str | None = None) -> None:
        """RFC 7009 §2.1: revoke an access token or refresh token issued to ``client``.
        A refresh token takes the sessions created from it along. Tokens of other clients,
        of users outside the client's tenants (a free-form Wazo client_id it does not
        govern: README, Security, *client_id and tenants*), and unknown values, are left
        alone without error."""
        canonical = tokens.normalize(value or '')
        if canonical is None:
            return
        with self._sessions.begin() as db:
            # The client's tenant: its own tenant's auditors see who revoked (audit trail).
            actors.name_in(db, client_id=client.client_id, tenant_uuid=str(client.tenant_uuid))
            steps = [self._revoke_access, self._revoke_refresh]
            if hint == 'refresh_token':
                steps.reverse()
            for step in steps:
                if step(db, canonical, client):
                    return

    @staticmethod
    def _revoke_access(db, value: str, client: AuthenticatedClient) -> bool:
        digest = tokens.token_digest(value)
        row = oauth_repo.describe(db, digest)
        if row is None or row.client_id != client.client_id \
                or not governs(db, client.tenant_uuid, row.tenant_uuid):
            return False
        token_repo.delete_by_digest(db, digest)
        logger.info('client %s revoked token %s', client.client_id, tokens.redact(value))
        return True

    def _revoke_refresh(self, db, value: str, client: AuthenticatedClient) -> bool:
        row, user = self._governed_refresh(db, value, client)
        if user is None:
            return False
        revoked = session_repo.delete_from_refresh_tokens(db, [row.uuid])
        refresh_repo.delete_uuids(db, [row.uuid])
        logger.info('client %s revoked a refresh token of user %s and %d sessions',
                    client.client_id, row.user_uuid, len(revoked))
        return True

    def userinfo(self, value: str, address: str) -> dict[str, Any] | None:
        """Who a live access token belongs to (OpenID Connect UserInfo claims we can honour),
        or None when the token is unknown or expired.

        Inside the unknown-token budget of token checks (HEAD /token/{t}): an unknown token
        counts against ``address``, and an address over budget gets TooManyAttempts, so this
        endpoint is no side door for scanning tokens.
        """
        self._guard.refuse_if_scanning(address)
        row = self._live(value or '')
        if row is None:
            self._guard.not_found(address)
            return None
        name = ' '.join(p for p in (row.firstname, row.lastname) if p) or None
        # email_verified beside email, as OpenID Connect says it: a user may make any address
        # it typed in its main one; a relying party matching accounts by e-mail must see that
        # this one was never confirmed.
        claims = {'sub': row.auth_id, 'preferred_username': row.username, 'name': name,
                  'email': row.email, 'tenant_uuid': str(row.tenant_uuid),
                  'email_verified': bool(row.email_confirmed) if row.email else None,
                  'client_id': row.client_id if row.user_uuid is None else None}
        return {key: v for key, v in claims.items() if v is not None}

    def tenant_of(self, value: str) -> uuid.UUID | None:
        """The tenant of an access token's session (None when unknown): the realm check of
        the OpenID Connect token endpoints."""
        canonical = tokens.normalize(value or '')
        if canonical is None:
            return None
        with self._sessions() as db:
            row = oauth_repo.describe(db, tokens.token_digest(canonical))
        return row.tenant_uuid if row is not None else None

    def _live(self, value: str) -> Any:
        """The row of a live access token ``value`` (repositories.oauth_tokens.describe), or
        None when it is not a token, unknown or expired."""
        canonical = tokens.normalize(value)
        if canonical is None:
            return None
        with self._sessions() as db:
            row = oauth_repo.describe(db, tokens.token_digest(canonical))
        return row if row is not None and row.expires_at > self._clock() else None
