"""Tenant tree queries."""
from __future__ import annotations

import uuid

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from ..models import Tenant

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
