"""Logins (POST /token) and revocation (DELETE /token/{t}).

A password login reads the user in a short transaction, verifies the password with no database
connection held (bcrypt takes a quarter of a second; checks must not wait for it), then writes
the session and token in a second transaction that re-reads the user, so a user disabled or
deleted meanwhile gets no token.
"""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Row
from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..clock import Clock, utc_now
from ..exceptions import AuthenticationFailed, TooManyAttempts, TooManySessions
from ..logs import get_logger
from ..models import User
from ..oidc.realms import same_issuer
from ..passwords import PasswordHasher
from ..repositories import refresh_tokens as refresh_repo
from ..repositories import sessions as session_repo
from ..repositories import tokens as token_repo
from ..repositories import users as user_repo
from ..repositories.refresh_tokens import ExchangeReads
from . import actors
from .access_tokens import TokenFacts, issue_time, mint, recording
from .login_requests import IssuedToken, LoginRequest, TokenSettings
from .login_trail import (CLIENT_AUTHENTICATION_REQUIRED, INVALID_REFRESH_TOKEN, UNKNOWN_BACKEND,
                          USER_CHANGED, WRONG_TENANT, LoginRefused, plausible_login, reason_of)
from .refresh_tokens import RefreshTokenService, governs
from .throttle import LoginThrottle
from .views import token_view

logger = get_logger(__name__)


class TokenService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 settings: TokenSettings, refresh_tokens: RefreshTokenService,
                 throttle: LoginThrottle, engine: Engine, clock: Clock = utc_now):
        self._sessions = sessions
        self._clock = clock
        self._engine = engine
        self._hasher = hasher
        self._settings = settings
        self._refresh_tokens = refresh_tokens
        self._throttle = throttle

    def login(self, request: LoginRequest) -> IssuedToken:
        """A token for a refresh token + client_id, else for a login + password.

        Raises AuthenticationFailed whatever went wrong, TooManyAttempts when guessing is
        throttled (no bcrypt spent), TooManySessions at the session limit.
        """
        attempt = request.attempt()
        if request.refresh_token and request.client_id:
            try:
                return self._refresh_login(request)
            except AuthenticationFailed as e:
                self._throttle.refresh_failed(attempt, reason_of(e, INVALID_REFRESH_TOKEN))
                raise
            except TooManyAttempts:
                self._throttle.refused(attempt)
                raise
            except TooManySessions:
                self._throttle.over_session_limit(attempt)
                raise
        if not plausible_login(request.login) or not request.password:
            self._hasher.burn()
            self._fail(request, 'invalid login request')
        self._throttle.check_login(attempt)
        try:
            issued = self._password_login(request)
        except AuthenticationFailed as e:
            self._throttle.login_failed(attempt, reason_of(e))
            raise
        except TooManySessions:
            self._throttle.over_session_limit(attempt)
            raise
        self._throttle.login_succeeded(attempt, session_uuid=issued.data['session_uuid'])
        return issued

    def _password_login(self, request: LoginRequest) -> IssuedToken:
        if request.backend != 'wazo_user':
            self._hasher.burn()
            self._fail(request, 'unknown backend', UNKNOWN_BACKEND)
        with self._sessions() as db:
            user = user_repo.find_enabled_by_login(db, request.login)
            candidate = (user.uuid, user.password_hash) if user else (None, None)
        if not self._hasher.verify(request.password, candidate[1]):
            self._fail(request, 'wrong login or password')
        issued = self._locked_grant(request, candidate)
        if issued is None:
            # Its hash changed since it was read: a concurrent login stored a stronger hash
            # of the same password, or the password changed. Checked once more against it.
            with self._sessions() as db:
                user = db.get(User, candidate[0])
                candidate = (candidate[0], user.password_hash if user else None)
            if not self._hasher.verify(request.password, candidate[1]):
                self._fail(request, 'user changed during login', USER_CHANGED)
            issued = self._locked_grant(request, candidate)
            if issued is None:
                self._fail(request, 'user changed during login', USER_CHANGED)
        if self._hasher.needs_rehash(candidate[1]):
            self._rehash(candidate, request.password)
        return issued

    def _locked_grant(self, request: LoginRequest, candidate: tuple) -> IssuedToken | None:
        """The login's grant, the user row locked (it serialises logins of one user: exact
        session limit, one refresh token per client even under concurrent offline logins);
        None when the user's password hash is no longer the one checked."""
        with self._sessions.begin() as db:
            user = db.get(User, candidate[0], with_for_update=True)
            if user is None or not user.enabled:
                self._fail(request, 'user changed during login', USER_CHANGED)
            if user.password_hash != candidate[1]:
                return None
            if request.client_tenant_uuid is not None \
                    and not governs(db, request.client_tenant_uuid, user.tenant_uuid):
                self._fail(request, "user outside the client's tenants", WRONG_TENANT)
            return self._grant(db, user, request, request.login)

    def _rehash(self, candidate: tuple, password: str) -> None:
        """Store a stronger hash of the password just checked, hashed with no connection or
        lock held, unless the hash changed meanwhile (then another login stored one, or the
        password changed: nothing to do)."""
        stronger = self._hasher.hash(password)
        with self._sessions.begin() as db:
            user_repo.rehash_password(db, candidate[0], candidate[1], stronger)

    def _refresh_login(self, request: LoginRequest) -> IssuedToken:
        """No password, no bcrypt: the refresh token is looked up by digest and client_id.

        The user row is share-locked, not exclusively: exchanges of one user run in parallel
        up to the session limit's count (check_session_limit), while a disable or a password
        login waits for them. Lock order user → refresh token, as mobile logins do.
        The lookup also reads the new token's ACL and the address's failure counter: one round
        trip, then the insert. On a Core connection, not an ORM session: nothing here loads
        or deletes ORM objects, and the session's bookkeeping cost about 0.1 ms of CPU per
        exchange; the actor, if any, is named as the sessions' begin hook would.
        """
        if request.backend != 'wazo_user':  # refused as a password login's would be
            self._fail(request, 'unknown backend', UNKNOWN_BACKEND)
        reads = ExchangeReads(self._settings.default_user_policy,
                              *self._throttle.refresh_counter(request.remote_addr))
        with self._engine.begin() as db:
            if actors.current():  # what actors.name_actor_at_begin does for sessions
                actors.name_in(db)
            if request.public_client or request.client_authenticated:  # it may rotate
                self._refresh_tokens.lock_for_rotation(db, request.refresh_token,
                                                       request.client_id)
            row = self._refresh_tokens.find_for_exchange(db, request.refresh_token,
                                                         request.client_id, reads,
                                                         request.client_tenant_uuid)
            self._throttle.check_refresh(request.remote_addr, db, read=(
                (row.failures, row.window_start) if row else None))
            self._check_exchange(request, row)
            user = SimpleNamespace(uuid=row.user_uuid, tenant_uuid=row.tenant_uuid,
                                   purpose=row.purpose)
            issued = self.issue(db, user, request, row.login, refresh_token_uuid=row.uuid,
                                persistent=row.metadata_, acl=user_repo.flatten_acl(row))
            self.check_session_limit(db, user)
            if row.rotates:
                issued.extra['refresh_token'] = self._refresh_tokens.rotate(db, row)
            return issued

    def _check_exchange(self, request: LoginRequest, row) -> None:
        """Refuse (AuthenticationFailed) an exchange of an unknown refresh token, of a disabled
        user's, of another realm's user's, of an OpenID grant's at another issuer, or of one
        redeemed only at the OAuth 2.0 token endpoint from this path."""
        if row is None or not row.enabled:
            self._fail(request, 'unknown refresh token or client_id')
        if request.realm_tenant_uuid is not None and row.tenant_uuid != request.realm_tenant_uuid:
            self._fail(request, 'refresh token of another realm', WRONG_TENANT)
        granted_at = ((row.metadata_ or {}).get('oidc') or {}).get('iss')
        if request.issuer and granted_at and not same_issuer(granted_at, request.issuer):
            # One authorization server per issuer, as for codes (oidc_codes): its ID tokens
            # keep the grant's issuer (OIDC Core §12.2), its access tokens would name this one.
            self._fail(request, 'refresh token of another issuer', INVALID_REFRESH_TOKEN)
        if (row.confidential or row.rotates) and not request.client_authenticated:
            # A confidential client's refresh tokens are redeemed at the OAuth 2.0 token
            # endpoint with its secret (RFC 6749 §6), a rotating one's there with the new
            # value in the answer; this path has neither.
            self._fail(request, 'refresh token of an OAuth 2.0 client',
                       CLIENT_AUTHENTICATION_REQUIRED)

    def _grant(self, db, user: User, request: LoginRequest, login: str) -> IssuedToken:
        refresh = None
        if request.access_type == 'offline':
            refresh = self._refresh_tokens.obtain(
                db, user, login=login, client_id=request.client_id, mobile=request.mobile,
                backend=request.backend, user_agent=request.user_agent,
                remote_addr=request.remote_addr, rotates=request.public_client)
        issued = self.issue(db, user, request, login,
                            refresh_token_uuid=refresh.uuid if refresh else None)
        self.check_session_limit(db, user)
        if refresh is not None:
            self.remember_openid(db, refresh.uuid, issued)
            issued.sessions_revoked = refresh.sessions_revoked
            issued.extra['refresh_token'] = refresh.value
        return issued

    @staticmethod
    def remember_openid(db, refresh_uuid: uuid.UUID, issued: IssuedToken) -> None:
        """Record on the refresh token the OpenID grant of ``issued`` (metadata ``oidc``), if
        it is one: its refreshes then answer ID tokens of that grant (the latest one wins,
        as in the code flow: one refresh token per user and client)."""
        oidc = (issued.data.get('metadata') or {}).get('oidc')
        if oidc is not None:
            refresh_repo.set_metadata(db, refresh_uuid, {'oidc': oidc})

    def check_session_limit(self, db, user: User | Row) -> None:
        """At most max_user_concurrent_sessions live sessions for purposes user and
        external_api, counting the one just created (the transaction rolls back on excess);
        exact under concurrent grants of one user: a grant counts holding the user's
        new-sessions lock, after any other grant of theirs holding it has committed."""
        if user.purpose == 'internal':
            return
        # Refresh exchanges of one user share its row lock, so its own lock for the count.
        session_repo.hold_new_sessions_of_user(db, user.uuid)
        live = session_repo.count_live_of_user(db, user.uuid, self._clock())
        if live > self._settings.max_user_sessions:
            raise TooManySessions(
                f'User {user.uuid} has exceeded the maximum number of active sessions')

    def issue(self, db, user: User | Row, request: LoginRequest, login: str,
              refresh_token_uuid: uuid.UUID | None = None,
              persistent: dict | None = None, acl: list[str] | None = None) -> IssuedToken:
        """Insert a session and a token for ``user`` (an ORM user or a row with its uuid,
        tenant_uuid and purpose) within the caller's transaction; a JWT when the request has
        a ``token_format`` (services/access_tokens.py); ``acl`` when the caller has read it
        already (users.token_acl)."""
        now = issue_time(request.token_format, self._clock())
        lifetime = request.expiration or self._settings.default_lifetime
        session_uuid = uuid.uuid4()
        metadata = {**(persistent or {}), **self.metadata(user)}
        if request.openid is not None and 'oidc' not in metadata:
            metadata['oidc'] = request.openid.metadata(session_uuid, now)
        columns = dict(
            auth_id=str(user.uuid), pbx_user_uuid=metadata['pbx_user_uuid'],
            xivo_uuid=self._settings.xivo_uuid, issued_at=now,
            expires_at=now + dt.timedelta(seconds=lifetime),
            acl=acl if acl is not None else user_repo.token_acl(
                db, user.uuid, self._settings.default_user_policy),
            metadata_=metadata, user_agent=request.user_agent, remote_addr=request.remote_addr,
            refresh_token_uuid=refresh_token_uuid,
        )
        minted = mint(request.token_format, TokenFacts(
            auth_id=columns['auth_id'], session_uuid=session_uuid, tenant_uuid=user.tenant_uuid,
            acl=columns['acl'], issued_at=now, expires_at=columns['expires_at'],
            extra_scope=metadata.get('oidc', {}).get('scope', ())))
        if request.token_format is not None:
            columns.update(client_id=request.token_format.client_id, jti=minted.jti,
                           signing_kid=minted.signing_kid)
        with recording():
            token_repo.insert(db, digest=minted.digest, session_uuid=session_uuid,
                              tenant_uuid=user.tenant_uuid, user_uuid=user.uuid,
                              mobile=request.mobile, **columns)
        logger.info('Successful login: %s got token %s from %s using agent "%s"',
                    login, tokens.redact(minted.value), request.remote_addr, request.user_agent)
        row = SimpleNamespace(session_uuid=session_uuid, metadata=metadata, **{
            k: v for k, v in columns.items()
            if k not in ('metadata_', 'client_id', 'jti', 'signing_kid')})
        return IssuedToken(data=token_view(minted.value, row))

    def metadata(self, user: User | Row) -> dict[str, Any]:
        """Token metadata by purpose (wazo-token-api §1.3 step 1, spec D9)."""
        return {
            'uuid': str(user.uuid),
            'tenant_uuid': str(user.tenant_uuid),
            'auth_id': str(user.uuid),
            'pbx_user_uuid': str(user.uuid) if user.purpose == 'user' else None,
            'xivo_uuid': self._settings.xivo_uuid,
            'purpose': user.purpose,
        }

    def revoke(self, token: str, address: str = '') -> None:
        """Delete a token (and its session when emptied); unknown tokens are not an error.
        The caller holds the token: the events of the revocation name it as their actor."""
        value = tokens.normalize(token)
        if value is None:
            return
        digest = tokens.token_digest(value)
        with self._sessions.begin() as db:
            row = token_repo.find_by_digest(db.connection(), digest)
            if row is not None:
                actors.name_in(db, **actors.of_token(row, address))
            token_repo.delete_by_digest(db, digest)

    @staticmethod
    def _fail(request: LoginRequest, reason: str, recorded: str | None = None) -> None:
        """Refuse the login; ``recorded``: the reason the trail records (None: inferred)."""
        logger.info('Failed login: %s for "%s" from %s using agent "%s"', reason,
                    request.login, request.remote_addr, request.user_agent)
        raise LoginRefused(recorded)
