"""The anti-escalation guard (admin spec §0.6): nobody hands out access they do not hold.

Every path that puts access into a policy, or a policy onto a user or group (policy create,
update, ``acl/{access}``, user↔policy and group↔policy links) checks each access with
``ensure_may_add``; every path that takes access away checks ``ensure_may_remove``. Without it,
an administrator holding ``auth.policies.#`` could write ``#`` into a policy and attach it to
themselves.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import tokens
from ..acl import AccessCheck
from ..exceptions import Unauthorized


class Grants:
    """What the caller of one request may give and take away, from its token's ACL."""

    def __init__(self, token: str, acl: Iterable[str], auth_id: str | None = None,
                 session_uuid: str | None = None):
        self._token = token
        self._check = AccessCheck(list(acl), auth_id, session_uuid)

    @classmethod
    def of(cls, auth: Any) -> Grants:
        """The grants of an AuthContext (the caller of a protected endpoint)."""
        row = auth.row
        return cls(auth.token, row.acl, row.auth_id, str(row.session_uuid))

    def may_add(self, access: str) -> bool:
        # A negative entry only ever takes access away, so anyone may add one. A positive entry
        # is matched as a literal string: adding `confd.#` needs a pattern covering the text
        # `confd.#` (`#` or `confd.#`), not merely some `confd.x`.
        return access.startswith('!') or self._check.matches(access)

    def may_remove(self, access: str) -> bool:
        # Removing `!x` grants `x` back, so it needs `x`; a token denied `x` can never lift it.
        return self._check.matches(access[1:] if access.startswith('!') else access)

    def ensure_may_add(self, accesses: Iterable[str]) -> None:
        """Raises Unauthorized (401) naming the first access the caller may not add."""
        for access in accesses:
            if not self.may_add(access):
                raise self._refused(access)

    def ensure_may_remove(self, accesses: Iterable[str]) -> None:
        """Raises Unauthorized (401) naming the first access the caller may not remove."""
        for access in accesses:
            if not self.may_remove(access):
                raise self._refused(access)

    def _refused(self, access: str) -> Unauthorized:
        return Unauthorized(details={'invalid_token': tokens.redact(self._token),
                                     'required_access': access})
