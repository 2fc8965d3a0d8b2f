"""The issuer's public keys, for the JWT mode: its JWK Set (``certs``), fetched on first use
from ``jwks_url`` or from the ``jwks_uri`` of the issuer's OpenID discovery document.

Contract of ``KeyStore.find(kid)``:
- a known ``kid`` of a set younger than its ``Cache-Control: max-age`` (300 s when the answer
  has none; ``no-cache``/``no-store`` count as 0; at most a day) is answered from memory;
- an unknown ``kid``, or a set past its max-age, makes the store fetch the set again, but never
  twice within ``min_refetch_interval`` seconds (whatever asks: a flood of made-up kids costs
  the issuer one request per interval), so a key added by a rotation is picked up at the first
  token it signed, unless the set was fetched less than ``min_refetch_interval`` ago; while
  one thread refetches a set past its max-age, the others find its known keys in it at once;
- a failed fetch keeps the last set (logged as a warning) and is retried after
  ``min_refetch_interval``; before any set was ever fetched, ``find`` raises KeysUnavailable;
- only signing keys (``use`` absent or ``sig``) of an asymmetric algorithm are kept, each with
  the one algorithm its JWK announces (see ``jose``); a set with none usable is a failed fetch;
- an https issuer's keys are fetched over https only (a ``jwks_uri`` over plain HTTP is a
  failed fetch: anyone on the path could swap the keys);
- a fetch (discovery document, then JWK Set) fails closed: an answer other than 200 JSON, a
  body over 512 KiB, JSON nested too deep, or an answer (status line, headers, body) still
  arriving when the sum of ``timeout`` (connect + read) has passed, is a failed fetch, so the
  requests waiting for it wait a bounded time (a peer sending one byte a second never reaches
  the read timeout).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Callable

from ..bounded_http import BoundedHTTP, FetchFailed
from ..logs import get_logger
from . import jose

logger = get_logger(__name__)

DEFAULT_MAX_AGE = 300.0
MAX_MAX_AGE = 86400.0
_MAX_KEYS = 100  # a JWK Set is a handful of keys; more is not one we trust whole
_MAX_BODY = 512 * 1024  # bytes: _MAX_KEYS RSA-4096 keys are about 150 KiB


@dataclass(frozen=True)
class PublicKey:
    kid: str
    alg: str
    key: Any       # a joserfc public key
    registry: Any  # a joserfc JWSRegistry allowing ``alg`` only


class KeysUnavailable(Exception):
    """No key set could be fetched yet (issuer or JWKS unreachable, or unusable)."""


class _FetchFailed(Exception):
    pass


def max_age(cache_control: str | None) -> float:
    """Seconds a JWK Set may be used, from its ``Cache-Control`` header."""
    directives = {}
    for part in (cache_control or '').split(','):
        name, _, value = part.strip().partition('=')
        directives[name.lower()] = value.strip().strip('"')
    if 'no-store' in directives or 'no-cache' in directives:
        return 0.0
    try:
        seconds = int(directives['max-age'])
    except (KeyError, ValueError):
        return DEFAULT_MAX_AGE
    return float(min(max(seconds, 0), MAX_MAX_AGE))  # clamped before a float: no overflow


class KeyStore:
    """See the module docstring. ``clock`` is monotonic (tests pass a controllable one)."""

    def __init__(self, *, issuer: str, jwks_url: str | None, http: BoundedHTTP,
                 timeout: Any, min_refetch_interval: float, clock: Callable[[], float]):
        self._jwk, self._jws, _ = jose.load()
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._http, self._timeout = http, timeout
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._keys: dict[str, PublicKey] | None = None
        self._fresh_until = 0.0
        self._last_attempt: float | None = None
        self._lock = threading.Lock()

    def find(self, kid: str) -> PublicKey | None:
        """The published key ``kid``, or None; raises KeysUnavailable."""
        keys, now = self._keys, self._clock()
        known = keys is not None and kid in keys
        if known and now < self._fresh_until:
            return keys[kid]
        # A known kid of a stale set does not wait for another thread's refetch (a slow
        # issuer would stall every request); an unknown one does: the refetch may bring it.
        self._refresh(now, wait=not known)
        if self._keys is None:
            raise KeysUnavailable()
        return self._keys.get(kid)

    def _refresh(self, now: float, wait: bool) -> None:
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._last_attempt is not None and now - self._last_attempt < self._min_interval:
                return  # fetched (or tried) a moment ago, maybe by another thread
            self._last_attempt = now
            try:
                keys, seconds = self._fetch()
            except _FetchFailed as failure:
                kept = 'keeping the last keys' if self._keys is not None else 'no keys yet'
                logger.warning('signing keys of %s unavailable (%s): %s', self._issuer,
                               failure, kept)
                return
            self._keys = keys
            self._fresh_until = now + max(seconds, self._min_interval)
        finally:
            self._lock.release()

    def _fetch(self) -> tuple[dict[str, PublicKey], float]:
        url = self._jwks_url or self._discover()
        document, cache_control = self._get(url)
        keys = self._parse(document)
        if not keys:
            raise _FetchFailed('no usable signing key in the JWK Set')
        return keys, max_age(cache_control)

    def _discover(self) -> str:
        """The ``jwks_uri`` of the issuer's discovery document (remembered once found)."""
        document, _ = self._get(self._issuer.rstrip('/') + '/.well-known/openid-configuration')
        if not isinstance(document, dict) or document.get('issuer') != self._issuer:
            raise _FetchFailed('the discovery document names another issuer')
        jwks_uri = document.get('jwks_uri')
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(('https://', 'http://')):
            raise _FetchFailed('the discovery document has no jwks_uri')
        if self._issuer.lower().startswith('https://') and not jwks_uri.startswith('https://'):
            raise _FetchFailed('the discovery document names keys over plain HTTP')
        self._jwks_url = jwks_uri
        return jwks_uri

    def _get(self, url: str) -> tuple[Any, str | None]:
        """The JSON document at ``url`` and its Cache-Control; see the module docstring."""
        try:
            reply = self._http.fetch('GET', url, timeout=self._timeout, max_bytes=_MAX_BODY)
        except FetchFailed as error:
            raise _FetchFailed(str(error)) from None
        if reply.status_code != 200:
            raise _FetchFailed(f'HTTP {reply.status_code}')
        try:
            return json.loads(reply.body), reply.headers.get('Cache-Control')
        except (ValueError, RecursionError):
            raise _FetchFailed('not JSON') from None

    def _parse(self, document: Any) -> dict[str, PublicKey]:
        entries = document.get('keys') if isinstance(document, dict) else None
        if not isinstance(entries, list) or len(entries) > _MAX_KEYS:
            raise _FetchFailed('not a JWK Set')
        keys = {}
        for entry in entries:
            key = self._usable(entry)
            if key is not None:
                keys[key.kid] = key
        return keys

    def _usable(self, entry: Any) -> PublicKey | None:
        if not isinstance(entry, dict) or entry.get('use', 'sig') != 'sig':
            return None
        kid, alg = entry.get('kid'), jose.algorithm_of(entry)
        if not isinstance(kid, str) or not kid or alg is None:
            return None
        try:
            key = self._jwk.import_key(entry)
        except Exception:  # noqa: BLE001 - a key joserfc cannot read is skipped, not fatal
            logger.warning('key %s of the JWK Set of %s is unreadable: skipped', kid,
                           self._issuer)
            return None
        return PublicKey(kid, alg, key, self._jws.JWSRegistry(algorithms=[alg]))
