"""Tenant administration (admin spec §2): the tree below the top tenant.

Every method is scoped by the caller's scoping tenant ``scope``: a tenant outside the subtree of
``scope`` is answered exactly like a tenant that does not exist (404), so a caller learns
nothing about other trees.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import (Conflict, DeletingOwnTenant, InvalidData, TenantHasChildren,
                          TenantIdentityConflict, TopTenantConflict, UnknownTenant, UnknownUser)
from .. import slugs
from ..logs import get_logger
from ..models import Tenant
from ..repositories import clients as client_repo
from ..repositories import policies as policy_repo
from ..repositories import sessions as session_repo
from ..repositories import tenants as tenant_repo
from ..repositories import users as user_repo
from ..repositories.listing import paginate
from .grants import Grants
from .listing import ListQuery, Page

logger = get_logger(__name__)

# Without identity providers (LDAP, SAML: spec D7) only the native method exists.
TENANT_AUTHENTICATION_METHODS = ('native',)


def tenant_view(tenant: Tenant, contact_shown: bool = True) -> dict[str, Any]:
    """The tenant object of every response (§2.1); ``contact`` null unless ``contact_shown``
    (a user of a tenant the caller cannot see is not named to it)."""
    address = tenant.address or {}
    return {
        'uuid': str(tenant.uuid),
        'parent_uuid': str(tenant.parent_uuid),
        'name': tenant.name,
        'slug': tenant.slug,
        'contact': str(tenant.contact_uuid) if tenant.contact_uuid and contact_shown else None,
        'phone': tenant.phone,
        'default_authentication_method': tenant.default_authentication_method,
        'domain_names': list(tenant.domain_names or []),
        'address': {name: address.get(name) for name in
                    ('line_1', 'line_2', 'city', 'state', 'country', 'zip_code')},
    }


def domain_uuid(tenant_uuid: uuid.UUID, name: str) -> uuid.UUID:
    """A domain's stable identity: the same while the tenant keeps that name (§2.5, §2.7)."""
    return uuid.uuid5(tenant_uuid, name)


class TenantService:
    def __init__(self, *, sessions: sessionmaker):
        self._sessions = sessions

    def create(self, scope: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        """Create a tenant below ``scope`` with its all-users group (§2.2)."""
        _check_method(body['default_authentication_method'])
        new_uuid = body.get('uuid') or uuid.uuid4()
        if new_uuid == scope:
            raise TopTenantConflict(details={'parent_uuid': {
                'constraint_id': 'unique', 'message': 'A master tenant already exist'}})
        try:
            with self._sessions.begin() as db:
                tenant_repo.lock_tree(db)
                if tenant_repo.exists(db, new_uuid):
                    raise _identity_conflict(new_uuid)
                slug = self._slug(db, body.get('slug'), body.get('name'))
                tenant = Tenant(uuid=new_uuid, parent_uuid=scope, slug=slug)
                self._apply(db, tenant, body, scope)
                db.add(tenant)
                db.flush()
                tenant_repo.ensure_all_users_group(db, new_uuid)
                logger.info('tenant %s created below %s', new_uuid, scope)
                return _view(db, scope, tenant)
        except IntegrityError as error:
            raise _conflict(error, new_uuid) from None

    def list(self, tenants: list[uuid.UUID], query: ListQuery) -> Page:
        with self._sessions() as db:
            total, filtered, rows = paginate(db, tenant_repo.listing(tenants), query,
                                             columns=tenant_repo.LIST_COLUMNS,
                                             searchable=tenant_repo.LIST_SEARCHABLE)
            found = [row[0] for row in rows]
            contacts = user_repo.in_tenants(db, [t.contact_uuid for t in found], tenants)
            return Page(total, filtered, [tenant_view(t, t.contact_uuid in contacts)
                                          for t in found])

    def get(self, scope: uuid.UUID, tenant_uuid: uuid.UUID) -> dict[str, Any]:
        with self._sessions() as db:
            return _view(db, scope, _visible(db, scope, tenant_uuid))

    def domains(self, scope: uuid.UUID, tenant_uuid: uuid.UUID) -> dict[str, Any]:
        """GET /tenants/{t}/domains: ``{"total", "items": [{"name", "uuid"}]}`` (§2.7)."""
        with self._sessions() as db:
            tenant = _visible(db, scope, tenant_uuid)
            items = [{'name': name, 'uuid': str(domain_uuid(tenant.uuid, name))}
                     for name in tenant.domain_names]
        return {'total': len(items), 'items': items}

    def update(self, scope: uuid.UUID, tenant_uuid: uuid.UUID,
               body: dict[str, Any]) -> dict[str, Any]:
        """Replace every writable field of a visible tenant (§2.5)."""
        _check_method(body['default_authentication_method'])
        try:
            with self._sessions.begin() as db:
                tenant_repo.lock_tree(db)
                tenant = _visible(db, scope, tenant_uuid)
                self._apply(db, tenant, body, scope)
                logger.info('tenant %s updated', tenant_uuid)
                db.flush()
                return _view(db, scope, tenant)
        except IntegrityError as error:
            raise _conflict(error, tenant_uuid) from None

    def delete(self, scope: uuid.UUID, tenant_uuid: uuid.UUID, grants: Grants) -> None:
        """Delete a visible tenant without sub-tenants, with everything in it, sessions and
        tokens included, in one transaction (§2.6). Its policies may be attached to users,
        groups or clients of other tenants: the caller must be allowed to take away every
        entry they give those (a deny entry hands access back), as when deleting them one by
        one (§0.6)."""
        if tenant_uuid == scope:
            raise DeletingOwnTenant(f'Deleting its own tenant is forbidden: "{tenant_uuid}"',
                                    details={'tenant_uuid': str(tenant_uuid)})
        try:
            with self._sessions.begin() as db:
                tenant_repo.lock_tree(db)
                _visible(db, scope, tenant_uuid)
                if tenant_repo.has_children(db, tenant_uuid):
                    raise _has_children(tenant_uuid)
                grants.ensure_may_remove(policy_repo.acl_given_outside(db, tenant_uuid))
                # Its users first, as a user's delete locks its user before its sessions:
                # in the other order the two deletes waited for each other.
                user_repo.lock_of_tenant(db, tenant_uuid)
                # Sessions cascade with their tenant; this also catches any session of the
                # tenant's users recorded under another tenant, so none outlives its user.
                session_repo.delete_of_tenant_users(db, tenant_uuid)
                # Its clients go by cascade: what they issued goes as with DELETE /clients
                # (the tokens of users they no longer govern, of a tenant moved away, too).
                for client in client_repo.of_tenants(db, [tenant_uuid]):
                    client_repo.revoke_all(db, client)
                tenant_repo.delete(db, tenant_uuid)
        except IntegrityError:  # a child appeared meanwhile: its parent key protects it
            raise _has_children(tenant_uuid) from None
        logger.info('tenant %s deleted', tenant_uuid)

    def move(self, scope: uuid.UUID, tenant_uuid: uuid.UUID, parent_uuid: uuid.UUID) -> None:
        """Make ``parent_uuid`` the parent of ``tenant_uuid``; both visible, no cycle (§2.7).
        The clients of the tenants no longer above it stop governing its users: what they
        hold for them is revoked (_let_go)."""
        with self._sessions.begin() as db:
            tenant_repo.lock_tree(db)
            tenant = _visible(db, scope, tenant_uuid)
            _visible(db, scope, parent_uuid)
            if tenant_repo.is_subtenant(db, parent_uuid, tenant_uuid):
                raise Conflict(f'Parent ({parent_uuid}) is a descendent of tenant: '
                               f'"{tenant_uuid}"', details={'uuid': str(tenant_uuid),
                                                            'parent_uuid': str(parent_uuid)},
                               resource='tenants')
            revoked = _let_go(db, tenant_uuid, parent_uuid)
            tenant.parent_uuid = parent_uuid
        logger.info('tenant %s moved below %s, %d sessions of clients above it revoked',
                    tenant_uuid, parent_uuid, revoked)

    @staticmethod
    def _apply(db: Session, tenant: Tenant, body: dict[str, Any], scope: uuid.UUID) -> None:
        """Copy the writable fields, checking the contact and the domain names."""
        contact = body['contact']
        if contact is not None and not _user_visible(db, scope, contact):
            raise UnknownUser(f'No such user: "{contact}"', details={'uuid': str(contact)})
        taken = tenant_repo.domains_taken(db, body['domain_names'], other_than=tenant.uuid)
        if taken:
            raise Conflict(resource='tenants', details={'domain_names': {
                'constraint_id': 'unique',
                'message': f'Domain names {taken} are already in use, no duplicates allowed'}})
        address = body['address']
        tenant.name = body['name']
        tenant.phone = body['phone']
        tenant.contact_uuid = contact
        tenant.default_authentication_method = body['default_authentication_method']
        tenant.domain_names = body['domain_names']
        tenant.address = address if any(v is not None for v in address.values()) else None

    @staticmethod
    def _slug(db: Session, wanted: str | None, name: str | None) -> str:
        """The requested slug (409 if taken), else derived_slug."""
        if wanted is not None:
            if tenant_repo.slug_taken(db, wanted):
                raise _slug_conflict(wanted)
            return wanted
        return derived_slug(db, name)


def _visible(db: Session, scope: uuid.UUID, tenant_uuid: uuid.UUID) -> Tenant:
    tenant = tenant_repo.get(db, tenant_uuid)
    if tenant is None or not tenant_repo.is_subtenant(db, tenant_uuid, scope):
        raise UnknownTenant(f'No such tenant: "{tenant_uuid}"',
                            details={'uuid': str(tenant_uuid)})
    return tenant


def _view(db: Session, scope: uuid.UUID, tenant: Tenant) -> dict[str, Any]:
    """The tenant as a caller scoped to ``scope`` sees it: its contact named only when that
    user is in the subtree of ``scope`` (a parent's operator may have set one of its own)."""
    contact = tenant.contact_uuid
    return tenant_view(tenant, contact is None or _user_visible(db, scope, contact))


def _user_visible(db: Session, scope: uuid.UUID, user_uuid: uuid.UUID) -> bool:
    tenant = user_repo.tenant_of(db, user_uuid)
    return tenant is not None and tenant_repo.is_subtenant(db, tenant, scope)


def _check_method(method: str) -> None:
    if method not in TENANT_AUTHENTICATION_METHODS:
        raise InvalidData(f'Invalid default authentication method {method}',
                          details={'default_authentication_method': method})


def _has_children(tenant_uuid: uuid.UUID) -> TenantHasChildren:
    return TenantHasChildren(
        f'Unauthorized delete of tenant : "{tenant_uuid}" ; since it has at least one child',
        details={'uuid': str(tenant_uuid)})


def _identity_conflict(tenant_uuid: uuid.UUID) -> TenantIdentityConflict:
    return TenantIdentityConflict(details={'uuid': {
        'constraint_id': 'unique',
        'message': f'A tenant with identity uuid="{tenant_uuid}" already exists'}})


def derived_slug(db: Session, name: str | None) -> str:
    """A free tenant slug: ``name``'s letters, digits and ``_``, cut to 10, when free; else
    random characters (slugs.derive)."""
    return slugs.derive(name, lambda slug: not tenant_repo.slug_taken(db, slug), max_length=10,
                        forbidden=r'[^a-zA-Z0-9_]')


def _slug_conflict(slug: str) -> Conflict:
    return Conflict(resource='tenants', details={'slug': {
        'constraint_id': 'unique', 'message': f'The slug "{slug}" is already used'}})


def _conflict(error: IntegrityError, tenant_uuid: uuid.UUID) -> Exception:
    """The answer to a unique or foreign-key violation that a concurrent write caused after
    our checks passed."""
    constraint = getattr(getattr(error.orig, 'diag', None), 'constraint_name', None) or ''
    if constraint == 'tenant_pkey':
        return _identity_conflict(tenant_uuid)
    if constraint == 'tenant_slug_key':
        return Conflict(resource='tenants', details={'slug': {
            'constraint_id': 'unique', 'message': 'The slug is already used'}})
    if constraint == 'tenant_contact_uuid_fkey':
        return UnknownUser(details={})
    if constraint == 'tenant_parent_uuid_fkey':  # the parent was deleted meanwhile
        return UnknownTenant(details={})
    logger.warning('tenant %s: unexpected integrity error on %s', tenant_uuid, constraint)
    return Conflict(resource='tenants')


def _let_go(db: Session, tenant_uuid: uuid.UUID, parent_uuid: uuid.UUID) -> int:
    """Revoke what the clients of the tenants that stop being above ``tenant_uuid`` (moved
    below ``parent_uuid``) hold for the users of its subtree: a confidential client's refresh
    token would otherwise be redeemed without the client's secret, the client no longer
    governing its client_id there (services.refresh_tokens.governs). Returns how many
    sessions were revoked."""
    leaving = set(tenant_repo.ancestors(db, tenant_uuid)) - {tenant_uuid} \
        - set(tenant_repo.ancestors(db, parent_uuid))
    if not leaving:
        return 0
    subtree = tenant_repo.descendants(db, tenant_uuid)
    _hold_users(db, subtree)
    return sum(client_repo.revoke_in(db, client, subtree)
               for client in client_repo.of_tenants(db, sorted(leaving)))


def _hold_users(db: Session, subtree: list[uuid.UUID]) -> None:
    """Hold every user of ``subtree`` until the move commits, one created meanwhile included.
    A grant locks its user before it checks that the client governs them, and holds it to its
    commit: it ends first (what it made is revoked after this) or sees the new tree. The
    tenant rows, locked next, keep new users out (their insert waits for the move); a user
    created before that is held by the second pass (a grant of theirs in flight then waits
    for the move, or loses a deadlock: 503, nothing kept)."""
    user_repo.lock_of_tenants(db, subtree)
    tenant_repo.lock_rows(db, subtree)
    user_repo.lock_of_tenants(db, subtree)
