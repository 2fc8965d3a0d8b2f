"""RFC 8628 device authorization grant: start, poll, and the verification page's steps.

The device code is 256 random bits known to the database only by its SHA-256. A person signs
in on the verification page (password checked with no database connection held, as logins
are); signing in stores the SHA-256 of a one-time consent value on the authorization, and only
a form carrying that value can approve or deny. Failed user codes and failed sign-ins count
against the client address in PostgreSQL (shared by every node, RFC 8628 §5.1).

An authorization belongs to the issuer it was requested at (a realm, or the global issuer of
/api/auth/0.1), as an authorization code does: only that issuer's verification page finds its
user code (elsewhere it is an unknown code, counted as a failure), only its token endpoint
redeems the device code (elsewhere ``invalid_grant``, leaving it usable at its own), and its
ID token names that issuer. Issuers are compared by path (``oidc.realms.same_issuer``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..clock import Clock, utc_now
from ..exceptions import TooManyAttempts
from ..logs import get_logger
from ..mail_tokens import password_fingerprint
from ..models import User
from ..networks import client_network
from ..oauth_models import Client, DeviceCode
from ..oauth2.device import (SLOW_DOWN_STEP, DeviceSettings, display_user_code, new_user_code,
                             normalize_user_code)
from ..oauth2.errors import (AccessDenied, AuthorizationPending, ExpiredToken, InvalidClient,
                             InvalidGrant, OAuth2Error, SlowDown, TemporarilyUnavailable)
from ..oidc.realms import Realm, same_issuer
from ..passwords import PasswordHasher
from ..repositories import clients as client_repo
from ..repositories import device_codes as device_repo
from ..repositories import users as user_repo
from .access_tokens import AccessTokenFormats, JwtFormat
from .clients import AuthenticatedClient
from .login_requests import LoginRequest
from .login_trail import USER_CHANGED, WRONG_TENANT, LoginAttempt, plausible_login
from .oauth_tokens import OFFLINE_ACCESS, Grant, Origin, grant_of, openid_request
from .refresh_tokens import RefreshTokenService, governs
from .throttle import LoginThrottle
from .tokens import TokenService

logger = get_logger(__name__)


# The login-trail reason of a consent refused after a right password, by the page's reason.
_RECORDED_AS = {'outside_client': WRONG_TENANT, 'bad_credentials': USER_CHANGED}


class VerificationFailed(Exception):
    """A verification-page step failed; ``reason`` says which, for the page to explain;
    ``retry_after``: the seconds to wait, when the login throttle said (429)."""

    def __init__(self, reason: str, status: int, retry_after: int | None = None):
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


@dataclass(frozen=True)
class Consent:
    """What the signed-in person is asked to approve; ``nonce`` goes in the consent form."""
    nonce: str
    user_code: str
    client_id: str
    client_name: str
    username: str
    scope: list[str]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode('utf-8')).digest()


class DeviceFlow:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 token_service: TokenService, refresh_tokens: RefreshTokenService,
                 throttle: LoginThrottle, settings: DeviceSettings,
                 formats: AccessTokenFormats, clock: Clock = utc_now):
        self._sessions = sessions
        self._formats = formats
        self._hasher = hasher
        self._tokens = token_service
        self._refresh = refresh_tokens
        self._throttle = throttle
        self._settings = settings
        self._clock = clock

    def start(self, client: AuthenticatedClient, scope: list[str], issuer: str,
              verification_uri: str) -> dict:
        """RFC 8628 §3.2: a new device code and user code for ``client``, requested at
        ``issuer`` (the one place it can be approved and redeemed). Raises InvalidClient when
        the client is gone (deleted since it was authenticated)."""
        device_code = secrets.token_urlsafe(32)
        now = self._clock()
        with self._sessions.begin() as db:
            # The client held, as every grant holds it: a delete of it commits first (no
            # client: invalid_client, not the foreign key's error) or waits for this one.
            if client_repo.held(db, client.uuid) is None:
                raise InvalidClient()
            device_repo.purge_expired(db, now - dt.timedelta(seconds=self._settings.lifetime))
            user_code = self._insert(db, client, device_code, scope, issuer, now)
        shown = display_user_code(user_code)
        logger.info('client %s started a device authorization', client.client_id)
        return {'device_code': device_code, 'user_code': shown,
                'verification_uri': verification_uri,
                'verification_uri_complete': f'{verification_uri}?user_code={shown}',
                'expires_in': self._settings.lifetime, 'interval': self._settings.interval}

    def _insert(self, db, client, device_code: str, scope: list[str], issuer: str,
                now) -> str:
        for _ in range(5):  # a taken user code is one in 2.6e10 per live code: retry
            user_code = new_user_code()
            if device_repo.insert_if_absent(
                    db, device_code_hash=_digest(device_code), user_code=user_code,
                    client_uuid=client.uuid, scope=' '.join(scope), issuer=issuer,
                    poll_interval=self._settings.interval,
                    expires_at=now + dt.timedelta(seconds=self._settings.lifetime)):
                return user_code
        raise TemporarilyUnavailable('No free user code, try again')

    def poll(self, client: AuthenticatedClient, device_code: str, origin: Origin) -> Grant:
        """RFC 8628 §3.4-3.5: the token once approved, else the OAuth error to answer.
        A redeemed code is deleted, so a second redemption is invalid_grant; so is a poll at
        another issuer's token endpoint than ``origin.issuer`` (the code is left as it was)."""
        # Read before the transaction (one pooled connection per request).
        token_format = self._formats.of(client, origin.issuer)
        with self._sessions.begin() as db:
            outcome = self._poll(db, client, device_code, origin, token_format)
        if isinstance(outcome, OAuth2Error):
            raise outcome
        return outcome

    def _poll(self, db, client, device_code: str, origin: Origin,
              token_format: JwtFormat | None) -> Grant | OAuth2Error:
        # The client first (as a delete locks it, so neither waits for the other in turn): a
        # delete of it then revokes the token issued here, or has left none to issue.
        if client_repo.held(db, client.uuid) is None:
            return InvalidClient()
        row = device_repo.for_poll(db, _digest(device_code), client.uuid)
        now = self._clock()
        if row is None:
            return InvalidGrant('Unknown or already used device code')
        if not same_issuer(row.issuer, origin.issuer):
            # One authorization server per realm: its tokens would name another issuer, or
            # serve a user of another tenant (one unknown code, as for an authorization code).
            return InvalidGrant('This device code was issued by another issuer')
        if row.expires_at <= now:
            return ExpiredToken()
        if row.status == 'denied':
            return AccessDenied()
        if row.status == 'pending':
            too_fast = row.last_polled_at is not None \
                and now < row.last_polled_at + dt.timedelta(seconds=row.poll_interval)
            row.last_polled_at = now
            if too_fast:
                row.poll_interval += SLOW_DOWN_STEP
                return SlowDown(f'Polling too fast: wait {row.poll_interval} seconds')
            return AuthorizationPending()
        return self._redeem(db, row, client, origin, token_format)

    def _redeem(self, db, row: DeviceCode, client, origin: Origin,
                token_format: JwtFormat | None) -> Grant | OAuth2Error:
        user = db.get(User, row.user_uuid, with_for_update=True) if row.user_uuid else None
        db.delete(row)
        if user is None or not user.enabled:
            return InvalidGrant('The user who approved is no longer enabled')
        if row.password_fingerprint is not None \
                and row.password_fingerprint != password_fingerprint(user.password_hash):
            # A password change or reset ends what was given with the old one.
            return InvalidGrant('The password of the user who approved has changed since')
        if not governs(db, client.tenant_uuid, user.tenant_uuid):
            return InvalidGrant("The user who approved is outside the client's tenants")
        login, scope = user.username or str(user.uuid), row.scope.split()
        # With ``openid``, the token records its OpenID grant as the password grant's does
        # (metadata ``oidc``), so the token endpoint answers an ID token (token_grants.py).
        request = LoginRequest(login=login, client_id=client.client_id,
                               user_agent=origin.user_agent, remote_addr=origin.remote_addr,
                               token_format=token_format,
                               openid=openid_request(scope, row.issuer))
        refresh = None
        if OFFLINE_ACCESS in scope:
            refresh = self._refresh.obtain(db, user, login=login, client_id=client.client_id,
                                           mobile=False, backend='wazo_user',
                                           user_agent=origin.user_agent,
                                           remote_addr=origin.remote_addr,
                                           rotates=client.public)
        issued = self._tokens.issue(db, user, request, login,
                                    refresh_token_uuid=refresh.uuid if refresh else None)
        client_repo.set_token_client(db, tokens.token_digest(issued.data['token']),
                                     client.client_id)
        self._tokens.check_session_limit(db, user)
        if refresh is not None:
            self._tokens.remember_openid(db, refresh.uuid, issued)
            issued.extra['refresh_token'] = refresh.value
        return grant_of(issued)

    # -- the verification page ----------------------------------------------------------

    def sign_in(self, address: str, user_code: str, login: str, password: str, *,
                realm: Realm, user_agent: str = '') -> Consent:
        """Check the user code, then the person's credentials, on the verification page of
        ``realm``; raises VerificationFailed (``throttled`` 429, ``unknown_code`` 400: also a
        code of another issuer, ``bad_credentials`` 401: also a user of another tenant than a
        realm's, as at its sign-in page and token endpoint, ``outside_client`` 403: a user the
        client does not serve, told after the password as the OpenID sign-in page does).

        Wrong user codes count against the address here; wrong passwords go through the
        login throttle of POST /token, so the page is no side door for password guessing.
        """
        code = normalize_user_code(user_code)
        if not self._pending(address, code, realm.issuer):
            logger.info('device verification failed from %s: unknown user code', address)
            raise VerificationFailed('unknown_code', 400)
        if not plausible_login(login):
            self._hasher.burn()
            raise VerificationFailed('bad_credentials', 401)
        attempt = LoginAttempt(login=login, address=address, endpoint='device_verification',
                               user_agent=user_agent)
        try:
            self._throttle.check_login(attempt)
        except TooManyAttempts as e:
            raise VerificationFailed('throttled', 429, e.details.get('retry_after')) from None
        with self._sessions() as db:
            user = user_repo.find_enabled_by_login(db, login)
            elsewhere = user is not None and not realm.accepts(user.tenant_uuid)
            candidate = (user.uuid, user.password_hash) if user and not elsewhere \
                else (None, None)
        if not self._hasher.verify(password or '', candidate[1]):
            logger.info('device verification: wrong credentials for "%s" from %s', login,
                        address)
            self._throttle.login_failed(attempt, WRONG_TENANT if elsewhere else None)
            raise VerificationFailed('bad_credentials', 401)
        return self._recorded_consent(attempt, code, candidate, realm.issuer)

    def _recorded_consent(self, attempt: LoginAttempt, code: str, candidate: tuple,
                          issuer: str) -> Consent:
        """``_ask_consent`` after a right password, recorded in the trail as a successful
        login, unless the client does not serve the user (wrong_tenant, as at the token
        endpoint) or the user changed since its password was read (user_changed)."""
        try:
            consent = self._ask_consent(code, candidate, issuer)
        except VerificationFailed as e:
            recorded = _RECORDED_AS.get(e.reason)
            if recorded is not None:
                self._throttle.login_failed(attempt, recorded)
            else:  # the code went meanwhile: the password was right all the same
                self._throttle.login_succeeded(attempt)
            raise
        self._throttle.login_succeeded(attempt)
        return consent

    def _ask_consent(self, code: str, candidate: tuple, issuer: str) -> Consent:
        """The consent asked of ``candidate``'s user (uuid, the hash its password was checked
        against). VerificationFailed: ``unknown_code``, the code went; ``bad_credentials``, the
        user was disabled, deleted or given a new password since (as at the sign-in page)."""
        nonce = secrets.token_urlsafe(32)
        now = self._clock()
        with self._sessions.begin() as db:
            row = device_repo.pending_by_user_code(db, code, now, for_update=True)
            user = db.get(User, candidate[0])
            if row is None or not same_issuer(row.issuer, issuer):
                raise VerificationFailed('unknown_code', 400)
            if user is None or not user.enabled or user.password_hash != candidate[1]:
                # The fingerprint recorded below is of the password checked: a change
                # committing later is caught by it when the device polls.
                raise VerificationFailed('bad_credentials', 401)
            client = db.get(Client, row.client_uuid)
            if not governs(db, client.tenant_uuid, user.tenant_uuid):
                # Its token would be refused (the rule of every grant): ask for another
                # account now rather than say "connected" and fail the device's poll.
                raise VerificationFailed('outside_client', 403)
            row.consent_hash, row.consent_user_uuid = _digest(nonce), user.uuid
            row.password_fingerprint = password_fingerprint(user.password_hash)
            return Consent(nonce=nonce, user_code=display_user_code(code),
                           client_id=client.client_id, client_name=client.name,
                           username=user.username or str(user.uuid),
                           scope=row.scope.split())

    def decide(self, nonce: str, approve: bool, *, issuer: str) -> str:
        """Approve or deny the authorization the consent ``nonce`` was issued for, on the
        verification page of ``issuer``; returns the client's name. Raises
        VerificationFailed('expired', 400) when it is gone or was requested elsewhere."""
        now = self._clock()
        with self._sessions.begin() as db:
            row = device_repo.pending_by_consent(db, _digest(nonce or ''), now)
            if row is None or not same_issuer(row.issuer, issuer):
                raise VerificationFailed('expired', 400)
            row.status = 'approved' if approve else 'denied'
            row.user_uuid, row.consent_hash = row.consent_user_uuid, None
            client = db.get(Client, row.client_uuid)
            logger.info('device authorization for client %s %s by user %s', client.client_id,
                        row.status, row.user_uuid)
            return client.name or client.client_id

    def _pending(self, address: str, code: str | None, issuer: str) -> bool:
        """Whether ``code`` is a pending user code of ``issuer``; a wrong one counts against
        the address (its /64 for IPv6: ``networks.client_network``). Raises
        VerificationFailed('throttled', 429) once the address used up its wrong codes. The
        check, the look-up and the count run one request of an address at a time (a lock of
        the address): guesses sent together cannot all pass the check before the first ones
        are counted."""
        key, window = client_network(address), self._settings.failure_window
        with self._sessions.begin() as db:
            device_repo.lock_guesser(db, key)
            if device_repo.failures(db, key, window) >= self._settings.max_failures:
                raise VerificationFailed('throttled', 429, window)  # at most the window
            row = device_repo.pending_by_user_code(db, code, self._clock()) if code else None
            found = row is not None and same_issuer(row.issuer, issuer)
            if not found:
                device_repo.record_failure(db, key, window)
        return found
