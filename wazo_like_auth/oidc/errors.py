"""Errors of the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).

Two kinds, on purpose: until ``client_id`` and ``redirect_uri`` are known good, nothing may be
sent to the redirect URI (an open redirector otherwise), so the user gets an error page
(``InvalidTarget``); after that, errors go back to the client (``AuthorizeError``).
"""
from __future__ import annotations


class InvalidTarget(Exception):
    """client_id or redirect_uri is missing, unknown or not registered: show a page."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class AuthorizeError(Exception):
    """An error to redirect to the client with ``error`` and ``error_description``."""
    error = 'invalid_request'

    def __init__(self, description: str, error: str | None = None):
        self.description = description
        if error:
            self.error = error
        super().__init__(description)


def login_required() -> AuthorizeError:
    return AuthorizeError('The user is not signed in', 'login_required')


def consent_required() -> AuthorizeError:
    return AuthorizeError('The user has not consented to this client', 'consent_required')


def access_denied() -> AuthorizeError:
    return AuthorizeError('The user denied the request', 'access_denied')
