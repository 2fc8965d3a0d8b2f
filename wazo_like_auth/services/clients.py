"""Registered OAuth 2.0 clients: administration, authentication, and configuration reconcile.

A confidential client's secret is generated here, returned once (at creation or rotation) and
stored only as a bcrypt hash. Verifying it costs a bcrypt check, done with no database
connection held; a successful check is remembered in memory for a few minutes (keyed by the
client, a SHA-256 of the presented secret and the stored hash), so introspection callers and
client_credentials loops do not pay bcrypt on every request. A new secret changes the stored
hash, so remembered checks of the old one never match again.
"""
from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker

from ..exceptions import Conflict, InvalidData, ReadOnlyClient, UnknownClient
from ..logs import get_logger
from . import concurrency
from ..oauth_models import Client
from ..oauth2.clients import AUTHORIZATION_CODE, ClientCredentials, grant_types_error
from ..oauth2.settings import default_grant_types
from ..passwords import PasswordHasher
from ..repositories import clients as client_repo
from ..repositories import locks
from ..repositories import policies as policy_repo
from ..repositories import tenants as tenant_repo
from ..repositories.listing import paginate
from .grants import Grants, client_me
from .listing import ListQuery, Page
from .verified_secrets import VerifiedSecrets

logger = get_logger(__name__)

RECONCILE_LOCK = 0x7761_7a6f_636c_6e74  # arbitrary, fixed: "wazoclnt"


@dataclass(frozen=True)
class AuthenticatedClient:
    uuid: uuid.UUID
    client_id: str
    name: str
    tenant_uuid: uuid.UUID
    public: bool
    grant_types: tuple[str, ...]
    access_token_format: str = 'opaque'
    access_token_audience: tuple[str, ...] = ()


class ClientService:
    def __init__(self, *, sessions: sessionmaker, hasher: PasswordHasher,
                 remember_seconds: float = 300):
        self._sessions = sessions
        self._hasher = hasher
        self._verified = VerifiedSecrets(ttl=remember_seconds)

    # -- administration (one transaction per method) -------------------------------------

    def create(self, tenant_uuid: uuid.UUID, fields: dict[str, Any], tenants: list[uuid.UUID],
               ensure_grantable: Callable[..., None]) -> dict[str, Any]:
        """Create a client in ``tenant_uuid``; the answer holds ``client_secret`` (confidential
        clients), the only time it is shown. Raises Conflict for a taken client_id."""
        secret = None if fields['public'] else secrets.token_urlsafe(32)
        client = Client(uuid=uuid.uuid4(), tenant_uuid=tenant_uuid,
                        client_id=fields.get('client_id') or f'client-{secrets.token_hex(8)}',
                        secret_hash=self._hasher.hash(secret) if secret else None)
        taken = Conflict(f'Client "{client.client_id}" already exists',
                         details={'client_id': client.client_id})
        with concurrency.unique_violations_as(taken), self._sessions.begin() as db:
            locks.hold_keyed_for_transaction(db, locks.CLIENT_IDS, client.client_id)
            self._apply(db, client, fields, tenants, ensure_grantable)
            db.add(client)
            db.flush()
            client_repo.set_policies(db, client.uuid, fields['policies'])
            view = self._view(db, client, tenants)
        logger.info('client %s created in tenant %s', client.client_id, tenant_uuid)
        return {**view, 'client_secret': secret} if secret else view

    def get(self, tenants: list[uuid.UUID], client_uuid: uuid.UUID) -> dict[str, Any]:
        with self._sessions() as db:
            return self._view(db, self._visible(db, client_uuid, tenants), tenants)

    def list(self, tenants: list[uuid.UUID], query: ListQuery, *,
             reach: list[uuid.UUID]) -> Page:
        """The clients of ``tenants``, their policies as a caller reaching ``reach`` (its
        visible tenants) sees them."""
        with self._sessions() as db:
            total, filtered, rows = paginate(db, client_repo.listing(tenants), query,
                                             columns=client_repo.LIST_COLUMNS,
                                             searchable=('client_id', 'name'))
            clients = [row[0] for row in rows]
            policies = client_repo.policies_of(db, [c.uuid for c in clients], reach)
            return Page(total, filtered, [_view(c, policies[c.uuid]) for c in clients])

    def update(self, tenants: list[uuid.UUID], client_uuid: uuid.UUID, fields: dict[str, Any],
               grants: Grants) -> dict[str, Any]:
        """Full replacement of name, grant_types, acl, policies, redirect URIs, consent and
        access-token format (client_id and public are fixed at creation). Existing tokens are
        snapshots and keep their ACL and format.

        ``grants`` (the anti-escalation guard, admin spec §0.6) must allow every entry the
        client's tokens would get, as at creation, and every entry they would lose, bounded by
        what stays (``Grants.ensure_may_remove``): dropping ``!x``, from ``acl`` or with a
        detached policy, hands back the ``x`` another entry grants (a policy attached from a
        tenant above, say). A refusal raises Unauthorized (401) and changes nothing."""
        with self._sessions.begin() as db:
            client = self._writable(db, client_uuid, tenants)
            before = client_repo.token_acl(db, client)
            fields = {**fields, 'public': client.public}
            self._apply(db, client, fields, tenants, grants.ensure_may_add)
            # Policies attached from a tenant above, which the caller cannot see (nor name),
            # stay: a replacement by a caller replaces what it can see.
            hidden = client_repo.hidden_policies(db, client.uuid, tenants)
            client_repo.set_policies(db, client.uuid, [*fields['policies'], *hidden])
            after = client_repo.token_acl(db, client)
            # No ``shown``: the hidden policies stay, so every dropped entry is one the caller
            # sees (of the client's acl or of a policy it sees).
            grants.ensure_may_remove([a for a in before if a not in after], remaining=after,
                                     grantee=client_me(client.client_id))
            return self._view(db, client, tenants)

    def rotate_secret(self, tenants: list[uuid.UUID], client_uuid: uuid.UUID,
                      ensure_grantable: Callable[..., None]) -> dict[str, Any]:
        """A new secret for a confidential client; the old one stops working at once. Who
        holds the secret gets the client's tokens: ``ensure_grantable`` (the anti-escalation
        guard) sees their ACL, as when the client was given it."""
        secret = secrets.token_urlsafe(32)
        new_hash = self._hasher.hash(secret)
        with self._sessions.begin() as db:
            client = self._writable(db, client_uuid, tenants)
            if client.public:
                raise InvalidData('A public client has no secret', details={'public': True})
            ensure_grantable(client_repo.token_acl(db, client),
                             grantee=client_me(client.client_id))
            client.secret_hash = new_hash
            view = self._view(db, client, tenants)
        logger.info('client %s: secret rotated', client.client_id)
        return {**view, 'client_secret': secret}

    def delete(self, tenants: list[uuid.UUID], client_uuid: uuid.UUID) -> None:
        """Delete a client and revoke every token and refresh token issued to it."""
        with self._sessions.begin() as db:
            client = self._writable(db, client_uuid, tenants)
            revoked = client_repo.revoke_all(db, client)
            db.delete(client)
        logger.info('client %s deleted, %d sessions revoked', client.client_id, revoked)

    # -- OAuth 2.0 client authentication ------------------------------------------------

    def authenticate(self, credentials: ClientCredentials) -> AuthenticatedClient | None:
        """The client if ``credentials`` prove it, else None.

        A public client proves nothing but its client_id and must not present a secret; a
        confidential one must present its secret. Unknown clients spend one bcrypt check.
        """
        with self._sessions() as db:
            client = client_repo.find_by_client_id(db, credentials.client_id)
            found = _authenticated(client) if client else None
            stored = client.secret_hash if client else None
        if found is None:
            self._hasher.burn()
            return None
        if found.public:
            return None if credentials.secret else found
        candidates = credentials.secret_candidates()
        # Remembered checks first: a raw Basic secret holding '+' or '%' (as requests and
        # authlib send it) has a wrong decoded candidate first, whose bcrypt is never
        # remembered and would otherwise run on every request before the right one matched.
        if any(self._verified.check(found.client_id, c, stored) for c in candidates):
            return found
        for candidate in candidates:
            if self._verified.verified(found.client_id, candidate, stored,
                                       functools.partial(self._hasher.verify, candidate, stored)):
                return found
        return None

    # -- configuration --------------------------------------------------------------------

    def reconcile(self, declared: Sequence[dict[str, Any]]) -> None:
        """Make the config-managed clients match the ``clients:`` configuration list: create
        or update each (in the top tenant), delete the ones no longer declared. A client_id
        already registered through the API is left alone, with a warning."""
        with self._sessions.begin() as db:
            # Nodes starting together take turns; the second finds nothing to do.
            locks.hold_for_transaction(db, RECONCILE_LOCK)
            top = tenant_repo.top_tenant_uuid(db)
            for item in declared:
                self._reconcile_one(db, top, item)
            names = {item['client_id'] for item in declared}
            for client in client_repo.config_managed(db):
                if client.client_id not in names:
                    # Locked first, as ``delete`` does: a grant in flight (which holds the
                    # client, repositories.clients.held) ends before revoke_all looks.
                    db.refresh(client, with_for_update=True)
                    client_repo.revoke_all(db, client)
                    db.delete(client)
                    logger.info('client %s: no longer in configuration, deleted',
                                client.client_id)

    def _reconcile_one(self, db, top: uuid.UUID, item: dict[str, Any]) -> None:
        # The lock of the client_id an API create holds: a client the API is creating under
        # this client_id is waited for, then left alone (an insert beside it violated its
        # unique index: a start-up traceback).
        locks.hold_keyed_for_transaction(db, locks.CLIENT_IDS, item['client_id'])
        client = client_repo.find_by_client_id(db, item['client_id'])
        if client is not None and not client.config_managed:
            logger.warning('client %s exists and is managed through the API: its '
                           'configuration entry is ignored', item['client_id'])
            return
        if client is None:
            client = Client(uuid=uuid.uuid4(), client_id=item['client_id'], tenant_uuid=top)
            db.add(client)
        secret = item['client_secret']
        if secret is None:
            client.secret_hash = None
        elif not (client.secret_hash and self._hasher.verify(secret, client.secret_hash)):
            client.secret_hash = self._hasher.hash(secret)
        client.name, client.public = item['name'], item['public']
        client.grant_types, client.acl = item['grant_types'], item['acl']
        # Absent from items made before OpenID Connect (validate_clients always sets them).
        client.redirect_uris = item.get('redirect_uris', [])
        client.post_logout_redirect_uris = item.get('post_logout_redirect_uris', [])
        client.require_consent = item.get('require_consent', False)
        client.access_token_format = item.get('access_token_format', 'opaque')
        client.access_token_audience = item.get('access_token_audience', [])
        client.config_managed = True
        db.flush()
        slugs = {slug: None for slug in item['policies']}
        for policy in policy_repo.by_slugs(db, top, list(slugs)):
            slugs[policy.slug] = policy.uuid
        for slug in [s for s, found in slugs.items() if found is None]:
            logger.warning('client %s: no policy "%s" in the top tenant', client.client_id, slug)
        client_repo.set_policies(db, client.uuid, [u for u in slugs.values() if u])

    # -- internals ------------------------------------------------------------------------

    def _apply(self, db, client: Client, fields: dict[str, Any], tenants: list[uuid.UUID],
               ensure_grantable: Callable[..., None]) -> None:
        """Set name, grant types and ACL after the anti-escalation guard (admin spec §0.6):
        ``ensure_grantable`` (Grants.ensure_may_add) sees every entry the client's tokens would
        get, its policies' included, as one grant, their ``me`` read as the client's own."""
        grant_types = fields['grant_types']
        if grant_types is None:
            grant_types = default_grant_types(fields['public'])
        error = grant_types_error(grant_types, fields['public'])
        if error:
            raise InvalidData(error, details={'grant_types': [error]})
        if AUTHORIZATION_CODE in grant_types and not fields.get('redirect_uris'):
            error = 'the authorization_code grant needs at least one redirect URI'
            raise InvalidData(error, details={'redirect_uris': [error]})
        policies = policy_repo.by_uuids(db, fields['policies'])
        visible = {p.uuid for p in policies if p.tenant_uuid in tenants or p.config_managed}
        missing = [str(u) for u in fields['policies'] if u not in visible]
        if missing:
            raise InvalidData('Unknown policies', details={'policies': missing})
        ensure_grantable([*fields['acl'], *(a for p in policies for a in p.acl)],
                         grantee=client_me(client.client_id))
        if _new_silent_sign_in(client, fields, grant_types):
            ensure_grantable([EVERYTHING])
        client.name = fields['name']
        client.public = fields['public']
        client.grant_types = list(grant_types)
        client.acl = list(fields['acl'])
        client.redirect_uris = list(fields.get('redirect_uris') or [])
        client.post_logout_redirect_uris = list(fields.get('post_logout_redirect_uris') or [])
        client.require_consent = bool(fields.get('require_consent', False))
        client.access_token_format = fields.get('access_token_format') or 'opaque'
        client.access_token_audience = list(fields.get('access_token_audience') or [])

    def _visible(self, db, client_uuid: uuid.UUID, tenants: list[uuid.UUID],
                 for_update: bool = False) -> Client:
        client = client_repo.get_in(db, client_uuid, tenants, for_update=for_update)
        if client is None:
            raise UnknownClient(details={'uuid': str(client_uuid)})
        return client

    def _writable(self, db, client_uuid: uuid.UUID, tenants: list[uuid.UUID]) -> Client:
        client = self._visible(db, client_uuid, tenants, for_update=True)
        if client.config_managed:
            raise ReadOnlyClient(details={'uuid': str(client_uuid)})
        return client

    @staticmethod
    def _view(db, client: Client, tenants: list[uuid.UUID]) -> dict[str, Any]:
        """The client as a caller of ``tenants`` sees it: policies it cannot see left out."""
        return _view(client, client_repo.policies_of(db, [client.uuid], tenants)[client.uuid])


def _view(client: Client, policies: list) -> dict[str, Any]:
    return {
        'uuid': str(client.uuid), 'client_id': client.client_id, 'name': client.name,
        'tenant_uuid': str(client.tenant_uuid), 'public': client.public,
        'grant_types': list(client.grant_types), 'acl': list(client.acl),
        'policies': [{'uuid': str(u), 'slug': slug} for u, slug in policies],
        'redirect_uris': list(client.redirect_uris or []),
        'post_logout_redirect_uris': list(client.post_logout_redirect_uris or []),
        'require_consent': bool(client.require_consent),
        'access_token_format': client.access_token_format or 'opaque',
        'access_token_audience': list(client.access_token_audience or []),
        'read_only': client.config_managed,
        'created_at': client.created_at.isoformat() if client.created_at else None,
    }


def _authenticated(client: Client) -> AuthenticatedClient:
    return AuthenticatedClient(uuid=client.uuid, client_id=client.client_id, name=client.name,
                               tenant_uuid=client.tenant_uuid, public=client.public,
                               grant_types=tuple(client.grant_types),
                               access_token_format=client.access_token_format or 'opaque',
                               access_token_audience=tuple(client.access_token_audience or ()))


# What a client signing users in without asking them may receive: any signed-in user's access.
EVERYTHING = '#'


def _new_silent_sign_in(client: Client, fields: dict[str, Any], grant_types) -> bool:
    """Whether these fields make ``client`` sign users in without a page where it did not,
    or send its codes to a new redirect URI. A consent-free client receives the code of any
    user of its tenants who opens its link while signed in; a consent, remembered per client
    (not per URI), makes one that asks do the same for that user, whenever it was given: so
    a new URI on an existing client is a new way to those users too. Handing either out is
    handing out those users (as ensure_may_become): the caller must be able to grant
    everything. A caller with less registers a new client with ``require_consent``."""
    if AUTHORIZATION_CODE not in grant_types:
        return False
    silent = not fields.get('require_consent', False)
    was_silent = AUTHORIZATION_CODE in (client.grant_types or []) and not client.require_consent
    if silent and not was_silent:
        return True
    existing = client.redirect_uris is not None  # None: a client being created
    gained = set(fields.get('redirect_uris') or []) - set(client.redirect_uris or [])
    return existing and bool(gained)
