"""Logins in the audit trail: ``auth_login_succeeded`` and ``auth_login_failed``.

Every password check (POST /token, the OAuth 2.0 password grant, the OpenID Connect sign-in
page, the device verification page, the old password of PUT /users/{uuid}/password) and every
refresh-token login already ends in the login throttle, which counts failures in a transaction
of its own so they are committed though the login is refused. That is the one place logins
converge: the throttle writes the trail's row in that same transaction (services/throttle.py).

A row says who (the user the login string names, when it names one, and the login string as
typed), from where (address, user agent, OAuth client_id), through what (``endpoint``,
``grant``) and, for failures, why (``reason``). Never the password, a token or a secret.
Successful refresh-token exchanges are not logins here: their ``auth_session_created`` says it
(a refresh exchange is the most frequent request that writes; one row for it is enough).
Requests refused before any check (no login or no password) are not recorded either.

Rows go to the bus only with ``events.publish_logins``.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..exceptions import AuthenticationFailed
from ..repositories import events as event_repo

SUCCEEDED = ('auth_login_succeeded', 'auth.logins.succeeded')
FAILED = ('auth_login_failed', 'auth.logins.failed')

# Failure reasons. The first three are inferred from the login string when the caller knows
# no better (the answer to the client is the same for all: spec D4).
WRONG_PASSWORD = 'wrong_password'
UNKNOWN_LOGIN = 'unknown_login'
DISABLED = 'disabled'
THROTTLED = 'throttled'
WRONG_TENANT = 'wrong_tenant'  # the user is outside the realm's or the client's tenants
USER_CHANGED = 'user_changed'  # disabled, deleted or given a new password during the login
UNKNOWN_BACKEND = 'unknown_backend'
INVALID_REFRESH_TOKEN = 'invalid_refresh_token'
CLIENT_AUTHENTICATION_REQUIRED = 'client_authentication_required'
SESSION_LIMIT = 'session_limit'  # the credentials were right; the user has too many sessions

_MAX_TEXT = 1024


def plausible_login(login: str | None) -> bool:
    """Logins PostgreSQL can compare and index: non-empty, at most 1024 bytes of UTF-8 (a
    btree entry holds at most 2704: the throttle's counters and the trail index the login),
    without NUL. Any other login fails as a wrong password does, without a lookup."""
    return bool(login) and len(login) <= 1024 and '\x00' not in login \
        and len(login.encode('utf-8', 'surrogatepass')) <= 1024


@dataclass(frozen=True)
class LoginAttempt:
    """One login as the trail records it. ``endpoint``: token, oauth2_token, oidc_signin,
    device_verification or users_password; ``grant``: password or refresh_token."""
    login: str | None
    address: str
    endpoint: str
    grant: str | None = 'password'
    client_id: str | None = None
    user_agent: str = ''


class LoginRefused(AuthenticationFailed):
    """AuthenticationFailed with the reason the trail records; the client's answer is the
    same as for any failed login (nothing of the reason is in it)."""

    def __init__(self, reason: str | None = None):
        super().__init__()
        self.reason = reason


def reason_of(error: AuthenticationFailed, default: str | None = None) -> str | None:
    """The reason a failed login is recorded with (None: inferred from the login string)."""
    return (error.reason if isinstance(error, LoginRefused) else None) or default


class LoginTrail:
    def __init__(self, *, publish: bool = False):
        self._publish = publish

    def succeeded(self, db, attempt: LoginAttempt, owner: Any,
                  session_uuid: str | None = None) -> None:
        """Record a successful login of ``owner`` (a row: uuid, tenant_uuid) in ``db``'s
        transaction."""
        extra = {'session_uuid': str(session_uuid)} if session_uuid else {}
        self._record(db, SUCCEEDED, attempt, owner, extra)

    def failed(self, db, attempt: LoginAttempt, owner: Any, reason: str | None) -> None:
        """Record a failed login in ``db``'s transaction; ``owner``: the user the login names
        (a row: uuid, tenant_uuid, enabled) or None. ``reason`` None: inferred."""
        if reason is None:
            reason = UNKNOWN_LOGIN if owner is None else \
                WRONG_PASSWORD if owner.enabled else DISABLED
        self._record(db, FAILED, attempt, owner, {'reason': reason})

    def _record(self, db, event: tuple[str, str], attempt: LoginAttempt, owner: Any,
                extra: dict[str, Any]) -> None:
        user_uuid: uuid.UUID | None = owner.uuid if owner is not None else None
        tenant_uuid: uuid.UUID | None = owner.tenant_uuid if owner is not None else None
        data = {'login': _text(attempt.login), 'user_uuid': _str(user_uuid),
                'tenant_uuid': _str(tenant_uuid), 'address': _text(attempt.address),
                'user_agent': _text(attempt.user_agent), 'client_id': _text(attempt.client_id),
                'endpoint': attempt.endpoint, 'grant': attempt.grant, **extra}
        event_repo.record(db, name=event[0], routing_key=event[1], data=data,
                          tenant_uuid=tenant_uuid, user_uuid=user_uuid, publish=self._publish)


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _text(value: str | None) -> str | None:
    """What a client typed, storable as JSON text and indexable: at most _MAX_TEXT bytes of
    UTF-8 (cut at a character's boundary), without NUL, valid UTF-8 (JSONB refuses NUL and
    lone surrogates; a 500 otherwise)."""
    if value is None:
        return None
    cleaned = value[:_MAX_TEXT].replace('\x00', '').encode('utf-8', 'replace')
    return cleaned[:_MAX_TEXT].decode('utf-8', 'ignore')
