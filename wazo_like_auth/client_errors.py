"""The errors of the client library (client.py), and how an answer of the service becomes one."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TOO_MANY_ATTEMPTS = 'too-many-attempts'


class AuthError(Exception):
    """Base of every error of the client library; ``status_code``/``error_id`` when the server
    said."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 error_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_id = error_id


class InvalidCredentials(AuthError):
    """The login was refused (401): wrong password, disabled user, revoked refresh token."""


class TooManySessions(AuthError):
    """The user has reached the server's concurrent-session limit (429)."""


class TooManyAttempts(AuthError):
    """The server throttles logins of this user or from this address (429
    ``too-many-attempts``): retry after ``retry_after`` seconds (None if it did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(AuthError):
    """The auth service could not be reached, timed out, or answered 5xx. Retry later."""


class UnexpectedResponse(AuthError):
    """Any other answer (400, non-JSON body, ...): usually a client configuration error."""


@dataclass(frozen=True)
class Answer:
    """An answer of the auth service, read whole."""
    status_code: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def login_error(response: Answer) -> AuthError:
    status, error_id = response.status_code, body_field(response, 'error_id')
    message = body_field(response, 'message') or f'POST /token answered {status}'
    if status == 429 and error_id == TOO_MANY_ATTEMPTS:
        return TooManyAttempts(message, status_code=status, error_id=error_id,
                               retry_after=_seconds(response.headers.get('Retry-After')))
    kind = {401: InvalidCredentials, 429: TooManySessions}.get(status, UnexpectedResponse)
    return kind(message, status_code=status, error_id=error_id)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def body_field(response: Any, name: str) -> str | None:
    """A string field of a JSON error envelope, or None (no body on HEAD, not JSON, ...)."""
    try:
        value = response.json().get(name)
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None
