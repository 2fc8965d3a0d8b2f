"""Fixtures shared by the group and link tests."""
from __future__ import annotations

import uuid

import pytest

from tests.support.offline_access import make_tenant
from wazo_like_auth.models import Group


@pytest.fixture
def child(sessions, top_tenant):
    """A sub-tenant of the top tenant."""
    return make_tenant(sessions, top_tenant, 'child')


@pytest.fixture
def all_users(sessions, top_tenant):
    """The top tenant's read-only all-users group."""
    group_uuid = uuid.uuid4()
    name = f'wazo-all-users-tenant-{top_tenant}'
    with sessions.begin() as db:
        db.add(Group(uuid=group_uuid, tenant_uuid=top_tenant, name=name, slug=name,
                     system_managed=True))
    return str(group_uuid)
