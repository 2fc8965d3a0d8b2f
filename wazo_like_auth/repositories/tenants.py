"""Tenants and their tree."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (ARRAY, Connection, Select, String, Text, cast, func, literal, or_,
                        select, text)
from sqlalchemy import delete as delete_statement
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..models import Group, Tenant
from .listing import Condition

# Walks up from :child; true when :parent is on the way (the top tenant is its own parent).
_IS_SUBTENANT = text("""
WITH RECURSIVE ancestors (uuid, parent_uuid) AS (
    SELECT uuid, parent_uuid FROM tenant WHERE uuid = :child
    UNION
    SELECT t.uuid, t.parent_uuid FROM tenant t
    JOIN ancestors a ON t.uuid = a.parent_uuid AND a.uuid <> a.parent_uuid
)
SELECT EXISTS (SELECT 1 FROM ancestors WHERE uuid = :parent)
""")


def top_tenant_uuid(session: Session) -> uuid.UUID:
    return session.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()


def find_top(session: Session) -> uuid.UUID | None:
    """The top tenant (its own parent), or None in a database without one."""
    return session.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).first()


def is_subtenant(db: Session | Connection, child: uuid.UUID, parent: uuid.UUID) -> bool:
    """True iff ``child`` exists and is ``parent`` or one of its descendants."""
    return bool(db.execute(_IS_SUBTENANT, {'child': child, 'parent': parent}).scalar())


_DESCENDANTS = text("""
WITH RECURSIVE tree (uuid) AS (
    SELECT uuid FROM tenant WHERE uuid = :root
    UNION
    SELECT t.uuid FROM tenant t JOIN tree ON t.parent_uuid = tree.uuid AND t.uuid <> t.parent_uuid
)
SELECT uuid FROM tree
""")


def descendants(db: Session | Connection, root: uuid.UUID) -> list[uuid.UUID]:
    """``root`` and every tenant below it (empty when ``root`` does not exist)."""
    return list(db.execute(_DESCENDANTS, {'root': root}).scalars())


def exists(db: Session | Connection, tenant_uuid: uuid.UUID) -> bool:
    return db.execute(select(Tenant.uuid).where(Tenant.uuid == tenant_uuid)).first() is not None


_ANCESTORS = text("""
WITH RECURSIVE ancestors (uuid, parent_uuid) AS (
    SELECT uuid, parent_uuid FROM tenant WHERE uuid = :child
    UNION
    SELECT t.uuid, t.parent_uuid FROM tenant t
    JOIN ancestors a ON t.uuid = a.parent_uuid AND a.uuid <> a.parent_uuid
)
SELECT uuid FROM ancestors
""")


def ancestors(db: Session | Connection, child: uuid.UUID) -> list[uuid.UUID]:
    """``child`` and every tenant above it, up to the top tenant (empty when unknown)."""
    return list(db.execute(_ANCESTORS, {'child': child}).scalars())


# Serialises the writes that a unique index cannot guard: domain names live in an array column
# (globally unique across rows) and parent moves must never create a cycle; and keeps policy
# creates out of a tenant's delete, which checks what that tenant's policies give outside it.
_TREE_LOCK = 0x7761_7a6f_7465_6e  # arbitrary, fixed: "wazoten"


def lock_rows(db: Session, tenants: Sequence[uuid.UUID]) -> None:
    """Lock these tenants' rows for update, in uuid order, until the transaction ends: an
    insert referencing one of them (a new user) waits for it."""
    db.execute(select(Tenant.uuid).where(Tenant.uuid.in_(tenants)).order_by(Tenant.uuid)
               .with_for_update())


def lock_tree(db: Session) -> None:
    """Hold the tenant-tree lock until the end of the transaction."""
    db.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': _TREE_LOCK})


def get(db: Session, tenant_uuid: uuid.UUID) -> Tenant | None:
    return db.get(Tenant, tenant_uuid)


def listing(tenants: Sequence[uuid.UUID]) -> Select:
    return select(Tenant).where(Tenant.uuid.in_(tenants))


def slug_taken(db: Session, slug: str) -> bool:
    return db.execute(select(Tenant.uuid).where(Tenant.slug == slug)).first() is not None


def by_slug(db: Session, slug: str) -> Any:
    """The ``uuid`` and ``name`` of the tenant with this slug (a row), or None."""
    return db.execute(select(Tenant.uuid, Tenant.name).where(Tenant.slug == slug)).first()


def domains_taken(db: Session, names: Sequence[str],
                  other_than: uuid.UUID | None = None) -> list[str]:
    """The ``names`` already used by a tenant other than ``other_than`` (exact match)."""
    if not names:
        return []
    overlaps = Tenant.domain_names.op('&&')(literal(list(names), ARRAY(Text)))
    query = select(Tenant.domain_names).where(overlaps)
    if other_than is not None:
        query = query.where(Tenant.uuid != other_than)
    used = {name for row in db.scalars(query) for name in row}
    return sorted(used.intersection(names))


def has_children(db: Session, tenant_uuid: uuid.UUID) -> bool:
    children = select(Tenant.uuid).where(Tenant.parent_uuid == tenant_uuid,
                                         Tenant.uuid != tenant_uuid)
    return db.execute(children.limit(1)).first() is not None


def delete(db: Session, tenant_uuid: uuid.UUID) -> None:
    """Delete a tenant without children. Foreign keys cascade to its users (their e-mails,
    links and refresh tokens), groups, policies, and sessions (their access tokens)."""
    db.execute(delete_statement(Tenant).where(Tenant.uuid == tenant_uuid))


def all_users_group_name(tenant_uuid: uuid.UUID) -> str:
    return f'wazo-all-users-tenant-{tenant_uuid}'


def ensure_all_users_group(db: Session, tenant_uuid: uuid.UUID) -> uuid.UUID:
    """The uuid of the tenant's read-only all-users group (admin spec §4.7), created if missing."""
    name = all_users_group_name(tenant_uuid)
    db.execute(pg_insert(Group).values(uuid=uuid.uuid4(), tenant_uuid=tenant_uuid, name=name,
                                       slug=name, system_managed=True)
               .on_conflict_do_nothing())
    found = select(Group.uuid).where(Group.tenant_uuid == tenant_uuid,
                                     or_(Group.name == name, func.lower(Group.slug) == name))
    return db.scalars(found.order_by(Group.system_managed.desc()).limit(1)).one()


def _domain_condition(value: str) -> Any:
    return literal(value) == func.any(Tenant.domain_names)


def _uuids_condition(values: list[str]) -> Any:
    return cast(Tenant.uuid, String).in_(values)


def _domains_text() -> Any:
    return func.array_to_string(Tenant.domain_names, ' ')


LIST_COLUMNS = {
    'name': Tenant.name.collate('C'), 'slug': Tenant.slug.collate('C'), 'uuid': Tenant.uuid,
    'domain_name': Condition(_domain_condition), 'uuids': Condition(_uuids_condition),
    'domains': _domains_text(),
}
LIST_SEARCHABLE = ('name', 'slug', 'domains')
