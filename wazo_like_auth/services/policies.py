"""Policies (admin spec §3) and their direct links to users (§1.10).

A policy is addressed by uuid or by slug (``ref``). By uuid it is looked for in T = the scoping
tenant and its descendants; by slug in the scoping tenant only (the HTTP layer picks T). Either
way, config-managed policies and policies shared by an ancestor are visible too, read-only.
Every change that gives or takes access goes through the caller's ``Grants`` (§0.6).
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import slugs
from ..acl import MAX_ENTRIES
from ..exceptions import Conflict, ForbiddenPolicy, InvalidData, UnknownPolicy
from ..logs import get_logger
from ..models import Policy
from ..repositories import locks
from ..repositories import policies as policy_repo
from ..repositories import tenants as tenant_repo
from ..repositories.listing import paginate
from .concurrency import unique_violations_as
from .grants import Grants, client_me
from .listing import ListQuery, Page

logger = get_logger(__name__)

SORT_COLUMNS = ('name', 'slug', 'description', 'uuid')
FILTERS = ('uuid', 'name', 'slug', 'user_uuid', 'group_uuid', 'tenant_uuid', 'read_only')
USER_POLICY_SORT_COLUMNS = ('name', 'description', 'uuid')
USER_POLICY_FILTERS = ('uuid', 'name', 'group_uuid', 'tenant_uuid')
Ref = uuid.UUID | str
# Policy names are checked across tenants (a shared policy's name is unique below it, which
# no index can say) and slugs are derived from what is free: creates and renames take turns,
# or two could both pass the check (arbitrary, fixed: "wazopoln").
NAMES_LOCK = 0x7761_7a6f_706f_6c6e
SLUG_RE = re.compile(slugs.POLICY_SLUG_RE)


class PolicyService:
    def __init__(self, *, sessions: sessionmaker, default_policy: str | None = None):
        """``default_policy``: the name of the policy every token gets (default_user_policy)."""
        self._sessions = sessions
        self._default_policy = default_policy

    def create(self, scoping: uuid.UUID, body: dict[str, Any], grants: Grants) -> dict[str, Any]:
        """Create a policy in the scoping tenant; 401 for access the caller lacks, 409 on a
        name or slug clash (§3.3). The slug is derived from the name when not given."""
        acl = unique(body['acl'])
        grants.ensure_may_add(acl)
        name, shared = body['name'], body['shared']
        with unique_violations_as(_conflict(name)), self._sessions.begin() as db:
            # After a tenant's delete, not during it: that delete checks what its policies
            # give outside it, and would drop unchecked one made and linked meanwhile (a deny
            # entry lifted). Waiting, a create in that tenant then finds it gone (404).
            tenant_repo.lock_tree(db)
            locks.hold_for_transaction(db, NAMES_LOCK)
            _ensure_free(db, scoping, name=name, slug=body['slug'], shared=shared)
            slug = body['slug'] or slugs.derive(name, lambda s: policy_repo.clash(
                db, scoping, slug=s, shared=shared) is None)
            policy = Policy(uuid=uuid.uuid4(), tenant_uuid=scoping, name=name, slug=slug,
                            description=body['description'], acl=acl, shared=shared)
            db.add(policy)
            db.flush()
            logger.info('policy %s (%s) created in tenant %s', policy.uuid, slug, scoping)
            return item(policy_repo.stored(db, policy.uuid))

    def list(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], query: ListQuery, *,
             reach: Sequence[uuid.UUID]) -> Page:
        """The visible policies (§3.4); ``reach`` are the caller's visible tenants, the only
        ones whose users and groups the ``user_uuid``/``group_uuid`` filters may name."""
        with self._sessions() as db:
            view = policy_repo.viewpoint(db, scoping, tenants)
            shown_tenant, read_only, _ = (c.element for c in policy_repo.shown_from(view))
            columns = {**policy_repo.TEXT_COLUMNS, 'tenant_uuid': shown_tenant,
                       'read_only': read_only, **policy_repo.link_columns(reach)}
            total, filtered, rows = paginate(db, policy_repo.listing(view), query,
                                             columns=columns, searchable=('name', 'description'))
        return Page(total, filtered, [item(row) for row in rows])

    def get(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], ref: Ref) -> dict[str, Any]:
        with self._sessions() as db:
            return item(find_visible(db, policy_repo.viewpoint(db, scoping, tenants), ref))

    def update(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], ref: Ref,
               body: dict[str, Any], grants: Grants) -> dict[str, Any]:
        """Replace name, description and ACL (§3.6): the caller must hold every access of the
        new ACL and of each dropped entry (of every entry, when renaming the default policy);
        read-only policies answer 403."""
        acl = unique(body['acl'])
        grants.ensure_may_add(acl)
        with unique_violations_as(_conflict(body['name'])), self._sessions.begin() as db:
            # The names lock before the row, as start-up takes them (it updates the rows of
            # the default policies' slugs under the names lock): the other order deadlocked.
            locks.hold_for_transaction(db, NAMES_LOCK)
            row = _locked(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            dropped = [a for a in row.acl if a not in acl]
            grants.ensure_may_remove(dropped, remaining=acl)
            _ensure_clients_may_get(db, grants, row.uuid, acl, dropped=dropped, remaining=acl)
            _ensure_writable(row)
            if body['name'] != row.name and self._gives_everyone(db, row):
                grants.ensure_may_remove(row.acl)  # renamed, it is taken from every user
            _ensure_free(db, row.tenant_uuid, name=body['name'], shared=row.shared,
                         exclude=row.uuid)
            policy_repo.replace(db, row.uuid, name=body['name'],
                                description=body['description'], acl=acl)
            return item(policy_repo.stored(db, row.uuid))

    def _gives_everyone(self, db: Session, row: Any) -> bool:
        """Whether ``row`` is the default policy: every token gets it, by its name, unlinked
        (the top tenant's, as repositories.users.token_acl reads it)."""
        return row.name == self._default_policy \
            and row.tenant_uuid == tenant_repo.top_tenant_uuid(db)

    def delete(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], ref: Ref,
               grants: Grants) -> None:
        """Delete a writable policy whose every access the caller holds; its links go too."""
        with self._sessions.begin() as db:
            row = _locked(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            grants.ensure_may_remove(row.acl)
            _ensure_writable(row)
            policy_repo.delete_one(db, row.uuid)
        logger.info('policy %s deleted', row.uuid)

    def add_access(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], ref: Ref,
                   access: str, grants: Grants) -> None:
        """Append one access (§3.8); 409 when already there, 403 on a read-only policy. The
        policy's own negatives bound the new entry (``acl.refused_grant``)."""
        with self._sessions.begin() as db:
            row = _locked(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            grants.ensure_may_add([access], alongside=row.acl)
            _ensure_clients_may_get(db, grants, row.uuid, [access], alongside=row.acl)
            _ensure_writable(row)
            if len(row.acl) >= MAX_ENTRIES and access not in row.acl:
                raise InvalidData(f'A policy holds at most {MAX_ENTRIES} ACL entries',
                                  details={'acl': {'constraint_id': 'length',
                                                   'max': MAX_ENTRIES}})
            if not policy_repo.add_access(db, row.uuid, access):
                raise Conflict(f'Policy already associated to {access}',
                               details={'acl': {'constraint_id': 'unique', 'value': access}})

    def remove_access(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], ref: Ref,
                      access: str, grants: Grants) -> None:
        """Remove one access; removing an absent one is fine (204)."""
        with self._sessions.begin() as db:
            row = _locked(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            remaining = [a for a in row.acl if a != access]
            grants.ensure_may_remove([access], remaining=remaining)
            _ensure_clients_may_get(db, grants, row.uuid, [], dropped=[access],
                                    remaining=remaining)
            _ensure_writable(row)
            policy_repo.remove_access(db, row.uuid, access)

    def list_of_user(self, scoping: uuid.UUID, user_uuid: uuid.UUID, query: ListQuery, *,
                     reach: Sequence[uuid.UUID]) -> Page:
        """The policies attached directly to a user (group policies excluded) that the caller
        sees from ``scoping`` and ``reach`` (its visible tenants, §3.2), shown as stored: own
        tenant, read-only iff config-managed. A policy another tenant's administrator attached
        is neither listed nor counted (the caller cannot see it by uuid either). The
        ``group_uuid`` filter names only groups of the ``reach`` tenants."""
        columns = {**policy_repo.TEXT_COLUMNS, 'tenant_uuid': Policy.tenant_uuid,
                   'group_uuid': policy_repo.link_columns(reach)['group_uuid']}
        with self._sessions() as db:
            view = policy_repo.viewpoint(db, scoping, reach)
            base = policy_repo.of_user(user_uuid).where(policy_repo.visible(view))
            total, filtered, rows = paginate(db, base, query, columns=columns,
                                             searchable=('name', 'description'))
        return Page(total, filtered, [item(row) for row in rows])

    def attach_to_user(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID],
                       user_uuid: uuid.UUID, ref: Ref, grants: Grants) -> None:
        """Attach a visible policy to a user (idempotent); the caller must hold all its ACL."""
        # A user or policy deleted meanwhile fails the link's foreign key: answered as that
        # row's 404 (services/concurrency.py).
        with self._sessions.begin() as db:
            row = find_visible(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            grants.ensure_may_add(row.acl)
            policy_repo.link_user(db, user_uuid, row.uuid)

    def detach_from_user(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID],
                         user_uuid: uuid.UUID, ref: Ref, grants: Grants) -> None:
        """Detach a visible policy (not attached: fine); the caller must hold all its ACL."""
        with self._sessions.begin() as db:
            row = find_visible(db, policy_repo.viewpoint(db, scoping, tenants), ref)
            grants.ensure_may_remove(row.acl)
            policy_repo.unlink_user(db, user_uuid, row.uuid)


def item(row: Any) -> dict[str, Any]:
    """The policy object (§3.1) of a repository row."""
    return {'uuid': str(row.uuid), 'tenant_uuid': str(row.shown_tenant_uuid), 'name': row.name,
            'slug': row.slug, 'description': row.description, 'acl': list(row.acl),
            'read_only': bool(row.read_only), 'shared': bool(row.shown_shared)}


def unique(acl: Iterable[str]) -> list[str]:
    """A policy's ACL is a set kept in insertion order: later duplicates are dropped."""
    return list(dict.fromkeys(acl))


def ref_details(ref: Ref) -> dict[str, str]:
    return {'uuid': str(ref)} if isinstance(ref, uuid.UUID) else {'slug': ref}


def find_visible(db: Session, view: policy_repo.Viewpoint, ref: Ref) -> Any:
    """The visible policy ``ref``; raises UnknownPolicy (404)."""
    # A segment that cannot be a slug (NUL included, which PostgreSQL refuses) matches nothing.
    possible = isinstance(ref, uuid.UUID) or (len(ref) <= 80 and SLUG_RE.match(ref))
    row = policy_repo.find(db, view, ref) if possible else None
    if row is None:
        raise UnknownPolicy(f'No such policy: "{ref}"', details=ref_details(ref))
    return row


def _locked(db: Session, view: policy_repo.Viewpoint, ref: Ref) -> Any:
    """``find_visible``, the row locked until the transaction ends and read once locked.

    Every edit checks the caller's grants against the ACL it reads: unlocked, two concurrent
    edits would each pass against the ACL the other is changing (two removals, each leaving
    the deny entry the other removes, would lift both)."""
    row = find_visible(db, view, ref)
    policy_repo.lock(db, row.uuid)
    return find_visible(db, view, row.uuid)


def _ensure_clients_may_get(db: Session, grants: Grants, policy_uuid: uuid.UUID,
                            granted: Sequence[str], *, alongside: Sequence[str] = (),
                            dropped: Sequence[str] = (), remaining: Sequence[str] = ()) -> None:
    """The grant of a policy change once more for each OAuth client holding the policy: a
    client's ``me`` is its client_id (grants.client_me), a name its creator chose, which the
    caller's own ``me`` does not hold. Only entries with a ``me`` word read differently."""
    if not any('me' in a.lstrip('!').split('.') for a in [*granted, *dropped]):
        return
    for client_id in policy_repo.client_ids_of(db, policy_uuid):
        grantee = client_me(client_id)
        grants.ensure_may_add(granted, alongside, grantee=grantee)
        grants.ensure_may_remove(dropped, remaining, grantee=grantee)


def _ensure_writable(row: Any) -> None:
    if row.read_only:
        raise ForbiddenPolicy(f'Forbidden policy modification: "{row.uuid}"',
                              details={'uuid': str(row.uuid)})


def _ensure_free(db: Session, tenant: uuid.UUID, *, name: str, slug: str | None = None,
                 shared: bool = False, exclude: uuid.UUID | None = None) -> None:
    other = policy_repo.clash(db, tenant, name=name, slug=slug, shared=shared, exclude=exclude)
    if other is not None:
        field = 'name' if other.name == name else 'slug'
        raise _conflict(name, field)


def _conflict(name: str, field: str = 'name') -> Conflict:
    message = f'Policy "{name}" already exists'
    return Conflict(message, details={field: {'constraint_id': 'unique', 'message': message}})

