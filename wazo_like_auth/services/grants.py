"""The anti-escalation guard (admin spec §0.6): nobody hands out access they do not hold.

Every path that puts access into a policy or a client, or a policy onto a user or group, or a
user into a group (policy create, update, ``acl/{access}``, client create and update,
user↔policy, group↔policy and group↔user links) checks the entries it gives with
``ensure_may_add``; every path that takes access away (the same, reversed, and group deletion)
checks ``ensure_may_remove``. Without it, an administrator holding ``auth.policies.#`` could
write ``#`` into a policy and attach it to themselves. The rule itself is ``acl.refused_grant``.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from .. import tokens
from ..acl import AccessCheck, Budget, one_segment, refused_grant
from ..exceptions import Unauthorized
from ..repositories import users as user_repo


class Grants:
    """What the caller of one request may give and take away, from its token's ACL."""

    def __init__(self, token: str, acl: Iterable[str], auth_id: str | None = None,
                 session_uuid: str | None = None, compiled: AccessCheck | None = None):
        """``compiled``: the ACL's compiled form when the caller has it (a cached token's)."""
        self._token = token
        self._acl = list(acl)
        self._auth_id = auth_id
        self._session_uuid = session_uuid
        self._check = compiled or AccessCheck(self._acl)
        # The request's steps on risky patterns (acl/linear.py): a policy of 4096 entries
        # checked against an ACL of thousands of such patterns stays one bounded request.
        self._budget = Budget()

    @classmethod
    def of(cls, auth: Any) -> Grants:
        """The grants of an AuthContext (the caller of a protected endpoint)."""
        row = auth.row
        return cls(auth.token, row.acl, row.auth_id, row.session, compiled=row.access)

    def holds_beyond_me(self, access: str) -> bool:
        """True iff the ACL grants ``access`` without its ``me``/``my_session`` words: the
        caller holds it for other users' resources, not only as a self-service right."""
        return self._check.matches(access, budget=self._budget)

    def ensure_may_add(self, accesses: Iterable[str], alongside: Iterable[str] = (), *,
                       shown: Shown | None = None, grantee: str | None = None) -> None:
        """Raises Unauthorized (401) naming the first entry of ``accesses`` (given together,
        as one grant) the caller may not hand out; the negatives of ``alongside`` (the rest of
        the policy they join) bound them too (``acl.refused_grant``). ``shown``: the entries
        the caller may read (those of the policies it sees), asked for on a refusal only; an
        entry not among them is refused without being named. ``grantee``: a client's ``me``
        (``client_me``), when the grant goes to one."""
        refused = refused_grant(self._acl, list(accesses), carried=list(alongside),
                                auth_id=self._auth_id, session_uuid=self._session_uuid,
                                compiled=self._check, budget=self._budget, grantee=grantee)
        if refused is not None:
            raise self._refused(refused, shown)

    def ensure_may_remove(self, accesses: Iterable[str], remaining: Iterable[str] = (), *,
                          shown: Shown | None = None, grantee: str | None = None) -> None:
        """Raises Unauthorized (401) naming the first access the caller may not remove.

        A positive entry must be held (literally, as for adding it). Removing ``!x`` hands
        ``x`` back, so ``x`` must be one the caller may hand out, bounded by the negatives of
        ``remaining`` (what stays in the same policy or grant)."""
        remaining = list(remaining)
        for access in accesses:
            if access.startswith('!'):
                allowed = refused_grant(self._acl, [access[1:]], carried=remaining,
                                        auth_id=self._auth_id, session_uuid=self._session_uuid,
                                        compiled=self._check, budget=self._budget,
                                        grantee=grantee) is None
            else:
                allowed = self._check.matches(access, self._auth_id, self._session_uuid,
                                              self._budget)
            if not allowed:
                raise self._refused(access, shown)

    def _refused(self, access: str, shown: Shown | None = None) -> Unauthorized:
        if shown is not None and access not in shown():
            # An entry of a policy the caller cannot see (a parent tenant's, attached to a
            # group of the caller's): refused all the same, without telling what it is.
            return Unauthorized(details={'invalid_token': tokens.redact(self._token),
                                         'reason': 'policy_not_visible'})
        return Unauthorized(details={'invalid_token': tokens.redact(self._token),
                                     'required_access': access})


def client_me(client_id: str) -> str:
    """What ``me`` stands for in a client's own tokens (acl/matching.py): its client_id when
    one segment, else only the word ``me``. A name its creator chose, unlike a user's uuid:
    a grant to a client is checked with it (``refused_grant``'s ``grantee``)."""
    return one_segment(client_id) or 'me'


# The entries a caller may read, computed only when a refusal would name one.
Shown = Callable[[], Collection[str]]


def ensure_may_become(ensure_may_add: Callable[..., None], db: Any, user_uuid: uuid.UUID,
                      tenants: Sequence[uuid.UUID]) -> None:
    """Handing a caller another user (setting its password, adding or confirming an address
    that receives its resets, enabling it again) is a grant of everything that user holds:
    its own and its groups' policies (the default policy is everyone's). ``ensure_may_add``:
    the caller's ``Grants.ensure_may_add``; ``tenants``: those the caller sees (a refusal
    names only an entry of a policy of theirs, or shared)."""
    ensure_may_add(user_repo.token_acl(db, user_uuid, None),
                   shown=lambda: user_repo.acl_shown(db, user_uuid, tenants))
