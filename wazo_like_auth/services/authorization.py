"""Who is calling a protected endpoint, and in which tenant (wazo-token-api §0.4)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from .. import tokens
from ..exceptions import TokenNotFound, Unauthorized, UnauthorizedTenant, UnknownUser
from ..repositories import tenants as tenant_repo
from ..repositories import users as user_repo
from .validation import TokenChecker


@dataclass(frozen=True)
class AuthContext:
    """The caller of a protected endpoint: its token, its scoping tenant and the tenants it
    sees, all resolved by Authorizer.authorize in one read (a plain value: no database
    access of its own, so what a service acts on is what was checked)."""
    token: str
    row: Any
    tenant_uuid: uuid.UUID
    tenants: tuple[uuid.UUID, ...]  # the scoping tenant and every tenant below it
    # The user named by the request path ({user_uuid}) and its tenant (None: no such user).
    subject: tuple[uuid.UUID, uuid.UUID | None] | None = field(default=None, repr=False)

    @property
    def user_uuid(self) -> uuid.UUID | None:
        return _as_uuid((self.row.metadata or {}).get('uuid'))

    @property
    def session_uuid(self) -> uuid.UUID:
        return self.row.session_uuid

    def visible_tenants(self, recurse: bool = True) -> list[uuid.UUID]:
        """The scoping tenant, and with ``recurse`` every tenant below it."""
        return list(self.tenants) if recurse else [self.tenant_uuid]

    def user_scope(self, user_uuid: uuid.UUID) -> list[uuid.UUID]:
        """The visible tenants, provided ``user_uuid`` (the request path's user) is a user in
        one of them.

        Raises UnknownUser (404) otherwise, so a caller cannot probe other tenants' users.
        """
        if self.subject is None or self.subject[0] != user_uuid:
            raise LookupError(f'{user_uuid} is not the user of the request path')
        tenants = self.visible_tenants()
        if self.subject[1] is None or self.subject[1] not in tenants:
            raise UnknownUser(details={'uuid': str(user_uuid)})
        return tenants


class Authorizer:
    def __init__(self, *, engine: Engine, checker: TokenChecker):
        self._engine = engine
        self._checker = checker

    def authorize(self, token: str, required: str, tenant_header: str | None,
                  client: str = '', subject: uuid.UUID | None = None,
                  before_tenant: Callable[[], object] | None = None) -> AuthContext:
        """Check ``token`` for the ``required`` ACL, run ``before_tenant`` if given (it may
        raise: a body refused before the tenant is looked at), then resolve the scoping tenant,
        the tenants below it and the tenant of ``subject`` (the request path's user), together.

        Raises Unauthorized (401) for a missing/unknown/expired token or a missing ACL, and
        UnauthorizedTenant (401) for a Wazo-Tenant outside the caller's tenant tree.
        """
        try:
            value, row = self._checker.find(token, client)
        except TokenNotFound:
            raise Unauthorized(details={'invalid_token': _shown(token),
                                        'required_access': required,
                                        'reason': 'not_found_or_expired'}) from None
        if not self._checker.allows(row, required):
            raise Unauthorized(details={'invalid_token': _shown(token),
                                        'required_access': required,
                                        'reason': 'missing_permission_or_invalid_tenant',
                                        'tenant_uuid': tenant_header})
        if before_tenant is not None:
            before_tenant()
        with self._engine.connect() as conn:
            tenant = self._scoping_tenant(conn, row, tenant_header)
            tenants = tuple(tenant_repo.descendants(conn, tenant))
            subject_tenant = user_repo.tenant_of(conn, subject) if subject else None
        return AuthContext(token=value, row=row, tenant_uuid=tenant, tenants=tenants,
                           subject=(subject, subject_tenant) if subject else None)

    @staticmethod
    def _scoping_tenant(conn, row: Any, header: str | None) -> uuid.UUID:
        metadata = row.metadata or {}
        own = None
        user_uuid = _as_uuid(metadata.get('uuid'))
        if user_uuid is not None:
            own = user_repo.tenant_of(conn, user_uuid)
        own = own or _as_uuid(metadata.get('tenant_uuid'))
        if not header:
            if own is None:
                raise UnauthorizedTenant(details={'tenant_uuid': None})
            return own
        wanted = _as_uuid(header)
        if wanted is None or own is None or not tenant_repo.is_subtenant(conn, wanted, own):
            raise UnauthorizedTenant(details={'tenant_uuid': header})
        return wanted


def _shown(token: str) -> str:
    """The token as a 401 body names it: redacted, as in the logs. wazo-auth echoes it whole,
    but clients log error bodies, and the token may be a valid one lacking an ACL."""
    return tokens.redact(token) if token else ''


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
