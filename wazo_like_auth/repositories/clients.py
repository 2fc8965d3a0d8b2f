"""OAuth 2.0 clients, their policies, and the tokens issued to them."""
from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session as DbSession

from ..models import Policy, Session, Token, User
from ..oauth_models import Client, ClientPolicy
from . import refresh_tokens as refresh_repo
from . import sessions as session_repo
from . import tokens as token_repo
from . import tenants as tenant_repo


def find_by_client_id(db: DbSession, client_id: str) -> Client | None:
    return db.scalars(select(Client).where(Client.client_id == client_id)).first()


def config_managed(db: DbSession) -> list[Client]:
    """The clients declared in the configuration (``clients:``)."""
    return list(db.scalars(select(Client).where(Client.config_managed.is_(True))))


def held(db: DbSession, client_uuid: uuid.UUID) -> Client | None:
    """The client, share-locked until the transaction ends, or None when it is gone. A
    transaction issuing a token to a client holds it: a delete of the client (which locks it
    for update before ``revoke_all``) then either commits first, and the grant finds no
    client, or waits for the grant and revokes its token."""
    return db.scalars(select(Client).where(Client.uuid == client_uuid)
                      .with_for_update(read=True)).first()


def get_in(db: DbSession, client_uuid: uuid.UUID, tenants: Sequence[uuid.UUID],
           *, for_update: bool = False) -> Client | None:
    query = select(Client).where(Client.uuid == client_uuid, Client.tenant_uuid.in_(tenants))
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def policies_of(db: DbSession, client_uuids: Sequence[uuid.UUID],
                tenants: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID, list]:
    """client uuid -> [(policy uuid, slug)] sorted by policy name; with ``tenants``, only the
    policies visible from them (theirs, and the configuration's)."""
    query = select(ClientPolicy.client_uuid, Policy.uuid, Policy.slug) \
        .join(Policy, Policy.uuid == ClientPolicy.policy_uuid) \
        .where(ClientPolicy.client_uuid.in_(client_uuids)).order_by(Policy.name)
    if tenants is not None:
        query = query.where(visible_from(tenants))
    rows = db.execute(query)
    result: dict[uuid.UUID, list] = {u: [] for u in client_uuids}
    for client_uuid, policy_uuid, slug in rows:
        result[client_uuid].append((policy_uuid, slug))
    return result


def visible_from(tenants: Sequence[uuid.UUID]):
    """The policies a caller of ``tenants`` may name on a client: theirs and the
    configuration's (another tenant's are unknown to it, as on /policies)."""
    return or_(Policy.tenant_uuid.in_(list(tenants)), Policy.config_managed.is_(True))


def hidden_policies(db: DbSession, client_uuid: uuid.UUID,
                    tenants: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The client's policies a caller of ``tenants`` cannot see (attached from above)."""
    return list(db.scalars(select(ClientPolicy.policy_uuid)
                           .join(Policy, Policy.uuid == ClientPolicy.policy_uuid)
                           .where(ClientPolicy.client_uuid == client_uuid,
                                  ~visible_from(tenants))))


def set_policies(db: DbSession, client_uuid: uuid.UUID, policy_uuids: Sequence[uuid.UUID]):
    """Make ``policy_uuids`` the client's policies, touching only the links that change: each
    link added or removed is an event (migration 0012), an unchanged one is not."""
    wanted = list(dict.fromkeys(policy_uuids))
    db.flush()
    db.execute(delete(ClientPolicy).where(ClientPolicy.client_uuid == client_uuid,
                                          ClientPolicy.policy_uuid.not_in(wanted)))
    if wanted:
        db.execute(pg_insert(ClientPolicy).values(
            [{'client_uuid': client_uuid, 'policy_uuid': p} for p in wanted])
            .on_conflict_do_nothing())


def token_acl(db: DbSession, client: Client) -> list[str]:
    """The ACL of a client_credentials token: the client's own entries, then its policies'
    (by policy name), order kept."""
    acl = list(client.acl)
    for policy_acl in db.scalars(select(Policy.acl)
                                 .join(ClientPolicy, ClientPolicy.policy_uuid == Policy.uuid)
                                 .where(ClientPolicy.client_uuid == client.uuid)
                                 .order_by(Policy.name)):
        acl.extend(policy_acl)
    return acl


def listing(tenants: Sequence[uuid.UUID]) -> Select:
    return select(Client).where(Client.tenant_uuid.in_(tenants))


# Text sorts bytewise, whatever the database's collation (admin spec §0.5), as every list.
LIST_COLUMNS = {'client_id': Client.client_id.collate('C'), 'name': Client.name.collate('C'),
                'public': Client.public, 'created_at': Client.created_at, 'uuid': Client.uuid}


def revoke_all(db: DbSession, client: Client) -> int:
    """Revoke everything issued to a client: its access tokens (with their sessions), the
    refresh tokens it governs (bound to its client_id, of users of its tenant or a tenant
    below) and the sessions created from them. Another tenant's refresh tokens that merely
    share the client_id are left alone."""
    governed = tenant_repo.descendants(db, client.tenant_uuid)
    revoked = _revoke_refresh_tokens(
        db, refresh_repo.of_client_in(db, client.client_id, governed))
    issued = select(Token.session_uuid).where(Token.client_id == client.client_id)
    revoked += session_repo.delete_where(db, Session.uuid.in_(issued))
    return len(revoked)


def of_tenants(db: DbSession, tenants: Sequence[uuid.UUID]) -> list[Client]:
    """The clients registered in ``tenants``."""
    return list(db.scalars(select(Client).where(Client.tenant_uuid.in_(tenants))
                           .order_by(Client.uuid)))


def revoke_in(db: DbSession, client: Client, tenants: Sequence[uuid.UUID]) -> int:
    """Revoke what ``client`` holds for the users of ``tenants``, as ``revoke_all`` does for
    the users it governs: their refresh tokens bound to its client_id, the sessions created
    from them, and their sessions holding a token issued to it. Returns how many sessions
    were revoked."""
    revoked = _revoke_refresh_tokens(
        db, refresh_repo.of_client_in(db, client.client_id, tenants))
    revoked += session_repo.delete_issued_to(db, client.client_id, Session.user_uuid.in_(
        select(User.uuid).where(User.tenant_uuid.in_(tenants))))
    return len(revoked)


def revoke_issued(db: DbSession, digest: bytes, client_id: str,
                  refresh_digest: bytes | None) -> None:
    """Revoke one grant's access token (``digest``) and the refresh token it answered, if
    any, bound to ``client_id``: what ``revoke_all`` would have revoked, had they existed when
    their client was deleted."""
    token_repo.delete_by_digest(db, digest)
    refresh = refresh_repo.find(db, refresh_digest, client_id) if refresh_digest else None
    if refresh is not None:
        _revoke_refresh_tokens(db, [refresh.uuid])


def revoke_for_user(db: DbSession, client: Client, user_uuid: uuid.UUID,
                    user_tenant: uuid.UUID) -> int:
    """Revoke what a client holds for one user, as ``revoke_all`` does for every user: the
    user's refresh tokens bound to its client_id (if the client governs the user's tenant) with
    the sessions created from it, and the user's sessions holding a token issued to it.
    Returns how many sessions were revoked. The caller locks the user row first (the order of
    the grants: a concurrent exchange either commits first, and is revoked, or waits)."""
    refresh_uuids = []
    if tenant_repo.is_subtenant(db, user_tenant, client.tenant_uuid):
        refresh_uuids = refresh_repo.all_for_client(db, user_uuid, client.client_id)
    revoked = _revoke_refresh_tokens(db, refresh_uuids)
    revoked += session_repo.delete_issued_to(db, client.client_id,
                                             Session.user_uuid == user_uuid)
    return len(revoked)


def _revoke_refresh_tokens(db: DbSession, refresh_uuids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Delete these refresh tokens and the sessions created from them; returns the
    sessions' uuids."""
    revoked = session_repo.delete_from_refresh_tokens(db, refresh_uuids)
    refresh_repo.delete_uuids(db, refresh_uuids)
    return revoked


def set_token_client(db: DbSession, digest: bytes, client_id: str) -> None:
    db.execute(update(Token).where(Token.token_hash == digest).values(client_id=client_id))
