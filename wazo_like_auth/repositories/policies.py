"""Policy queries: visibility across tenants (admin spec §3.2), name clashes, ACL edits, links.

Rows returned by ``listing``/``find``/``stored`` carry the stored columns plus how the policy is
shown to the caller: ``shown_tenant_uuid``, ``read_only`` and ``shown_shared``.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (ColumnElement, Select, String, and_, any_, case, cast, delete, exists,
                        func, literal, not_, or_, select, update)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..models import Group, GroupPolicy, Policy, User, UserPolicy
from ..oauth_models import Client, ClientPolicy
from . import tenants as tenant_repo
from .listing import Condition

FIELDS = (Policy.uuid, Policy.tenant_uuid, Policy.name, Policy.slug, Policy.description,
          Policy.acl, Policy.config_managed, Policy.shared)


@dataclass(frozen=True)
class Viewpoint:
    """Where a request looks at policies from (admin spec §3.2).

    ``tenants`` is T: the scoping tenant, plus its descendants for recursive views;
    ``ancestors`` are the scoping tenant and every tenant above it, whose shared policies it sees.
    """
    scoping: uuid.UUID
    tenants: tuple[uuid.UUID, ...]
    ancestors: tuple[uuid.UUID, ...]


def viewpoint(db: Session, scoping: uuid.UUID, tenants: Sequence[uuid.UUID]) -> Viewpoint:
    return Viewpoint(scoping, tuple(tenants) or (scoping,),
                     tuple(tenant_repo.ancestors(db, scoping)))


def visible(view: Viewpoint) -> ColumnElement[bool]:
    """Policies of T, config-managed ones, and those shared by the scoping tenant's ancestors."""
    return or_(Policy.tenant_uuid.in_(view.tenants), Policy.config_managed.is_(True),
               and_(Policy.shared.is_(True), Policy.tenant_uuid.in_(view.ancestors)))


def shown_from(view: Viewpoint) -> list[Any]:
    """How policies show relative to ``view``: one from outside T (an ancestor's shared policy,
    a config-managed one) appears as the scoping tenant's own, read-only and not shared."""
    inside = Policy.tenant_uuid.in_(view.tenants)
    return [case((inside, Policy.tenant_uuid),
                 else_=literal(view.scoping, UUID(as_uuid=True))).label('shown_tenant_uuid'),
            or_(Policy.config_managed, and_(Policy.shared, not_(inside))).label('read_only'),
            and_(Policy.shared, inside).label('shown_shared')]


def shown_as_stored() -> list[Any]:
    """The view without a T: own tenant, read-only iff config-managed, stored ``shared``."""
    return [Policy.tenant_uuid.label('shown_tenant_uuid'),
            Policy.config_managed.label('read_only'), Policy.shared.label('shown_shared')]


def listing(view: Viewpoint) -> Select:
    return select(*FIELDS, *shown_from(view)).where(visible(view))


def visible_among(db: Session, view: Viewpoint, uuids: Iterable[str]) -> list[uuid.UUID]:
    """Which of ``uuids`` (text) name a policy visible from ``view``."""
    wanted = [uuid.UUID(u) for u in uuids if _is_uuid(u)]
    if not wanted:
        return []
    return list(db.scalars(select(Policy.uuid).where(Policy.uuid.in_(wanted), visible(view))))


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def of_group(view: Viewpoint, group_uuid: uuid.UUID) -> Select:
    """The listing of the group's policies, as seen from ``view``."""
    return listing(view).join(GroupPolicy, GroupPolicy.policy_uuid == Policy.uuid).where(
        GroupPolicy.group_uuid == group_uuid)


def of_user(user_uuid: uuid.UUID) -> Select:
    """The policies attached directly to a user, shown as stored."""
    return (select(*FIELDS, *shown_as_stored())
            .join(UserPolicy, UserPolicy.policy_uuid == Policy.uuid)
            .where(UserPolicy.user_uuid == user_uuid))


def stored(db: Session, policy_uuid: uuid.UUID) -> Any:
    return db.execute(select(*FIELDS, *shown_as_stored())
                      .where(Policy.uuid == policy_uuid)).first()


def by_slug(db: Session, tenant: uuid.UUID, slug: str, *, ignore_case: bool = False,
            for_update: bool = False) -> Policy | None:
    """The policy ``slug`` of ``tenant`` (any case when ``ignore_case``), or None. With
    ``for_update``, locked until the transaction ends: one being deleted meanwhile is waited
    for, then not found (updating it failed: no row matched)."""
    same = func.lower(Policy.slug) == slug.lower() if ignore_case else Policy.slug == slug
    query = select(Policy).where(Policy.tenant_uuid == tenant, same)
    return db.scalars(query.with_for_update() if for_update else query).first()


def by_slugs(db: Session, tenant: uuid.UUID, slugs: Sequence[str]) -> list[Policy]:
    """The policies of ``tenant`` with these slugs, key-share locked until the transaction
    ends: a policy being deleted meanwhile (by another node) is waited for and left out, so
    the caller may link what it returns (a link to a deleted policy violated its foreign key)."""
    return list(db.scalars(select(Policy).where(Policy.tenant_uuid == tenant,
                                                Policy.slug.in_(list(slugs)))
                           .with_for_update(key_share=True, read=True)))


def by_uuids(db: Session, uuids: Sequence[uuid.UUID]) -> list[Policy]:
    return list(db.scalars(select(Policy).where(Policy.uuid.in_(list(uuids)))))


def config_managed_except(db: Session, slugs: set[str]) -> list[Policy]:
    """The policies made from ``default_policies`` whose slug is not in ``slugs``."""
    return list(db.scalars(select(Policy).where(Policy.config_managed.is_(True),
                                                Policy.slug.not_in(slugs))))


def find(db: Session, view: Viewpoint, ref: uuid.UUID | str) -> Any:
    """The visible policy with this uuid, or this slug (case-sensitive, the scoping tenant's
    own before a read-only one); None if there is none."""
    query = listing(view)
    if isinstance(ref, uuid.UUID):
        query = query.where(Policy.uuid == ref)
    else:
        query = query.where(Policy.slug == ref).order_by(
            (Policy.tenant_uuid == view.scoping).desc())
    return db.execute(query.limit(1)).first()


def clash(db: Session, tenant: uuid.UUID, *, name: str | None = None, slug: str | None = None,
          shared: bool = False, exclude: uuid.UUID | None = None) -> Policy | None:
    """A policy that a policy of ``tenant`` named ``name``/``slug`` would collide with (admin
    spec §3.3): same name (exact) or slug (any case) in the tenant, a shared one above it, or
    when ``shared``, any one below it."""
    same = []
    if name is not None:
        same.append(Policy.name == name)
    if slug is not None:
        same.append(func.lower(Policy.slug) == slug.lower())
    where = [Policy.tenant_uuid == tenant,
             and_(Policy.shared.is_(True),
                  Policy.tenant_uuid.in_(tenant_repo.ancestors(db, tenant)))]
    if shared:
        where.append(Policy.tenant_uuid.in_(tenant_repo.descendants(db, tenant)))
    query = select(Policy).where(or_(*same), or_(*where))
    if exclude is not None:
        query = query.where(Policy.uuid != exclude)
    return db.scalars(query.limit(1)).first()


def lock(db: Session, policy_uuid: uuid.UUID) -> None:
    """Lock the policy's row until the transaction ends (concurrent editors take turns)."""
    db.execute(select(Policy.uuid).where(Policy.uuid == policy_uuid).with_for_update())


def replace(db: Session, policy_uuid: uuid.UUID, **values: Any) -> None:
    db.execute(update(Policy).where(Policy.uuid == policy_uuid).values(**values))


def delete_one(db: Session, policy_uuid: uuid.UUID) -> None:
    """Delete a policy; its user and group links go with it (ON DELETE CASCADE)."""
    db.execute(delete(Policy).where(Policy.uuid == policy_uuid))


def add_access(db: Session, policy_uuid: uuid.UUID, access: str) -> bool:
    """Append ``access`` unless present (one statement, so concurrent adds cannot duplicate);
    False when it was already there."""
    present = literal(access) == any_(Policy.acl)
    result = db.execute(update(Policy)
                        .where(Policy.uuid == policy_uuid, not_(present))
                        .values(acl=func.array_append(Policy.acl, access,
                                                      type_=Policy.acl.type)))
    return result.rowcount > 0


def remove_access(db: Session, policy_uuid: uuid.UUID, access: str) -> None:
    db.execute(update(Policy).where(Policy.uuid == policy_uuid)
               .values(acl=func.array_remove(Policy.acl, access, type_=Policy.acl.type)))


def link_user(db: Session, user_uuid: uuid.UUID, policy_uuid: uuid.UUID) -> None:
    db.execute(pg_insert(UserPolicy).values(user_uuid=user_uuid, policy_uuid=policy_uuid)
               .on_conflict_do_nothing())


def unlink_user(db: Session, user_uuid: uuid.UUID, policy_uuid: uuid.UUID) -> bool:
    return db.execute(delete(UserPolicy).where(UserPolicy.user_uuid == user_uuid,
                                               UserPolicy.policy_uuid == policy_uuid)
                      ).rowcount > 0


def link_group(db: Session, group_uuid: uuid.UUID, policy_uuid: uuid.UUID) -> None:
    db.execute(pg_insert(GroupPolicy).values(group_uuid=group_uuid, policy_uuid=policy_uuid)
               .on_conflict_do_nothing())


def unlink_group(db: Session, group_uuid: uuid.UUID, policy_uuid: uuid.UUID) -> bool:
    return db.execute(delete(GroupPolicy).where(GroupPolicy.group_uuid == group_uuid,
                                                GroupPolicy.policy_uuid == policy_uuid)
                      ).rowcount > 0


# What attaches a policy to its holders: users, groups, OAuth clients.
_LINKS = (UserPolicy, GroupPolicy, ClientPolicy)


def entries_seen(db: Session, policy_uuids: Select, tenants: Sequence[uuid.UUID]) -> set[str]:
    """The entries of the policies ``policy_uuids`` selects that a caller of ``tenants`` sees
    (policies of one of them, or shared)."""
    rows = db.scalars(select(Policy.acl).where(
        Policy.uuid.in_(policy_uuids), or_(Policy.tenant_uuid.in_(tenants), Policy.shared)))
    return {entry for acl in rows for entry in acl}


def unlink_all(db: Session, policy_uuid: uuid.UUID) -> int:
    """Detach the policy from every user, group and client holding it: how many links."""
    return sum(db.execute(delete(link).where(link.policy_uuid == policy_uuid)).rowcount
               for link in _LINKS)


def in_use(db: Session, policy_uuid: uuid.UUID) -> bool:
    """Whether a user, a group or an OAuth client holds the policy."""
    return bool(db.scalar(select(or_(*(exists().where(link.policy_uuid == policy_uuid)
                                       for link in _LINKS)))))


def client_ids_of(db: Session, policy_uuid: uuid.UUID) -> list[str]:
    """The client_ids of the OAuth clients holding the policy, whatever their tenant."""
    return list(db.scalars(select(Client.client_id)
                           .join(ClientPolicy, ClientPolicy.client_uuid == Client.uuid)
                           .where(ClientPolicy.policy_uuid == policy_uuid)
                           .order_by(Client.client_id)))


def acl_given_outside(db: Session, tenant_uuid: uuid.UUID) -> list[str]:
    """Every entry that the policies of ``tenant_uuid`` give to users, groups or clients of
    other tenants (deleting the tenant takes them away from those holders), locking those
    links until the transaction ends: for update, since the delete removes them (share locks
    let a group's delete take them too, and each then waited for the other). The policies
    are locked first: a link to one of them made meanwhile (its foreign key share-locks the
    policy) is either committed and counted here, or waits and then finds no policy."""
    db.execute(select(Policy.uuid).where(Policy.tenant_uuid == tenant_uuid)
               .order_by(Policy.uuid).with_for_update())
    links = ((UserPolicy, UserPolicy.user_uuid, User),
             (GroupPolicy, GroupPolicy.group_uuid, Group),
             (ClientPolicy, ClientPolicy.client_uuid, Client))
    linked = set()
    for link, holder_uuid, holder in links:
        query = (select(link.policy_uuid).join(holder, holder.uuid == holder_uuid)
                 .where(holder.tenant_uuid != tenant_uuid).with_for_update(of=link))
        linked.update(db.scalars(query))
    rows = db.scalars(select(Policy.acl).where(Policy.tenant_uuid == tenant_uuid,
                                               Policy.uuid.in_(linked)).order_by(Policy.name))
    return list(dict.fromkeys(entry for acl in rows for entry in acl))


def held_by_user(value: str, reach: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Strict list filter: the policy is attached to the user whose uuid reads ``value``,
    provided that user lives in one of the ``reach`` tenants (a user the caller cannot see
    matches nothing, as an unknown uuid: the filter must not tell what it holds)."""
    return Policy.uuid.in_(select(UserPolicy.policy_uuid)
                           .join(User, User.uuid == UserPolicy.user_uuid)
                           .where(cast(UserPolicy.user_uuid, String) == value,
                                  User.tenant_uuid.in_(reach)))


def held_by_group(value: str, reach: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Strict list filter: the policy is attached to the group whose uuid reads ``value``,
    provided that group lives in one of the ``reach`` tenants."""
    return Policy.uuid.in_(select(GroupPolicy.policy_uuid)
                           .join(Group, Group.uuid == GroupPolicy.group_uuid)
                           .where(cast(GroupPolicy.group_uuid, String) == value,
                                  Group.tenant_uuid.in_(reach)))


def link_columns(reach: Sequence[uuid.UUID]) -> dict[str, Condition]:
    """The ``user_uuid`` and ``group_uuid`` list filters, naming only users and groups of the
    ``reach`` tenants (the caller's visible tenants, whatever ``recurse`` says)."""
    reach = tuple(reach)
    return {'user_uuid': Condition(lambda value: held_by_user(value, reach)),
            'group_uuid': Condition(lambda value: held_by_group(value, reach))}


# Bytewise order whatever the database's collation: `-` before `_`, as wazo-auth sorts.
TEXT_COLUMNS = {'uuid': Policy.uuid, 'name': Policy.name.collate('C'),
                'slug': Policy.slug.collate('C'), 'description': Policy.description.collate('C')}
