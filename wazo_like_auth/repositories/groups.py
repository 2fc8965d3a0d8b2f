"""Group queries: groups of tenants, memberships, and the all-users groups (admin spec §4.7)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (ColumnElement, Select, String, cast, delete, func, literal, or_,
                        select, update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..models import Group, GroupPolicy, Policy, Tenant, User, UserGroup
from . import policies as policy_repo
from .listing import Condition

FIELDS = (Group.uuid, Group.tenant_uuid, Group.name, Group.slug, Group.system_managed)
ALL_USERS_PREFIX = 'wazo-all-users-tenant-'


def listing(tenants: Sequence[uuid.UUID]) -> Select:
    return select(*FIELDS).where(Group.tenant_uuid.in_(tenants))


def of_user(user_uuid: uuid.UUID) -> Select:
    """Every group the user is a member of, whatever its tenant."""
    return (select(*FIELDS).join(UserGroup, UserGroup.group_uuid == Group.uuid)
            .where(UserGroup.user_uuid == user_uuid))


def find(db: Session, tenants: Sequence[uuid.UUID], group_uuid: uuid.UUID, *,
         for_update: bool = False) -> Any:
    """The group if it belongs to one of ``tenants``, else None; ``for_update`` locks its
    row first (then reads it again: a group deleted meanwhile is None)."""
    if for_update and db.scalars(select(Group.uuid).where(Group.uuid == group_uuid)
                                 .with_for_update()).first() is None:
        return None
    return db.execute(listing(tenants).where(Group.uuid == group_uuid)).first()


def clash(db: Session, tenant: uuid.UUID, *, name: str, slug: str | None = None,
          exclude: uuid.UUID | None = None) -> Any:
    """A group of ``tenant`` with the same name (exact) or slug (any case)."""
    same = [Group.name == name]
    if slug is not None:
        same.append(func.lower(Group.slug) == slug.lower())
    query = select(Group.uuid, Group.name).where(Group.tenant_uuid == tenant, or_(*same))
    if exclude is not None:
        query = query.where(Group.uuid != exclude)
    return db.execute(query.limit(1)).first()


def slug_free(db: Session, tenant: uuid.UUID, slug: str) -> bool:
    taken = select(Group.uuid).where(Group.tenant_uuid == tenant,
                                     func.lower(Group.slug) == slug.lower())
    return db.execute(taken.limit(1)).first() is None


def rename(db: Session, group_uuid: uuid.UUID, name: str) -> None:
    db.execute(update(Group).where(Group.uuid == group_uuid).values(name=name))


def delete_one(db: Session, group_uuid: uuid.UUID) -> None:
    """Delete a group; its memberships and policy links go with it (ON DELETE CASCADE)."""
    db.execute(delete(Group).where(Group.uuid == group_uuid))


def add_member(db: Session, group_uuid: uuid.UUID, user_uuid: uuid.UUID) -> None:
    db.execute(pg_insert(UserGroup).values(user_uuid=user_uuid, group_uuid=group_uuid)
               .on_conflict_do_nothing())


def remove_member(db: Session, group_uuid: uuid.UUID, user_uuid: uuid.UUID) -> bool:
    return db.execute(delete(UserGroup).where(UserGroup.group_uuid == group_uuid,
                                              UserGroup.user_uuid == user_uuid)).rowcount > 0


def acl_of(db: Session, group_uuid: uuid.UUID) -> list[str]:
    """Every entry the group's policies give its members (policy-name order), share-locking
    the policy links so none is attached or detached until the transaction ends."""
    links = select(GroupPolicy.policy_uuid).where(GroupPolicy.group_uuid == group_uuid) \
        .with_for_update(read=True)
    held = list(db.scalars(links))
    rows = db.scalars(select(Policy.acl).where(Policy.uuid.in_(held)).order_by(Policy.name))
    return [entry for acl in rows for entry in acl]


def acl_shown(db: Session, group_uuid: uuid.UUID, tenants: Sequence[uuid.UUID]) -> set[str]:
    """The entries ``acl_of`` gives that come from policies a caller of ``tenants`` sees."""
    return policy_repo.entries_seen(db, select(GroupPolicy.policy_uuid).where(
        GroupPolicy.group_uuid == group_uuid), tenants)


def members(group_uuid: uuid.UUID) -> Select:
    """The users of a group, as (User,) rows."""
    return (select(User).join(UserGroup, UserGroup.user_uuid == User.uuid)
            .where(UserGroup.group_uuid == group_uuid))


def has_member(value: str) -> ColumnElement[bool]:
    """Strict list filter: the group has the user whose uuid reads ``value``."""
    return Group.uuid.in_(select(UserGroup.group_uuid)
                          .where(cast(UserGroup.user_uuid, String) == value))


def holds_policy(column: Any, value: str, visible: ColumnElement[bool]) -> ColumnElement[bool]:
    """Strict list filter: the group holds a policy whose ``column`` (uuid, slug) reads
    ``value`` and for which ``visible`` holds."""
    return Group.uuid.in_(select(GroupPolicy.group_uuid)
                          .join(Policy, Policy.uuid == GroupPolicy.policy_uuid)
                          .where(cast(column, String) == value, visible))


POLICY_FILTERS = frozenset({'policy_uuid', 'policy_slug'})


def policy_columns(visible: ColumnElement[bool]) -> dict[str, Condition]:
    """The ``policy_uuid``/``policy_slug`` filters of ``GET /groups``, naming only policies
    for which ``visible`` (the caller's, policies.visible) holds: a policy the caller cannot
    see matches nothing, as an unknown one, so the filter tells neither that it exists nor
    which groups hold it."""
    return {'policy_uuid': Condition(lambda value: holds_policy(Policy.uuid, value, visible)),
            'policy_slug': Condition(lambda value: holds_policy(Policy.slug, value, visible))}


def _all_users_name(tenant_uuid: Any) -> Any:
    return func.concat(ALL_USERS_PREFIX, cast(tenant_uuid, String))


def create_all_users_groups(db: Session) -> None:
    """Give every tenant that lacks one its read-only all-users group (admin spec §4.7), named
    like ``tenants.all_users_group_name``. Idempotent, one statement.

    The tenants it reads are key-share locked: a tenant another node is deleting is waited
    for, then left out. Without it, the insert met the deleted group on conflict, waited for
    it, inserted anew and failed on the tenant's foreign key (a start-up traceback)."""
    rows = (select(func.gen_random_uuid(), Tenant.uuid, _all_users_name(Tenant.uuid),
                   _all_users_name(Tenant.uuid), literal(True))
            .where(~select(Group.uuid).where(Group.tenant_uuid == Tenant.uuid,
                                             Group.name == _all_users_name(Tenant.uuid))
                   .exists())
            .with_for_update(key_share=True, read=True, of=Tenant))
    db.execute(pg_insert(Group).from_select(
        ['uuid', 'tenant_uuid', 'name', 'slug', 'system_managed'], rows)
        .on_conflict_do_nothing())


def fill_all_users_groups(db: Session) -> None:
    """Make every user a member of its tenant's all-users group. Idempotent, one statement.

    Only missing memberships are inserted, their user and group key-share locked: a user
    (or tenant) another node is deleting is waited for, then left out, rather than inserted
    after its delete (a foreign-key violation, a start-up traceback)."""
    pairs = (select(User.uuid, Group.uuid)
             .join(Group, Group.tenant_uuid == User.tenant_uuid)
             .where(Group.system_managed.is_(True),
                    Group.name == _all_users_name(User.tenant_uuid),
                    ~select(UserGroup.user_uuid).where(UserGroup.user_uuid == User.uuid,
                                                       UserGroup.group_uuid == Group.uuid)
                    .exists())
             .with_for_update(key_share=True, read=True, of=(User, Group)))
    db.execute(pg_insert(UserGroup).from_select(['user_uuid', 'group_uuid'], pairs)
               .on_conflict_do_nothing())


LIST_COLUMNS = {
    'uuid': Group.uuid, 'name': Group.name.collate('C'), 'slug': Group.slug.collate('C'),
    'read_only': Group.system_managed, 'user_uuid': Condition(has_member),
}
