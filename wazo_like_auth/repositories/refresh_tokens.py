"""Refresh tokens, known by the SHA-256 of their value (spec D3): one per (user, client_id) in
the Wazo API, one per grant for public OAuth 2.0 clients, whose tokens rotate (migration 0017)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (Connection, Select, bindparam, delete, literal, select, text, true,
                        update)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession

from ..models import RefreshToken, RetiredRefreshToken, User
from ..oauth_models import Client
from ..prepared import PreparedQuery
from .login_throttle import counter
from .users import token_acl_columns


# The refresh exchange reads plain rows with statements built once: ORM loading would cost
# more than the queries themselves on this path.
_COLUMNS = (RefreshToken.uuid, RefreshToken.user_uuid, RefreshToken.client_id,
            RefreshToken.login, RefreshToken.metadata_.label('metadata_'),
            RefreshToken.created_at, RefreshToken.mobile, RefreshToken.rotates,
            RefreshToken.generation)
_FIND = select(*_COLUMNS).where(RefreshToken.token_hash == bindparam('digest'),
                                RefreshToken.client_id == bindparam('client_id'))
# One statement for everything an exchange reads. FOR SHARE OF user, then refresh token (the
# order PostgreSQL takes them, and the order mobile logins lock in): a disable or a password
# login of the user waits for the exchange, and a refresh token deleted while the lock was
# awaited (replaced by a mobile login) drops out of the result instead of being used.
# The tenant of the confidential client registered with this client_id, if any: it governs
# the refresh token only when the user is in that tenant's tree (services.refresh_tokens).
# Beside the row, so that an exchange is one round trip before its insert: the ACL of the new
# token (users.token_acl_columns) and the address's refresh-failure counter (outer-joined: it
# has no row below the first failure).
_CONFIDENTIAL_TENANT = select(Client.tenant_uuid).where(
    Client.client_id == RefreshToken.client_id, Client.public.is_(False)).scalar_subquery()


def _exchange(with_default: bool) -> Select:
    failures = counter(bindparam('counter_key'), bindparam('window'))
    return select(
        *_COLUMNS, User.tenant_uuid, User.purpose, User.enabled,
        _CONFIDENTIAL_TENANT.label('confidential_tenant_uuid'),
        *token_acl_columns(RefreshToken.user_uuid, with_default),
        failures.c.failures, failures.c.window_start,
    ).join(User, User.uuid == RefreshToken.user_uuid) \
        .outerjoin(failures, true()).where(
        RefreshToken.token_hash == bindparam('digest'),
        RefreshToken.client_id == bindparam('client_id'),
    ).with_for_update(read=True, of=[User.__table__, RefreshToken.__table__])


_EXCHANGE = {True: PreparedQuery('wla_refresh_exchange_with_default', _exchange(True)),
             False: PreparedQuery('wla_refresh_exchange', _exchange(False))}


@dataclass(frozen=True)
class ExchangeReads:
    """What an exchange reads beside the refresh token: the new token's ACL with this default
    policy, and the failure counter of this key over this window."""
    default_policy: str | None
    counter_key: str
    window: int


def find(db: DbSession, digest: bytes, client_id: str) -> Row | None:
    """The refresh token of this digest and client_id, as a plain row, or None."""
    return db.connection().execute(_FIND, {'digest': digest, 'client_id': client_id}).first()


def find_for_exchange(db: DbSession | Connection, digest: bytes, client_id: str,
                      reads: ExchangeReads) -> Row | None:
    """The refresh token of this digest and client_id with its user's tenant_uuid, purpose
    and enabled, ``confidential_tenant_uuid`` (the tenant of the confidential client
    registered with that client_id, else None), ``acl_lists`` (users.flatten_acl makes the new
    token's ACL of it) and the counter's ``failures`` and ``window_start`` (None without one);
    the token and user rows share-locked until the transaction ends. None when there is no
    such refresh token."""
    return _EXCHANGE[bool(reads.default_policy)].execute(db, {
        'digest': digest, 'client_id': client_id, 'default_policy': reads.default_policy,
        'counter_key': reads.counter_key, 'window': reads.window}).first()


def find_for_client(db: DbSession, user_uuid: uuid.UUID, client_id: str, *,
                    hold: bool = False) -> RefreshToken | None:
    """The user's refresh token of the Wazo API for ``client_id`` (not a rotating one);
    ``hold`` keeps it from being deleted until the transaction ends (FOR KEY SHARE), so a
    token may still reference it."""
    query = select(RefreshToken).where(RefreshToken.user_uuid == user_uuid,
                                       RefreshToken.client_id == client_id,
                                       RefreshToken.rotates.is_(False))
    return db.scalars(_held(query) if hold else query).first()


def all_for_client(db: DbSession, user_uuid: uuid.UUID, client_id: str) -> list[uuid.UUID]:
    """Every refresh token of the user for ``client_id``: the Wazo API's and the rotating
    ones of each grant."""
    return list(db.scalars(select(RefreshToken.uuid).where(
        RefreshToken.user_uuid == user_uuid, RefreshToken.client_id == client_id)))


def _held(query: Select) -> Select:
    # populate_existing: a row already in the session is re-read, not served from memory.
    return query.with_for_update(read=True, key_share=True) \
        .execution_options(populate_existing=True)


def insert_if_absent(db: DbSession, *, row_uuid: uuid.UUID, digest: bytes,
                     **columns: Any) -> bool:
    """Insert unless a Wazo API row for (user, client_id) already exists (a rotating row is
    always inserted); True if inserted."""
    statement = insert(RefreshToken).values(uuid=row_uuid, token_hash=digest, **columns) \
        .on_conflict_do_nothing(index_elements=['user_uuid', 'client_id'],
                                index_where=text('NOT rotates')) \
        .returning(RefreshToken.uuid)
    return db.execute(statement).first() is not None


def rotate(db: DbSession | Connection, row_uuid: uuid.UUID, generation: int, digest: bytes,
           previous: bytes) -> bool:
    """Move the row from ``generation`` to the next, whose value has ``digest``; False when a
    concurrent exchange rotated it first."""
    moved = update(RefreshToken).where(
        RefreshToken.uuid == row_uuid, RefreshToken.generation == generation,
    ).values(generation=generation + 1, token_hash=digest).returning(RefreshToken.uuid) \
        .cte('moved')
    # One round trip: the old value's digest is remembered only if the row moved.
    retire = insert(RetiredRefreshToken).from_select(
        ['token_hash', 'refresh_token_uuid'], select(literal(previous), moved.c.uuid)) \
        .returning(RetiredRefreshToken.refresh_token_uuid)
    return db.execute(retire).first() is not None


def forget_retired(db: DbSession | Connection, digest: bytes) -> None:
    """Forget the rotated-away value of ``digest`` (services/refresh_tokens.py keeps the
    last ones only)."""
    db.execute(delete(RetiredRefreshToken).where(RetiredRefreshToken.token_hash == digest))


def lock_for_rotation(db: Connection, digest: bytes, client_id: str) -> None:
    """Lock the refresh token of ``digest`` (FOR NO KEY UPDATE: new tokens may still reference
    it) and its user (FOR SHARE, as the exchange does) before an exchange that may rotate it:
    a concurrent exchange of the same value waits, then no longer finds it (its digest
    changed), rather than both rotating it or deadlocking over their share locks."""
    db.execute(_LOCK_FOR_ROTATION, {'digest': digest, 'client_id': client_id})


_LOCK_FOR_ROTATION = text("""
SELECT r.uuid FROM auth_refresh_token r JOIN auth_user u ON u.uuid = r.user_uuid
WHERE r.token_hash = :digest AND r.client_id = :client_id
FOR SHARE OF u FOR NO KEY UPDATE OF r
""")


def rotated_away(db: DbSession, digest: bytes, client_id: str) -> RefreshToken | None:
    """The rotating refresh token one of whose values, rotated away, has ``digest``
    (among the last ones kept: services/refresh_tokens.RETIRED_VALUES_KEPT), locked, or None."""
    return db.scalars(select(RefreshToken).join(
        RetiredRefreshToken, RetiredRefreshToken.refresh_token_uuid == RefreshToken.uuid).where(
        RetiredRefreshToken.token_hash == digest, RefreshToken.client_id == client_id,
        RefreshToken.rotates.is_(True)).with_for_update(of=RefreshToken)).first()


def of_openid_session(db: DbSession, user_uuid: uuid.UUID, sid: str) -> list[uuid.UUID]:
    """The user's refresh tokens of the OpenID grant whose ID tokens say ``sid`` (metadata
    ``oidc.sid``: the first session of a password or device grant asked with openid)."""
    return list(db.scalars(select(RefreshToken.uuid).where(
        RefreshToken.user_uuid == user_uuid,
        RefreshToken.metadata_['oidc']['sid'].astext == sid)))


def mobile_of_user(db: DbSession, user_uuid: uuid.UUID) -> list[uuid.UUID]:
    return list(db.scalars(select(RefreshToken.uuid).where(RefreshToken.user_uuid == user_uuid,
                                                           RefreshToken.mobile.is_(True))))


def delete_uuids(db: DbSession, uuids: Sequence[uuid.UUID]) -> int:
    if not uuids:
        return 0
    return len(list(db.scalars(delete(RefreshToken).where(RefreshToken.uuid.in_(uuids))
                               .returning(RefreshToken.uuid))))


def set_metadata(db: DbSession, row_uuid: uuid.UUID, metadata: dict[str, Any]) -> None:
    """Replace what a refresh token passes on to the tokens it gives (its ``oidc`` grant)."""
    db.execute(update(RefreshToken).where(RefreshToken.uuid == row_uuid)
               .values(metadata_=metadata))


def of_client_in(db: DbSession, client_id: str, tenants: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The refresh tokens bound to ``client_id`` whose user is in one of ``tenants``."""
    return list(db.scalars(select(RefreshToken.uuid)
                           .join(User, User.uuid == RefreshToken.user_uuid)
                           .where(RefreshToken.client_id == client_id,
                                  User.tenant_uuid.in_(tenants))))


def listing(tenants: Sequence[uuid.UUID], user_uuid: uuid.UUID | None = None) -> Select:
    """Refresh tokens whose user is in ``tenants``, with the user's tenant."""
    query = select(RefreshToken.client_id, RefreshToken.created_at, RefreshToken.mobile,
                   RefreshToken.user_uuid, User.tenant_uuid,
                   RefreshToken.metadata_.label('metadata')) \
        .join(User, User.uuid == RefreshToken.user_uuid) \
        .where(User.tenant_uuid.in_(tenants))
    if user_uuid is not None:
        query = query.where(RefreshToken.user_uuid == user_uuid)
    return query


# Text sorts bytewise, whatever the database's collation (admin spec §0.5), as every list.
LIST_COLUMNS = {'created_at': RefreshToken.created_at,
                'client_id': RefreshToken.client_id.collate('C'), 'mobile': RefreshToken.mobile}
