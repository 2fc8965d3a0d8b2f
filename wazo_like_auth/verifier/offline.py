"""JWT mode: RFC 9068 access tokens verified offline, with no call to the service per request.

Needs ``flask``, ``requests`` and ``joserfc`` (``pip install wazo-like-auth[verifier-jwt]``).

    verifier = JwtVerifier('https://auth.example.com/realms/acme', audience='confd',
                           auth_url='https://auth.example.com/api/auth/0.1',
                           revocation_token=service_client.token, revocation_poll_interval=10)

    @app.get('/users/<user_uuid>/profile')
    @verifier.required_acl('confd.users.{user_uuid}.read')
    def profile(user_uuid): ...   # flask.g.auth_token, flask.g.auth_claims

A token is accepted iff, in this order (every refusal before the signature costs no crypto):
- it is shorter than 16 KiB, ASCII, and three non-empty dot-separated parts whose header is a
  JSON object with ``typ`` ``at+jwt`` (or ``application/at+jwt``), an asymmetric ``alg``
  (never ``none`` nor ``HS*``) and a ``kid``;
- ``kid`` names a key of the issuer's JWK Set (see ``jwks``: fetched once, refetched on an
  unknown kid at most every ``min_refetch_interval`` s, cached for its max-age), whose
  announced algorithm is the header's ``alg``, and the signature verifies with that key;
- its claims: ``iss`` is ``issuer`` exactly; ``audience`` is ``aud`` or in it; ``sub``,
  ``client_id`` and ``jti`` are non-empty strings; ``exp``, ``iat`` (and ``nbf`` if present)
  are numbers with ``now < exp + leeway``, ``nbf <= now + leeway``, ``iat <= now + leeway``;
- its ``jti`` is not in the revocation feed (when polled; see ``revocations``), and its
  ``session_uuid`` has not been announced ended on the bus (with ``push``; see ``push``);
- its ACL grants the required access: the ``acl`` claim (a list of strings) when present, else
  the space-separated ``scope``, matched with the service's own rules (``wazo_like_auth.acl``:
  ``*``, ``#``, ``!`` negations, ``me`` as ``sub``, ``my_session`` as ``session_uuid``);
- with a ``Wazo-Tenant`` header, it names the token's ``tenant_uuid`` (as a UUID: any
  spelling the service accepts). Offline, the tenant
  tree is unknown: a sub-tenant that the online check would allow is refused here (403).

Refusals are those of the online mode, in the same envelope: 401 for a token refused above
(``unauthorized``), 403 for a missing ACL or another tenant, 503 when no key set could ever be
fetched. The reason of a 401 goes to the DEBUG log, never the token.

Trade-off: offline mode accepts a revoked token until the next poll of the revocation feed (or
until it expires, without a feed); the online check (``TokenVerifier``) never does. With
``push=PushRevocation(...)`` (py-amqp), a token is refused as soon as the bus announces the end
of its session (``auth_session_deleted``); an ended session is remembered
``ended_session_memory`` seconds (set it to the longest lifetime of the issuer's access tokens),
and longer for a token of it that is presented, until that token expires. While the bus is
unreachable, and for the sessions that ended meanwhile, only the feed (or expiry) refuses.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import time
import uuid
from typing import Any, Callable

import requests

from ..acl import AccessCheck, AccessCheckCache
from ..bounded_http import BoundedHTTP
from ..logs import get_logger
from . import jose
from .guard import DEFAULT_TIMEOUT, MAX_TOKEN_SIZE, Guard, forbidden, unauthorized, unreachable
from .jwks import KeyStore, KeysUnavailable, PublicKey
from .ended_sessions import EndedSessions
from .push import PushRevocation, SessionEndings
from .revocations import RevocationFeed

logger = get_logger(__name__)

ACCESS_TOKEN_TYPES = ('at+jwt', 'application/at+jwt')  # RFC 9068 §2.1
_MAX_HEADER = 1024  # base64 characters: ours are about 150


class _NoFeed:
    def __contains__(self, jti: str) -> bool:
        return False

    def key_retired(self, kid: str) -> bool:
        return False

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class JwtVerifier(Guard):
    """Verifies RFC 9068 access tokens of ``issuer`` for ``audience`` offline; see the module
    docstring. The revocation feed is polled when ``revocation_poll_interval`` is given (it
    then needs ``auth_url``, the service's API base, and ``revocation_token``: a token, or a
    callable returning one, told with ``refused=`` the token the feed refused, if it takes
    that keyword, as ``AuthClient.token`` does; see ``revocations``); ``push``
    follows session ends on the bus. ``clock`` is monotonic (key cache), ``wall_clock`` gives
    epoch seconds (expiry); tests pass their own."""

    def __init__(self, issuer: str, audience: str, *, jwks_url: str | None = None,
                 leeway: float = 30.0, auth_url: str | None = None,
                 revocation_token: str | Callable[[], str] | None = None,
                 revocation_poll_interval: float | None = None,
                 push: PushRevocation | None = None, ended_session_memory: float = 7200.0,
                 min_refetch_interval: float = 5.0, timeout: Any = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self._http = http = BoundedHTTP(session or requests.Session())
        _, self._jws, _ = jose.load()
        self._issuer, self._audience, self._leeway = issuer, audience, leeway
        self._wall_clock = wall_clock
        self._keys = KeyStore(issuer=issuer, jwks_url=jwks_url, http=http, timeout=timeout,
                              min_refetch_interval=min_refetch_interval, clock=clock)
        self._checks = AccessCheckCache()
        self.revocations: RevocationFeed | _NoFeed = _NoFeed()
        if revocation_poll_interval is not None:
            if not auth_url or not revocation_token:
                raise ValueError('revocation_poll_interval needs auth_url and revocation_token')
            if not 0 < revocation_poll_interval < math.inf:  # 0 polled the service non-stop
                raise ValueError('revocation_poll_interval: seconds between two polls, above 0')
            self.revocations = RevocationFeed(
                auth_url, token=revocation_token, interval=revocation_poll_interval,
                keep_for=leeway, http=http, timeout=timeout, wall_clock=wall_clock)
        self._ended = EndedSessions(keep_for=ended_session_memory, wall_clock=wall_clock)
        self.push: SessionEndings | None = None
        if push is not None:
            self.push = SessionEndings(push, on_ended=self._ended.add,
                                       on_subscribed=lambda: None)

    def close(self) -> None:
        """Stop polling the revocation feed and following the bus, and close the connections
        kept open for key set and feed fetches (verification goes on with what is known; a
        later fetch opens a new one)."""
        self.revocations.stop()
        if self.push is not None:
            self.push.stop()
        self._http.close()

    def verify(self, token: str, acl: str, tenant: str | None = None) -> dict:
        """The verified claims if ``token`` grants ``acl`` (in ``tenant``); raise
        AccessDenied otherwise."""
        claims = self.authenticate(token, acl)
        access = self._access(claims)
        if access is None:
            logger.debug('JWT access token refused: malformed acl or scope')
            raise unauthorized(token, acl)
        session = claims.get('session_uuid')
        granted = access.matches(acl, claims['sub'], session if isinstance(session, str) else None)
        if not granted or (tenant and not _same_tenant(tenant, claims.get('tenant_uuid'))):
            raise forbidden(acl, tenant)
        return claims

    def authenticate(self, token: str, acl: str = '') -> dict:
        """The claims of ``token`` once verified, whatever its ACL; AccessDenied (401 or
        503) otherwise. ``acl`` only goes into the refusal's details."""
        key = self._key_for(token, acl)
        claims = self._signed_claims(token, key)
        problem = 'bad signature or payload' if claims is None else self._problem(claims)
        if problem is not None:
            logger.debug('JWT access token refused: %s', problem)
            raise unauthorized(token, acl)
        return claims

    def _key_for(self, token: str, acl: str) -> PublicKey:
        header = _header(token) if token and len(token) < MAX_TOKEN_SIZE else None
        if header is None or str(header.get('typ', '')).lower() not in ACCESS_TOKEN_TYPES \
                or not jose.is_asymmetric(header.get('alg')) \
                or not isinstance(header.get('kid'), str):
            logger.debug('JWT access token refused: not an RFC 9068 token we may verify')
            raise unauthorized(token, acl)
        self.revocations.start()
        if self.push is not None:
            self.push.start()
        if self.revocations.key_retired(header['kid']):
            logger.debug('JWT access token refused: its key was retired (revocation feed)')
            raise unauthorized(token, acl)
        try:
            key = self._keys.find(header['kid'])
        except KeysUnavailable:
            raise unreachable() from None
        if key is None or key.alg != header['alg']:
            logger.debug('JWT access token refused: unknown kid, or alg not the key\'s')
            raise unauthorized(token, acl)
        return key

    def _signed_claims(self, token: str, key: PublicKey) -> dict | None:
        try:
            signed = self._jws.deserialize_compact(token, key.key, registry=key.registry)
            claims = json.loads(signed.payload)
        except Exception:  # noqa: BLE001 - joserfc parses hostile input: any failure refuses
            return None
        return claims if isinstance(claims, dict) else None

    def _problem(self, claims: dict) -> str | None:
        """Why the verified ``claims`` are refused, or None."""
        if claims.get('iss') != self._issuer:
            return 'iss'
        audiences = claims.get('aud')
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or self._audience not in audiences:
            return 'aud'
        if not all(isinstance(claims.get(k), str) and claims[k]
                   for k in ('sub', 'client_id', 'jti')):
            return 'sub, client_id or jti'
        exp, iat, nbf = claims.get('exp'), claims.get('iat'), claims.get('nbf', 0)
        if not all(_number(value) for value in (exp, iat, nbf)):
            return 'exp, iat or nbf'
        now = self._wall_clock()
        if now >= exp + self._leeway:
            return 'expired'
        if nbf > now + self._leeway or iat > now + self._leeway:
            return 'not yet valid'
        if claims['jti'] in self.revocations:
            return 'revoked'
        session = claims.get('session_uuid')
        if isinstance(session, str) and self._ended.refuses(session, exp + self._leeway):
            return 'session ended'
        return None

    def _access(self, claims: dict) -> AccessCheck | None:
        acl = claims.get('acl')
        if acl is None:
            scope = claims.get('scope', '')
            acl = scope.split() if isinstance(scope, str) else None
        if not isinstance(acl, list) or not all(isinstance(entry, str) for entry in acl):
            return None
        return self._checks.get(acl)  # one compiled form per distinct ACL, whoever holds it


def _header(token: str) -> dict | None:
    """The JOSE header of a compact JWS with three non-empty parts, or None."""
    parts = token.split('.')
    if len(parts) != 3 or not all(parts) or len(parts[0]) > _MAX_HEADER or not token.isascii():
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + '=' * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return header if isinstance(header, dict) else None


def _same_tenant(header: str, claim: Any) -> bool:
    """Whether ``Wazo-Tenant`` names the token's tenant, in any spelling of it the service
    accepts (that ``uuid.UUID`` reads: upper case, braces, no dashes)."""
    if header == claim:
        return True
    try:
        return isinstance(claim, str) and uuid.UUID(header) == uuid.UUID(claim)
    except ValueError:
        return False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
