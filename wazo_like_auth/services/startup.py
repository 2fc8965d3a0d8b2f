"""Start-up reconciliation (admin spec §6.1), shared by ``serve`` and ``bootstrap``.

Runs after the migrations and before anything else touches the database:

1. the top tenant exists (the migration seeds it; every scoping lookup needs it);
2. every tenant has its read-only all-users group, holding every user of the tenant (§4.7);
3. when ``update_policy_on_startup`` (default true), the config-managed policies are exactly
   ``default_policies`` (§3.9): each entry is created or updated in the top tenant (name = slug,
   ACL replaced, read-only); one no longer configured is deleted, unless a user, a group or a
   client still holds it — then it is kept, with a warning, so nobody loses access silently.

Everything runs in one transaction under an advisory lock: nodes starting together take turns,
and the second finds nothing left to do.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .. import slugs
from ..logs import get_logger
from ..models import Policy, Tenant
from ..repositories import groups as group_repo
from ..repositories import locks
from ..repositories import policies as policy_repo
from ..repositories import tenants as tenant_repo
from .policies import NAMES_LOCK

logger = get_logger(__name__)

STARTUP_LOCK = 0x7761_7a6f_7374_7274  # arbitrary, fixed: "wazostrt"
DEFAULT_DESCRIPTION = 'Automatically created'
TOP_TENANT_SLUG = 'master'


class StartupService:
    def __init__(self, *, sessions: sessionmaker, default_policies: Mapping[str, dict],
                 update_policies: bool = True):
        self._sessions = sessions
        self._default_policies = default_policies
        self._update_policies = update_policies

    def run(self) -> uuid.UUID:
        """Reconcile; returns the top tenant's uuid."""
        with self._sessions.begin() as db:
            locks.hold_for_transaction(db, STARTUP_LOCK)
            top = _ensure_top_tenant(db)
            group_repo.create_all_users_groups(db)
            group_repo.fill_all_users_groups(db)
            if self._update_policies:
                # Policy names are checked, then taken, under the lock the API's creates and
                # renames hold: a policy the API makes meanwhile with a configured slug is
                # waited for, then taken over (an insert beside it violated its unique index).
                locks.hold_for_transaction(db, NAMES_LOCK)
                for slug, policy in self._default_policies.items():
                    _upsert_default_policy(db, top, slug, policy)
                _delete_unconfigured(db, set(self._default_policies))
        return top


def _ensure_top_tenant(db: Session) -> uuid.UUID:
    top = tenant_repo.find_top(db)
    if top is not None:
        return top
    top = uuid.uuid4()
    slug = slugs.derive(TOP_TENANT_SLUG, lambda s: not tenant_repo.slug_taken(db, s),
        max_length=10, forbidden=r'[^a-zA-Z0-9_]')
    db.add(Tenant(uuid=top, parent_uuid=top, name=TOP_TENANT_SLUG, slug=slug))
    db.flush()
    logger.warning('startup: no top tenant found, created %s', top)
    return top


def _upsert_default_policy(db: Session, top: uuid.UUID, slug: str,
                           config: Mapping[str, Any]) -> None:
    """Make the top tenant's policy ``slug`` match its configuration, read-only."""
    # Locked: a policy the API is deleting is waited for, then made anew.
    policy = policy_repo.by_slug(db, top, slug, ignore_case=True, for_update=True)
    other = policy_repo.clash(db, top, name=slug, exclude=policy.uuid if policy else None)
    if other is not None:
        # Renaming someone else's policy would be a surprise; keep going without this one.
        logger.error('startup: default policy %s not applied: policy %s of the top tenant '
                     'already has that name', slug, other.uuid)
        return
    if policy is None:
        policy = Policy(uuid=uuid.uuid4(), tenant_uuid=top)
        db.add(policy)
        logger.info('startup: default policy %s created', slug)
    elif not policy.config_managed:
        _take_over(db, policy, slug)
    policy.name = policy.slug = slug
    policy.description = config.get('description') or DEFAULT_DESCRIPTION
    policy.acl = list(config['acl'])
    policy.config_managed = True
    db.flush()


def _take_over(db: Session, policy: Policy, slug: str) -> None:
    """A policy made through the API becomes the configured ``slug``: its links go. Whoever
    attached it (perhaps an operator holding only auth.policies.#, who made it empty under
    this slug) could not give the configured entries, which the links would now carry."""
    unlinked = policy_repo.unlink_all(db, policy.uuid)
    if unlinked:
        logger.warning('startup: default policy %s takes over policy %s made through the API: '
                       'detached from the %d users, groups and clients holding it (attach it '
                       'again to give them the configured entries)', slug, policy.uuid, unlinked)


def _delete_unconfigured(db: Session, configured: set[str]) -> None:
    for policy in policy_repo.config_managed_except(db, configured):
        if policy_repo.in_use(db, policy.uuid):
            logger.warning('startup: policy %s is no longer in default_policies but a user, '
                           'group or client still holds it: kept', policy.slug)
            continue
        policy_repo.delete_one(db, policy.uuid)
        logger.info('startup: policy %s no longer in default_policies: deleted', policy.slug)
