"""Token checks: the hot path of the product (HEAD/GET /token/{t}, scopes/check, and the
in-process check of protected endpoints).

A token found in the per-process validation cache costs no query and no ACL compilation;
otherwise one indexed lookup by token digest on a plain Core connection, whose result (with its
ACL compiled) joins the cache. Expiry is checked on every call. The tenant check costs one more
query, only when asked.
"""
from __future__ import annotations

import unicodedata
import uuid
from typing import Any

from sqlalchemy import Engine

from .. import tokens
from ..clock import Clock, utc_now
from ..acl import AccessCheckCache, Budget, one_segment
from ..exceptions import ForbiddenScope, TokenNotFound, UnknownUser
from ..repositories import tenants as tenant_repo
from ..repositories import tokens as token_repo
from ..repositories import users as user_repo
from .throttle import CheckGuard
from .validation_cache import ValidationCache


class CheckedToken:
    """A token row with its ACL compiled: what the validation cache keeps, so a cached check
    costs no database query and no ACL compilation.

    Thousands are kept per process, so they share what tokens have in common: the compiled
    ACL and the ACL tuple (one per distinct ACL, from the AccessCheckCache), the user's uuid
    wherever it repeats the auth_id, and values common to many tokens (``ValuePool``)."""

    __slots__ = ('auth_id', 'session_uuid', 'session', 'acl', 'access', 'me', 'my_session',
                 'expires_at', 'issued_at', 'pbx_user_uuid', 'xivo_uuid', 'metadata',
                 'user_agent', 'remote_addr', 'check_body_tail')

    def __init__(self, row: Any, access_checks: AccessCheckCache, pool: ValuePool):
        self.auth_id = auth_id = row.auth_id
        self.session_uuid = row.session_uuid
        self.session = str(row.session_uuid)  # the form ``my_session`` matches
        self.access = access_checks.get(row.acl)
        self.acl = self.access.acl
        # What the ACL's `me` and `my_session` stand for, vetted once (acl.one_segment).
        self.me, self.my_session = one_segment(auth_id), one_segment(self.session)
        self.expires_at, self.issued_at = row.expires_at, row.issued_at
        self.pbx_user_uuid = auth_id if row.pbx_user_uuid == auth_id else row.pbx_user_uuid
        self.xivo_uuid = pool.share(row.xivo_uuid)
        self.user_agent = pool.share(row.user_agent)
        self.remote_addr = pool.share(row.remote_addr)
        metadata = row.metadata
        if isinstance(metadata, dict):
            metadata = {pool.share(key): auth_id if value == auth_id else pool.share(value)
                        for key, value in metadata.items()}
        self.metadata = metadata
        # The GET check's body after the token value, serialised by the HTTP layer at the first
        # GET of this token (http/tokens.check_body): no secret in it, nothing for HEAD-only.
        self.check_body_tail: bytes | None = None


class ValuePool:
    """Equal strings of many cached tokens (their server's uuid, a tenant, a user agent, the
    metadata keys) kept once: ``share`` returns the pooled equal string. Bounded in count and
    size: emptied when full, which costs only sharing; long strings and other values are
    returned as they are."""

    def __init__(self, max_size: int = 4096, max_length: int = 256):
        self._max_size, self._max_length = max_size, max_length
        self._values: dict[str, str] = {}

    def share(self, value: Any) -> Any:
        if type(value) is not str or len(value) > self._max_length:
            return value
        if len(self._values) >= self._max_size:
            self._values = {}
        return self._values.setdefault(value, value)


class TokenChecker:
    def __init__(self, *, engine: Engine, access_checks: AccessCheckCache,
                 cache: ValidationCache, guard: CheckGuard, clock: Clock = utc_now):
        self._engine = engine
        self._clock = clock
        self._access_checks = access_checks
        self._pool = ValuePool()
        self._cache = cache
        self._guard = guard

    def find(self, token: str, client: str = '') -> tuple[str, Any]:
        """The canonical value and row of a live token; TokenNotFound when unknown or expired.

        Expiry is checked on every call, cached or not. ``client`` (the caller's address)
        is throttled with TooManyAttempts when it keeps asking for unknown tokens.
        """
        self._guard.refuse_if_scanning(client)
        try:
            return self._find(token)
        except TokenNotFound:
            self._guard.not_found(client)
            raise

    def _find(self, token: str) -> tuple[str, Any]:
        value = tokens.normalize(token)
        if value is None:
            raise TokenNotFound()
        digest = tokens.token_digest(value)
        row = self._cache.get(digest) if self._cache.enabled else None
        if row is None:
            generation = self._cache.generation
            with self._engine.connect() as conn:
                found = token_repo.find_by_digest(conn, digest)
            if found is not None:
                row = CheckedToken(found, self._access_checks, self._pool)
                self._cache.put(digest, row, generation)
        if not self._live(row):
            raise TokenNotFound()
        return value, row

    def peek(self, token: str, scope: str | None, client: str = '') -> tuple[str, Any] | None:
        """What ``check(token, scope)`` would return, answered from the cache alone; None
        whenever only the full check can answer (not cached, expired, scope refused or asked
        of a costly ACL, client throttled, cache off). No side effect: a None is followed by
        the full check, which does the counting."""
        if not self._cache.enabled or self._guard.refusing(client):
            return None
        value = tokens.normalize(token)
        if value is None:
            return None
        # Counted only when answered from here: a None is followed by the full check,
        # which finds the row again and counts that hit (one check, one hit).
        row = self._cache.get(tokens.token_digest(value), count=False)
        if not self._live(row) or (scope is not None and row.access.costly) \
                or not self.allows(row, scope):
            # A costly ACL's scope is matched once, by the full check: a refusal here would
            # have it spend its budget of steps twice.
            return None
        self._cache.hit()
        return value, row

    def _live(self, row: CheckedToken | None) -> bool:
        return row is not None and row.expires_at > self._clock()

    @staticmethod
    def allows(row: CheckedToken, scope: str | None, budget: Budget | None = None) -> bool:
        return row.access.matches_words(scope, row.me, row.my_session, budget)

    def check(self, token: str, scope: str | None = None, tenant: str | None = None,
              client: str = '') -> tuple[str, Any]:
        """Check a token for an optional scope and tenant (wazo-token-api §2.2).

        Raises TokenNotFound (404), ForbiddenScope (403), UnknownUser (404) or
        TooManyAttempts (429, for a client scanning for tokens).
        """
        value, row = self.find(token, client)
        if not self.allows(row, scope):
            raise ForbiddenScope(f'Unauthorized for {_ascii(scope)}')
        if tenant:
            self.check_tenant(row, tenant)
        return value, row

    def check_scopes(self, token: str, scopes: list[str], tenant: str | None = None,
                     client: str = '') -> dict[str, bool]:
        _, row = self.find(token, client)
        if tenant:
            self.check_tenant(row, tenant)
        budget = Budget()  # the request's steps on risky patterns (acl/linear.py)
        return {scope: self.allows(row, scope, budget) for scope in scopes}

    def check_tenant(self, row: Any, tenant: str) -> None:
        """The tenant must be the token owner's tenant or a descendant, else ForbiddenScope."""
        tenant_uuid = _as_uuid(tenant)
        if tenant_uuid is None:
            raise ForbiddenScope(f'Unauthorized for tenant {_ascii(tenant)}')
        with self._engine.connect() as conn:
            owner_tenant = self._owner_tenant(conn, row)
            if not tenant_repo.is_subtenant(conn, tenant_uuid, owner_tenant):
                raise ForbiddenScope(f'Unauthorized for tenant {tenant_uuid}')

    @staticmethod
    def _owner_tenant(conn, row: Any) -> uuid.UUID:
        user_uuid = _as_uuid(row.auth_id)
        if user_uuid is None:  # a token not owned by a user carries its tenant
            owner = _as_uuid((row.metadata or {}).get('tenant_uuid') or '')
            if owner is None:
                raise ForbiddenScope('Unauthorized for tenant')
            return owner
        owner = user_repo.tenant_of(conn, user_uuid)
        if owner is None:
            raise UnknownUser(details={'uuid': str(user_uuid)})
        return owner


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _ascii(value: str) -> str:
    """Messages stay ASCII: what a client sent is transliterated, never echoed raw."""
    return unicodedata.normalize('NFKD', value).encode('ascii', 'ignore').decode('ascii')
