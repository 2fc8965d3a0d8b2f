"""Groups (admin spec §4): CRUD, members (§4.5), policies (§4.6), and a user's groups (§1.11).

A group is visible when it belongs to one of the tenants the HTTP layer passes (the scoping
tenant, and its descendants where the spec says so); any other group is answered 404 exactly
like an unknown one. Read-only (system-managed) groups — each tenant's all-users group — keep
their name and members, but their policies can change.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import slugs
from ..exceptions import Conflict, ForbiddenGroup, MismatchingTenant, UnknownGroup, UnknownUser
from ..logs import get_logger
from ..models import Group
from ..repositories import groups as group_repo
from ..repositories import locks
from ..repositories import policies as policy_repo
from ..repositories import users as user_repo
from ..repositories import user_listing
from ..repositories.listing import paginate
from . import policies, user_views
from .concurrency import unique_violations_as
from .grants import Grants, Shown
from .listing import ListQuery, Page

logger = get_logger(__name__)

SORT_COLUMNS = ('name', 'uuid', 'slug')
FILTERS = ('uuid', 'name', 'slug', 'user_uuid', 'read_only', 'policy_uuid', 'policy_slug')
USER_GROUP_SORT_COLUMNS = ('name', 'uuid')
USER_GROUP_FILTERS = ('uuid', 'name')
MEMBER_SORT_COLUMNS = ('username',)
MEMBER_FILTERS = ('uuid', 'username', 'firstname', 'lastname', 'purpose', 'email_address')
POLICY_SORT_COLUMNS = ('name', 'description', 'uuid')
POLICY_FILTERS = ('uuid', 'name', 'user_uuid', 'tenant_uuid')


class GroupService:
    def __init__(self, *, sessions: sessionmaker):
        self._sessions = sessions

    def create(self, scoping: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        """Create a group in the scoping tenant; 409 on a name or slug clash there (§4.2)."""
        name = body['name']
        with unique_violations_as(_conflict(name)), self._sessions.begin() as db:
            # Creates in one tenant take turns: two names deriving the same slug ('ops!',
            # 'ops?') both found it free, and the second was refused as a taken name.
            locks.hold_keyed_for_transaction(db, locks.TENANT_GROUPS, str(scoping))
            _ensure_free(db, scoping, name=name, slug=body['slug'])
            slug = body['slug'] or slugs.derive(
                name, lambda s: group_repo.slug_free(db, scoping, s))
            group = Group(uuid=uuid.uuid4(), tenant_uuid=scoping, name=name, slug=slug,
                          system_managed=False)
            db.add(group)
            db.flush()
            logger.info('group %s (%s) created in tenant %s', group.uuid, slug, scoping)
            return item(group)

    def list(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID], query: ListQuery, *,
             reach: Sequence[uuid.UUID]) -> Page:
        """The groups of ``tenants`` (§4.3); the policy filters name only policies visible
        from the caller's ``scoping`` tenant and ``reach`` (its visible tenants, §3.2)."""
        with self._sessions() as db:
            columns = group_repo.LIST_COLUMNS
            if query.filters.keys() & group_repo.POLICY_FILTERS:  # else no viewpoint to read
                visible = policy_repo.visible(policy_repo.viewpoint(db, scoping, reach))
                columns = {**columns, **group_repo.policy_columns(visible)}
            total, filtered, rows = paginate(db, group_repo.listing(tenants), query,
                                             columns=columns, searchable=('name',))
        return Page(total, filtered, [item(row) for row in rows])

    def get(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID) -> dict[str, Any]:
        with self._sessions() as db:
            return item(_visible(db, tenants, group_uuid))

    def rename(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
               body: dict[str, Any]) -> dict[str, Any]:
        """PUT: the name is the only writable field (§4.4); read-only groups answer 403."""
        with unique_violations_as(_conflict(body['name'])), self._sessions.begin() as db:
            group = _writable(_visible(db, tenants, group_uuid))
            _ensure_free(db, group.tenant_uuid, name=body['name'], exclude=group.uuid)
            group_repo.rename(db, group.uuid, body['name'])
            return item(_visible(db, tenants, group_uuid))

    def delete(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
               grants: Grants) -> None:
        """Delete a writable group: detaching its policies from its members, the caller must
        be allowed to remove every entry they give (deny entries included)."""
        with self._sessions.begin() as db:
            # Locked first: two deletes (or a tenant's) took the group's policy links in
            # turn and deadlocked; now the second waits, then finds no group (404).
            group = _writable(_visible(db, tenants, group_uuid, for_update=True))
            grants.ensure_may_remove(group_repo.acl_of(db, group.uuid),
                                     shown=_shown(db, group.uuid, tenants))
            group_repo.delete_one(db, group.uuid)
        logger.info('group %s deleted', group_uuid)

    def list_members(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
                     query: ListQuery) -> Page:
        with self._sessions() as db:
            _visible(db, tenants, group_uuid)
            total, filtered, rows = paginate(
                db, group_repo.members(group_uuid), query, columns=user_listing.LIST_COLUMNS,
                searchable=user_listing.LIST_SEARCHABLE)
            users = [row[0] for row in rows]
            emails = user_repo.emails_of(db, [user.uuid for user in users])
        return Page(total, filtered, [user_views.user_view(u, emails[u.uuid]) for u in users])

    def add_member(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
                   user_uuid: uuid.UUID, grants: Grants) -> None:
        """Add a user (already checked visible) to a writable group of its own tenant; the
        caller must be allowed to hand out every entry the group's policies give, as when
        attaching them to the user (§0.6)."""
        # A user or group deleted meanwhile fails the membership's foreign key: answered as
        # that row's 404 (services/concurrency.py).
        with self._sessions.begin() as db:
            group = _visible(db, tenants, group_uuid)
            user = user_repo.get(db, user_uuid)
            if user is None:
                raise UnknownUser(details={'uuid': str(user_uuid)})
            if user.tenant_uuid != group.tenant_uuid:
                raise MismatchingTenant(details={
                    'user_tenant_uuid': str(user.tenant_uuid),
                    'group_tenant_uuid': str(group.tenant_uuid)})
            grants.ensure_may_add(group_repo.acl_of(db, _writable(group).uuid),
                                  shown=_shown(db, group.uuid, tenants))
            group_repo.add_member(db, group.uuid, user_uuid)

    def remove_member(self, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
                      user_uuid: uuid.UUID, grants: Grants) -> None:
        """Remove a member; a non-member is fine, an unknown user is 404 (§4.5), and so is a
        user outside ``tenants`` (wazo-auth does not check its tenant: the 204 would tell that
        it exists). Removing a member detaches the group's policies from it: the caller must
        be allowed to remove every entry they give (a deny entry hands access back)."""
        with self._sessions.begin() as db:
            group = _writable(_visible(db, tenants, group_uuid, for_update=True))
            removed = group_repo.remove_member(db, group.uuid, user_uuid)
            if removed:
                grants.ensure_may_remove(group_repo.acl_of(db, group.uuid),
                                         shown=_shown(db, group.uuid, tenants))
            if not removed and not _user_in(db, tenants, user_uuid):
                raise UnknownUser(details={'uuid': str(user_uuid)})

    def list_policies(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID],
                      group_uuid: uuid.UUID, query: ListQuery) -> Page:
        """The group's policies visible from ``tenants``, shown relative to them (§4.6)."""
        with self._sessions() as db:
            _visible(db, tenants, group_uuid)
            view = policy_repo.viewpoint(db, scoping, tenants)
            shown_tenant = policy_repo.shown_from(view)[0].element
            base = policy_repo.of_group(view, group_uuid)
            columns = {**policy_repo.TEXT_COLUMNS, 'tenant_uuid': shown_tenant,
                       'user_uuid': policy_repo.link_columns(tenants)['user_uuid']}
            total, filtered, rows = paginate(db, base, query, columns=columns,
                                             searchable=('name', 'description'))
        return Page(total, filtered, [policies.item(row) for row in rows])

    def attach_policy(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID],
                      policy_tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
                      ref: policies.Ref, grants: Grants) -> None:
        """Attach a visible policy (idempotent, read-only groups too); the caller must hold
        all its ACL. ``policy_tenants`` is T for the policy lookup."""
        with self._sessions.begin() as db:
            group = _visible(db, tenants, group_uuid)
            view = policy_repo.viewpoint(db, scoping, policy_tenants)
            policy = policies.find_visible(db, view, ref)
            grants.ensure_may_add(policy.acl)
            policy_repo.link_group(db, group.uuid, policy.uuid)

    def detach_policy(self, scoping: uuid.UUID, tenants: Sequence[uuid.UUID],
                      policy_tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID,
                      ref: policies.Ref, grants: Grants) -> None:
        """Detach a visible policy (not attached: fine); the caller must hold all its ACL."""
        with self._sessions.begin() as db:
            group = _visible(db, tenants, group_uuid)
            view = policy_repo.viewpoint(db, scoping, policy_tenants)
            policy = policies.find_visible(db, view, ref)
            grants.ensure_may_remove(policy.acl)
            policy_repo.unlink_group(db, group.uuid, policy.uuid)

    def list_of_user(self, user_uuid: uuid.UUID, query: ListQuery) -> Page:
        """Every group of a (visible) user, whatever the group's tenant (§1.11)."""
        with self._sessions() as db:
            total, filtered, rows = paginate(db, group_repo.of_user(user_uuid), query,
                                             columns=group_repo.LIST_COLUMNS, searchable=('name',))
        return Page(total, filtered, [item(row) for row in rows])


def item(row: Any) -> dict[str, Any]:
    """The group object (§4.1); ``system_managed`` is the deprecated name of ``read_only``."""
    return {'uuid': str(row.uuid), 'tenant_uuid': str(row.tenant_uuid), 'name': row.name,
            'slug': row.slug, 'read_only': row.system_managed,
            'system_managed': row.system_managed}


def _visible(db: Session, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID, *,
             for_update: bool = False) -> Any:
    row = group_repo.find(db, tenants, group_uuid, for_update=for_update)
    if row is None:
        raise UnknownGroup(f'No such group: "{group_uuid}"', details={'uuid': str(group_uuid)})
    return row


def _user_in(db: Session, tenants: Sequence[uuid.UUID], user_uuid: uuid.UUID) -> bool:
    user = user_repo.get(db, user_uuid)
    return user is not None and user.tenant_uuid in tenants


def _writable(group: Any) -> Any:
    if group.system_managed:
        raise ForbiddenGroup(f'Forbidden group modification: "{group.uuid}"',
                             details={'uuid': str(group.uuid)})
    return group


def _ensure_free(db: Session, tenant: uuid.UUID, *, name: str, slug: str | None = None,
                 exclude: uuid.UUID | None = None) -> None:
    other = group_repo.clash(db, tenant, name=name, slug=slug, exclude=exclude)
    if other is not None:
        raise _conflict(name, 'name' if other.name == name else 'slug')


def _conflict(name: str, field: str = 'name') -> Conflict:
    message = f'Group "{name}" already exists'
    return Conflict(message, details={field: {'constraint_id': 'unique', 'message': message}})


def _shown(db, group_uuid: uuid.UUID, tenants: Sequence[uuid.UUID]) -> Shown:
    """What a refusal may name of the group's entries: those of policies the caller sees."""
    return lambda: group_repo.acl_shown(db, group_uuid, tenants)
