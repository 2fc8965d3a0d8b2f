"""A client library for applications that call services protected by wazo-like-auth.

Only depends on ``requests`` (``pip install wazo-like-auth[client]``); of the service it imports
only its log escaping (logs.py), deadline exchanges (bounded_http.py) and its errors
(client_errors.py), no server code.

    client = AuthClient('http://127.0.0.1:9497/0.1', username='alice', password='s3cret',
                        client_id='my-app', offline=True)
    client.token()                # logs in once, renews before expiry
    store(client.refresh_token)   # later runs: AuthClient(url, refresh_token=..., client_id=...)
    client.request('GET', 'https://confd.example/1.1/users/me')   # X-Auth-Token, one retry

Contract:
- ``token()`` returns an access token that the client believes valid for at least the renewal
  margin: ``min(max(renew_margin, renew_fraction * lifetime), lifetime / 2)`` seconds. The
  lifetime is the server's (``utc_expires_at - utc_issued_at``), counted from when the login
  request was *sent* on the local monotonic clock, so a skewed wall clock does not matter.
- Renewal uses the refresh token when there is one (no password sent), else the password; if the
  refresh token was revoked and a password is known, it falls back to a password login.
- Thread-safe: one lock guards the current token, so N threads needing a renewal cause one login.
- A renewal opens a new session on the server; the replaced token is not revoked (other threads
  may still be using it) and simply expires.
- Calls to the auth service never follow a redirect (a 3xx login is UnexpectedResponse), so
  credentials go to ``base_url`` only, and each is answered whole within its connect + read
  timeouts, or is ServiceUnavailable (an answer sent a byte at a time holds no thread).
- A refresh token the server refused is not sent again (it falls back to the password once,
  then logs in by password); a throttled login is TooManyAttempts, not TooManySessions.
- Tokens and passwords are never logged; at most a token's last 8 characters. Note that
  urllib3 logs request lines at DEBUG, and token checks carry the token in the path: keep the
  ``urllib3`` logger at INFO or above in production.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote, urljoin, urlsplit

import requests

from . import bounded_http
from .client_errors import (Answer, AuthError, InvalidCredentials, ServiceUnavailable,
                            TooManyAttempts, TooManySessions, UnexpectedResponse, body_field,
                            login_error)
from .logs import get_logger

__all__ = ['AuthClient', 'TokenAuth', 'AuthError', 'InvalidCredentials', 'TooManySessions',
           'TooManyAttempts', 'ServiceUnavailable', 'UnexpectedResponse', 'DEFAULT_TIMEOUT',
           'RENEW_RETRY_DELAY']

logger = get_logger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds, for every call this module makes
# After a renewal failed for an outage, the current token is used this long before the next
# attempt: an application calling token() per request must not hammer a failing service.
RENEW_RETRY_DELAY = 5.0
_UTC_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'
_MAX_ANSWER = 1024 * 1024  # bytes: a token answer is about 1 KiB


@dataclass(frozen=True)
class _Issued:
    value: str
    data: dict[str, Any]
    renew_at: float    # on the client's clock
    expires_at: float  # on the client's clock


class TokenAuth(requests.auth.AuthBase):
    """``requests`` auth that sets ``X-Auth-Token`` to ``client.token()`` (no retry)."""

    def __init__(self, client: AuthClient):
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers['X-Auth-Token'] = self._client.token()
        request.register_hook('response', _token_stays_on_origin)
        return request


class AuthClient:
    """Logs in to wazo-like-auth and keeps a valid access token; see the module docstring.

    Credentials: ``username`` + ``password`` and/or ``refresh_token`` + ``client_id``.
    ``offline=True`` asks the password login for a refresh token (needs ``client_id``); it is
    then available as ``refresh_token`` and used for every later renewal.
    ``clock`` is a monotonic time source in seconds (tests pass a controllable one).
    """

    def __init__(self, base_url: str, *, username: str | None = None,
                 password: str | None = None, client_id: str | None = None,
                 refresh_token: str | None = None, offline: bool = False,
                 expiration: int = 3600, renew_margin: float = 30.0,
                 renew_fraction: float = 0.1, timeout: Any = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if not (username and password) and not (refresh_token and client_id):
            raise ValueError('need username+password or refresh_token+client_id')
        if offline and not (client_id and username and password):
            raise ValueError('offline=True needs username, password and client_id')
        if int(expiration) < 1:
            raise ValueError('expiration must be at least 1 second')
        self._base = base_url.rstrip('/')
        self._username, self._password = username, password
        self._client_id, self._refresh_token, self._offline = client_id, refresh_token, offline
        self._expiration = int(expiration)
        self._margin, self._fraction = renew_margin, renew_fraction
        self._timeout = timeout
        self._http = session or requests.Session()
        self._service = bounded_http.BoundedHTTP(self._http)  # calls to the auth service
        self._clock = clock
        self._lock = threading.Lock()
        self._current: _Issued | None = None

    @property
    def refresh_token(self) -> str | None:
        """The refresh token in use (given, or obtained by an offline login); store it safely."""
        with self._lock:
            return self._refresh_token

    @property
    def token_data(self) -> dict[str, Any]:
        """The ``data`` of the last login (acl, metadata, session_uuid, ...); {} before any."""
        with self._lock:
            return dict(self._current.data) if self._current else {}

    @property
    def auth(self) -> TokenAuth:
        return TokenAuth(self)

    def url(self, path_or_url: str) -> str:
        """An absolute URL as is; a path relative to the auth base URL."""
        if path_or_url.startswith(('http://', 'https://')):
            return path_or_url
        return f'{self._base}/{path_or_url.lstrip("/")}'

    def token(self, refused: str | None = None) -> str:
        """A valid access token, logging in or renewing first when needed.

        If the service is unreachable while the current token is in its renewal margin but not
        yet expired, that token is returned, and renewal is tried again after RENEW_RETRY_DELAY
        seconds (or at its expiry, if sooner), not on every call. ``refused``: a token a
        service just refused (401), e.g. by the JWT verifier's revocation feed; it can die
        before its renewal time (session ended, password changed), so, as ``request`` does,
        the client asks the auth service whether it is still valid (one HEAD) and, if not,
        logs in again (unless another thread did: its token then, by the rules above).
        Raises InvalidCredentials, TooManySessions, ServiceUnavailable or UnexpectedResponse.
        """
        if refused is not None and (replacement := self._replacement_for(refused)):
            return replacement
        with self._lock:
            return self._token_locked()

    def _token_locked(self) -> str:
        """``token()``'s answer (no ``refused``); the caller holds the lock."""
        current, now = self._current, self._clock()
        if current is not None and now < current.renew_at:
            return current.value
        try:
            return self._renew_locked().value
        except ServiceUnavailable:
            if current is None or now >= current.expires_at:
                raise
            logger.warning('Auth service unavailable; keeping token %s until it expires',
                           _redact(current.value))
            self._current = dataclasses.replace(
                current, renew_at=min(now + RENEW_RETRY_DELAY, current.expires_at))
            return current.value

    def renew(self, stale: str | None = None) -> str:
        """Log in again now and return the new token.

        With ``stale``, only renew if the current token is still ``stale``: when several
        threads see the same dead token, the first one renews and the others reuse its result.
        """
        with self._lock:
            current = self._current
            if stale is not None and current is not None and current.value != stale:
                return current.value
            return self._renew_locked().value

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """Send a request with ``X-Auth-Token``; on 401/404 retry once if the token was dead.

        When the answer is 401 or 404, the client asks the auth service whether the token it
        sent is still valid (one HEAD). Only if it is not (expired, revoked) does it log in
        again and resend the request once; a 401/404 with a live token (missing ACL, absent
        resource) is returned as is, since renewing would not change it and would open a
        session per call. Redirects are followed (unless ``allow_redirects=False``), but the
        token goes only to redirects of the same origin (scheme, host, port). Bodies must be
        re-sendable (bytes, str, ``json=``), not streams.
        ``kwargs`` are those of ``requests.request``; the default timeout is DEFAULT_TIMEOUT.
        """
        kwargs.setdefault('timeout', self._timeout)
        url = self.url(path_or_url)
        sent = self.token()
        response = self._send(method, url, sent, kwargs)
        if response.status_code not in (401, 404):
            return response
        replacement = self._replacement_for(sent)
        if replacement is None:
            return response
        response.close()
        return self._send(method, url, replacement, kwargs)

    def logout(self) -> None:
        """Revoke the current access token (the refresh token, if any, stays valid)."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            self._call('DELETE', f'/token/{quote(current.value, safe="")}')

    def close(self) -> None:
        self._service.close()
        self._http.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _send(self, method: str, url: str, token: str,
              kwargs: dict[str, Any]) -> requests.Response:
        headers = {**(kwargs.get('headers') or {}), 'X-Auth-Token': token}
        hooks = dict(kwargs.get('hooks') or {})
        theirs = hooks.get('response') or []
        hooks['response'] = [_token_stays_on_origin,
                             *([theirs] if callable(theirs) else theirs)]
        return self._http.request(method, url, **{**kwargs, 'headers': headers,
                                                  'hooks': hooks})

    def _replacement_for(self, sent: str) -> str | None:
        """A token to retry with instead of ``sent``, or None when ``sent`` is still valid."""
        with self._lock:
            if self._current is not None and self._current.value != sent:
                return self._token_locked()  # another thread renewed: as token() would decide
            response = self._call('HEAD', f'/token/{quote(sent, safe="")}')
            if response.status_code == 204:
                return None
            logger.info('Token %s is no longer valid; logging in again', _redact(sent))
            return self._renew_locked().value

    def _renew_locked(self) -> _Issued:
        """Log in (refresh token first, password as fallback); caller holds the lock."""
        if self._refresh_token and self._client_id:
            try:
                return self._login({'refresh_token': self._refresh_token,
                                    'client_id': self._client_id}, credentials=None)
            except InvalidCredentials:
                if not (self._username and self._password):
                    raise
                logger.warning('Refresh token %s refused; falling back to the password',
                               _redact(self._refresh_token))
                # Not sent again: each refusal counts against the address's refresh
                # throttle, shared by every application of the host (a new one may come
                # with the password login, offline).
                self._refresh_token = None
        body: dict[str, Any] = {}
        if self._offline:
            body = {'access_type': 'offline', 'client_id': self._client_id}
        return self._login(body, credentials=(self._username, self._password))

    def _login(self, body: dict[str, Any], credentials: tuple[str, str] | None) -> _Issued:
        sent_at = self._clock()
        response = self._call('POST', '/token', json={**body, 'expiration': self._expiration},
                              auth=credentials)
        if response.status_code != 200:
            raise login_error(response)
        try:
            data = response.json()['data']
            value = data['token']
        except (ValueError, KeyError, TypeError, RecursionError):  # nested too deep: no login
            value = None
        if not _usable(value):
            raise UnexpectedResponse('POST /token answered 200 without a usable token')
        if data.get('refresh_token'):
            self._refresh_token = data['refresh_token']
        lifetime = _lifetime(data, self._expiration)
        margin = min(max(self._margin, self._fraction * lifetime), lifetime / 2)
        self._current = _Issued(value=value, data=data, renew_at=sent_at + lifetime - margin,
                                expires_at=sent_at + lifetime)
        logger.debug('Got token %s valid %.0f s', _redact(value), lifetime)
        return self._current

    def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One call to the auth service, its answer (status line, headers, body) whole within
        the connect + read timeouts (one sent a byte at a time held the caller, and the client's
        lock, for ever); connection problems, slowness and 5xx → ServiceUnavailable. Redirects
        are not followed: they would re-send the password, the refresh token or the token in
        the path to wherever ``Location`` points (a 3xx is then unexpected)."""
        try:
            reply = self._service.fetch(method, self.url(path), timeout=self._timeout,
                                        max_bytes=_MAX_ANSWER, **kwargs)
        except bounded_http.FetchFailed as error:
            raise ServiceUnavailable(f'auth service unreachable at {self._base}: '
                                     f'{error}') from None
        response = Answer(reply.status_code, reply.headers, reply.body)
        if response.status_code >= 500:
            raise ServiceUnavailable(f'auth service answered {response.status_code}',
                                     status_code=response.status_code,
                                     error_id=body_field(response, 'error_id'))
        return response


def _token_stays_on_origin(response: requests.Response, **_: Any) -> requests.Response:
    """A ``requests`` response hook: before a redirect to another origin is followed, the
    token is taken off the request (requests itself strips only ``Authorization``)."""
    if response.is_redirect and response.request is not None:
        sent = response.request.url or ''
        if _origin(urljoin(sent, response.headers['location'])) != _origin(sent):
            response.request.headers.pop('X-Auth-Token', None)
    return response


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname, parts.port or {'http': 80, 'https': 443}.get(scheme)


def _lifetime(data: dict[str, Any], requested: int) -> float:
    """The server's idea of the token lifetime; the requested one if the times are unusable."""
    try:
        issued = dt.datetime.strptime(data['utc_issued_at'], _UTC_FORMAT)
        expires = dt.datetime.strptime(data['utc_expires_at'], _UTC_FORMAT)
    except (KeyError, TypeError, ValueError):
        return float(requested)
    lifetime = (expires - issued).total_seconds()
    return lifetime if lifetime > 0 else float(requested)


def _usable(token: Any) -> bool:
    """Whether ``token`` fits a header and a path segment (printable ASCII, no space, not
    ``.`` or ``..``, which requests would resolve away from ``/token/``)."""
    return isinstance(token, str) and token.isascii() and token.isprintable() \
        and ' ' not in token and token.strip('.') != ''


def _redact(value: str) -> str:
    """What a log line may show of a token (wazo-auth's convention)."""
    return 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + value[-8:] if len(value) >= 8 else 'XXXXXXXX'
