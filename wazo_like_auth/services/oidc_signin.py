"""Browser sign-in sessions of the OpenID Connect provider.

Signing in checks the password as POST /token does (login throttle, bcrypt with no database
connection held, the same answer for every failure: unknown user, wrong password, disabled
user, user of another tenant than the realm's). A user the client does not serve (outside its
tenant and the tenants below, the rule of every grant) is refused with an answer of its own,
after the password: the global issuer takes users of every tenant, and telling them apart from
a wrong password there tells nothing POST /token does not. Success makes a sign-in: a random
cookie value known to the database only by its SHA-256, and a session of the user (visible and
deletable in /sessions) that sessions issued through the sign-in hang off. A sign-in whose user was
disabled or deleted is ended when next seen. Expired sign-ins and authorization codes are
refused on read and forgotten by the background token cleaner (``purge_expired``), in batches,
one node at a time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from ..exceptions import AuthenticationFailed, TooManyAttempts
from ..logs import get_logger
from ..models import Session, User
from ..oidc.realms import Realm
from ..oidc_models import Signin
from ..passwords import PasswordHasher
from ..repositories import oidc as oidc_repo
from ..repositories import refresh_tokens as refresh_repo
from ..repositories import sessions as session_repo
from ..repositories import users as user_repo
from ..clock import utc_now
from .login_trail import USER_CHANGED, WRONG_TENANT, LoginAttempt, plausible_login
from .refresh_tokens import governs
from .throttle import LoginThrottle

logger = get_logger(__name__)

# Sign-ins and codes are forgotten this long after they expire: a used code's replay still
# revokes what it gave (RFC 6749 §4.1.2) meanwhile, and no live code (60 s) or exchange in
# flight refers to a sign-in being purged.
PURGE_GRACE = dt.timedelta(minutes=10)
_LOCK_NOT_AVAILABLE = '55P03'


class SigninFailed(Exception):
    """``reason``: bad_credentials (401), outside_client (403: a user the client does not
    serve) or throttled (429, with ``retry_after``: the seconds the throttle's Retry-After
    says), for the page to explain."""

    def __init__(self, reason: str, status: int, retry_after: int | None = None):
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


@dataclass(frozen=True)
class SignedIn:
    """A live sign-in; ``cookie`` is set only right after signing in."""
    uuid: uuid.UUID
    user_uuid: uuid.UUID
    tenant_uuid: uuid.UUID
    username: str
    auth_time: dt.datetime
    cookie: str | None = None


def cookie_digest(value: str) -> bytes:
    return hashlib.sha256(value.encode('utf-8', 'replace')).digest()


def _renewable(db, cookie: str | None, user_uuid: uuid.UUID, now: dt.datetime) -> Signin | None:
    """The live sign-in of a browser's cookie when it is ``user_uuid``'s, else None."""
    if not cookie or len(cookie) > 256:
        return None
    signin = oidc_repo.signin_by_cookie(db, cookie_digest(cookie), now)
    return signin if signin is not None and signin.user_uuid == user_uuid else None


class SigninService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 throttle: LoginThrottle, lifetime: int, purge_batch: int = 1000,
                 clock: Callable[[], dt.datetime] = utc_now):
        self._sessions = sessions
        self._hasher = hasher
        self._throttle = throttle
        self._lifetime = dt.timedelta(seconds=lifetime)
        self._purge_batch = purge_batch
        self._clock = clock

    def sign_in(self, realm: Realm, address: str, login: str, password: str,
                client_tenant: uuid.UUID | None = None, user_agent: str = '',
                previous: str | None = None) -> SignedIn:
        """A new sign-in for valid credentials of a user of ``realm`` whom a client of
        ``client_tenant`` serves (``serves``; None: any client); raises SigninFailed.
        ``previous``: the browser's sign-in cookie, renewed rather than replaced when it
        is the same user's (re-authentication: prompt=login, max_age)."""
        if not plausible_login(login) or not password:
            self._hasher.burn()
            raise SigninFailed('bad_credentials', 401)
        attempt = LoginAttempt(login=login, address=address, endpoint='oidc_signin',
                               user_agent=user_agent)
        try:
            self._throttle.check_login(attempt)
        except TooManyAttempts as e:
            raise SigninFailed('throttled', 429, e.details.get('retry_after')) from None
        with self._sessions() as db:
            user = user_repo.find_enabled_by_login(db, login)
            elsewhere = user is not None and not realm.accepts(user.tenant_uuid)
            candidate = (user.uuid, user.password_hash) if user and not elsewhere \
                else (None, None)
        if not self._hasher.verify(password, candidate[1]):
            logger.info('sign-in page: wrong credentials for "%s" from %s', login, address)
            self._throttle.login_failed(attempt, WRONG_TENANT if elsewhere else None)
            raise SigninFailed('bad_credentials', 401)
        try:
            signed_in = self._create(candidate, login, address, client_tenant, previous)
        except SigninFailed as e:
            # A right password of a user the client does not serve is no successful login
            # (the token endpoint records it as wrong_tenant too).
            self._throttle.login_failed(
                attempt, WRONG_TENANT if e.reason == 'outside_client' else USER_CHANGED)
            raise
        self._throttle.login_succeeded(attempt)
        return signed_in

    def _create(self, candidate, login: str, address: str, client_tenant: uuid.UUID | None,
                previous: str | None) -> SignedIn:
        cookie, now = secrets.token_urlsafe(32), self._clock()
        with self._sessions.begin() as db:
            user = db.get(User, candidate[0], with_for_update=True)
            if user is None or not user.enabled or user.password_hash != candidate[1]:
                raise SigninFailed('bad_credentials', 401)
            if client_tenant is not None and not governs(db, client_tenant, user.tenant_uuid):
                # No sign-in: the page asks for another account, nothing is left behind.
                logger.info('sign-in page: "%s" is outside the client\'s tenants', login)
                raise SigninFailed('outside_client', 403)
            signin = _renewable(db, previous, user.uuid, now)
            if signin is not None:
                # The same person again: the same sign-in (its sid, and what was issued
                # through it, which signing out ends) with a new cookie (no fixation) and
                # auth_time. A sign-in beside it would outlive "Sign out", unreachable.
                signin.cookie_hash, signin.auth_time = cookie_digest(cookie), now
                signin.expires_at = now + self._lifetime
            else:
                signin = Signin(uuid=uuid.uuid4(), cookie_hash=cookie_digest(cookie),
                                session_uuid=uuid.uuid4(), user_uuid=user.uuid,
                                tenant_uuid=user.tenant_uuid, auth_time=now,
                                expires_at=now + self._lifetime)
                oidc_repo.add_signin(db, signin)
        logger.info('sign-in page: %s signed in from %s', login, address)
        return SignedIn(signin.uuid, user.uuid, user.tenant_uuid, user.username or login, now,
                        cookie)

    def check_realm_login(self, realm: Realm, attempt: LoginAttempt) -> None:
        """For the password grant of a realm: a user of another tenant fails as a wrong
        password does (a bcrypt spent, a failure counted). Raises AuthenticationFailed,
        TooManyAttempts."""
        login = attempt.login
        if realm.is_global or not plausible_login(login):
            return
        with self._sessions() as db:
            user = user_repo.find_enabled_by_login(db, login)
            elsewhere = user is not None and not realm.accepts(user.tenant_uuid)
        if elsewhere:
            self._throttle.check_login(attempt)
            self._hasher.burn()
            self._throttle.login_failed(attempt, WRONG_TENANT)
            logger.info('Failed login: user of another tenant for "%s" from %s', login,
                        attempt.address)
            raise AuthenticationFailed()

    def serves(self, client_tenant: uuid.UUID, signin: SignedIn) -> bool:
        """Whether a client of ``client_tenant`` may get codes for ``signin``'s user: the user
        is of the client's tenant or below, as the token endpoint requires of every grant
        (always true in a realm, where client and user are of the realm's tenant)."""
        if signin.tenant_uuid == client_tenant:
            return True
        with self._sessions() as db:
            return governs(db, client_tenant, signin.tenant_uuid)

    def current(self, realm: Realm, cookie: str | None) -> SignedIn | None:
        """The live sign-in of a browser's cookie in ``realm``, or None. A sign-in whose user
        is no longer enabled is ended (the next authorization asks again)."""
        if not cookie or len(cookie) > 256:
            return None
        with self._sessions.begin() as db:
            signin = oidc_repo.signin_by_cookie(db, cookie_digest(cookie), self._clock())
            if signin is None or not realm.accepts(signin.tenant_uuid):
                return None
            user = db.get(User, signin.user_uuid)
            if user is None or not user.enabled:
                oidc_repo.end_signin(db, signin.uuid)
                logger.info('sign-in %s ended: its user is disabled', signin.uuid)
                return None
            return SignedIn(signin.uuid, user.uuid, user.tenant_uuid,
                            user.username or str(user.uuid), signin.auth_time)

    def end_in_realm(self, realm: Realm, sid: uuid.UUID, sub: str) -> int:
        """End what an ID token's ``sid`` names in ``realm`` (``sub``: its user): a sign-in,
        with every session issued through it, or, for the ID token of a password or device
        grant (no sign-in), the grant's sessions: the first one, which ``sid`` names, and
        those of its refreshes (their ID tokens say the same ``sid``). Its refresh token
        stays, as a sign-in's does (offline access outlives signing out). Returns how many
        sessions ended; 0 when unknown."""
        with self._sessions.begin() as db:
            signin = db.get(Signin, sid)
            if signin is not None:
                ended = oidc_repo.end_signin(db, sid) if realm.accepts(signin.tenant_uuid) \
                    else []
            else:
                ended = self._end_grant(db, realm, sid, sub)
        if ended:
            logger.info('logout of %s ended %d sessions', sid, len(ended))
        return len(ended)

    @staticmethod
    def _end_grant(db, realm: Realm, sid: uuid.UUID, sub: str) -> list[uuid.UUID]:
        try:
            user = db.get(User, uuid.UUID(sub))
        except ValueError:  # a client's own ID token names no user
            return []
        if user is None or not realm.accepts(user.tenant_uuid):
            return []
        refreshed = refresh_repo.of_openid_session(db, user.uuid, str(sid))
        return session_repo.delete_where(db, Session.uuid == sid, Session.user_uuid == user.uuid) \
            + session_repo.delete_from_refresh_tokens(db, refreshed)

    def end(self, signin_uuid: uuid.UUID) -> int:
        """End a sign-in and every session issued through it; returns how many sessions."""
        with self._sessions.begin() as db:
            ended = oidc_repo.end_signin(db, signin_uuid)
        logger.info('sign-in %s ended with %d sessions', signin_uuid, len(ended))
        return len(ended)

    def purge_expired(self) -> int:
        """Forget the sign-ins and authorization codes that expired more than PURGE_GRACE ago,
        in batches of ``purge_batch``; returns how many went. Run by the token cleaner (under
        its advisory lock). A batch that would wait on a row a request holds gives way: the
        next cycle takes it."""
        before, purged = self._clock() - PURGE_GRACE, 0
        while True:
            try:
                with self._sessions.begin() as db:
                    counts = oidc_repo.purge_expired_batch(db, before, self._purge_batch)
            except OperationalError as e:
                if getattr(e.orig, 'pgcode', None) != _LOCK_NOT_AVAILABLE:
                    raise
                logger.info('sign-in purge gave way to a request; the next cycle goes on')
                break
            purged += sum(counts)
            if max(counts) < self._purge_batch:
                break
        if purged:
            logger.info('expired sign-ins and authorization codes purged: %d', purged)
        return purged
