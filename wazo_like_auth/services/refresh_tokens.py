"""Refresh tokens: offline access bound to a client_id (wazo-token-api §1.3, §3.3).

Values are derived, not stored: HMAC(token_secret, row uuid), so a repeated non-mobile offline
login answers the same value while a database dump holds only its SHA-256 (spec D3).

Rotating token_secret invalidates every refresh token: a presented value is accepted only if it
is the one derived under the current secret (a lookup by digest alone would keep old values
working while re-derived ones failed), and the next offline login of the same client re-keys
its row under the current secret.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..exceptions import RefreshTokenConflict, UnknownRefreshToken
from ..logs import get_logger
from ..models import User
from ..repositories import refresh_tokens as refresh_repo
from ..repositories.refresh_tokens import ExchangeReads
from ..repositories import sessions as session_repo
from ..repositories import tenants as tenant_repo
from ..repositories.listing import paginate
from .listing import ListQuery, Page

logger = get_logger(__name__)

# The values a rotating refresh token was rotated away from that are remembered to recognise
# a reuse. Each exchange adds one: kept all, a holder of one grant exchanging in a loop grew
# the table without end. An older value presented again is refused as an unknown one (it
# still gets nothing), without revoking the grant.
RETIRED_VALUES_KEPT = 1000


@dataclass(frozen=True)
class Obtained:
    uuid: uuid.UUID
    value: str
    sessions_revoked: int


class RefreshTokenService:
    def __init__(self, *, sessions: sessionmaker, secret: bytes):
        self._sessions = sessions
        self._secret = secret

    def value_of(self, row_uuid: uuid.UUID, generation: int = 0) -> str:
        return tokens.derive_refresh_token(self._secret, row_uuid, generation)

    def obtain(self, db, user: User, *, login: str, client_id: str, mobile: bool,
               backend: str, user_agent: str, remote_addr: str,
               rotates: bool = False) -> Obtained:
        """The user's refresh token for ``client_id`` within the caller's transaction.

        Non-mobile: the existing one is reused (same value). Mobile: the user's other mobile
        refresh tokens, any existing one for this client, and the sessions created from them
        are removed, and a new one is made. The caller holds the user row lock. ``rotates``
        (a public OAuth 2.0 client's grant): a new one of its own, rotated at each exchange.
        """
        if rotates:
            return self._new(db, user, login=login, client_id=client_id, mobile=False,
                             backend=backend, user_agent=user_agent, remote_addr=remote_addr,
                             rotates=True)
        revoked = 0
        # Held: a concurrent DELETE /users/{u}/tokens/{c} must not remove the row that the
        # caller's new token is about to reference (that would be a foreign-key 500).
        existing = refresh_repo.find_for_client(db, user.uuid, client_id, hold=True)
        if mobile:
            doomed = set(refresh_repo.mobile_of_user(db, user.uuid))
            if existing is not None:
                doomed.add(existing.uuid)
            revoked = len(session_repo.delete_from_refresh_tokens(db, list(doomed)))
            refresh_repo.delete_uuids(db, list(doomed))
            db.expire_all()
        elif existing is not None:
            return Obtained(existing.uuid, self._current_value(existing), 0)
        obtained = self._new(db, user, login=login, client_id=client_id, mobile=mobile,
                             backend=backend, user_agent=user_agent, remote_addr=remote_addr)
        if obtained is None:  # created meanwhile by a login not serialised with ours
            current = refresh_repo.find_for_client(db, user.uuid, client_id, hold=True)
            if current is None:  # and already deleted again: 409, the client may retry
                raise RefreshTokenConflict()
            return Obtained(current.uuid, self._current_value(current), revoked)
        return Obtained(obtained.uuid, obtained.value, revoked)

    def _new(self, db, user: User, *, client_id: str, **columns) -> Obtained | None:
        """A new row, or None when the Wazo API's row of (user, client_id) exists."""
        row_uuid = uuid.uuid4()
        value = self.value_of(row_uuid)
        if not refresh_repo.insert_if_absent(
                db, row_uuid=row_uuid, digest=tokens.token_digest(value), client_id=client_id,
                user_uuid=user.uuid, metadata_={}, **columns):
            return None
        logger.info('refresh token created for user %s client_id %r', user.uuid, client_id)
        return Obtained(row_uuid, value, 0)

    def rotate(self, db, row) -> str:
        """The next value of a rotating refresh token ``row`` (its current one stops working
        and is remembered, to recognise its reuse), within the caller's transaction, which
        locked the row (``lock_for_rotation``)."""
        value = self.value_of(row.uuid, row.generation + 1)
        previous = tokens.token_digest(self.value_of(row.uuid, row.generation))
        if not refresh_repo.rotate(db, row.uuid, row.generation, tokens.token_digest(value),
                                   previous):
            raise RefreshTokenConflict()  # not expected under the lock: a 409 to retry
        forgotten = row.generation - RETIRED_VALUES_KEPT  # values derive from the generation
        if forgotten >= 0:
            refresh_repo.forget_retired(db, tokens.token_digest(self.value_of(row.uuid,
                                                                             forgotten)))
        return value

    def lock_for_rotation(self, db, value: str, client_id: str) -> None:
        canonical = tokens.normalize_opaque(value)
        if canonical is not None:
            refresh_repo.lock_for_rotation(db, tokens.token_digest(canonical), client_id)

    def revoke_reused(self, value: str, client_id: str) -> bool:
        """RFC 9700 §4.14.2: ``value`` was rotated away, so it was used twice (by its client
        and by whoever copied it): revoke the refresh token it became, with the sessions
        created from it. False when ``value`` was never one of ``client_id``'s."""
        canonical = tokens.normalize_opaque(value)
        if canonical is None:
            return False
        with self._sessions.begin() as db:
            row = refresh_repo.rotated_away(db, tokens.token_digest(canonical), client_id)
            if row is None:
                return False
            revoked = session_repo.delete_from_refresh_tokens(db, [row.uuid])
            refresh_repo.delete_uuids(db, [row.uuid])
            user_uuid = row.user_uuid
        logger.warning('rotated refresh token of user %s for client_id %r used again: revoked '
                       'with %d sessions', user_uuid, client_id, len(revoked))
        return True

    def _current_value(self, row) -> str:
        """The row's value under the current secret; a row made under a previous secret is
        re-keyed (its old value stops working), within the caller's transaction."""
        value = self.value_of(row.uuid)
        digest = tokens.token_digest(value)
        if row.token_hash != digest:
            row.token_hash = digest
        return value

    def find(self, db, value: str, client_id: str):
        """The refresh-token row for a value and client_id, or None (also when the value was
        derived under a previous token_secret)."""
        return self._lookup(refresh_repo.find, db, value, client_id)

    def find_for_exchange(self, db, value: str, client_id: str, reads: ExchangeReads,
                          client_tenant: uuid.UUID | None = None):
        """As ``find``, with the row's user, both share-locked, and what ``reads`` asks
        (repositories.refresh_tokens.find_for_exchange), and ``confidential``: a confidential
        client registered with this client_id governs it (the user is in the client's tenant
        or below). None when the row was deleted while the lock was awaited, and, for an
        authenticated client (``client_tenant``), when the user is outside its tenants."""
        row = self._lookup(refresh_repo.find_for_exchange, db, value, client_id, reads)
        if row is None or (client_tenant is not None
                           and not governs(db, client_tenant, row.tenant_uuid)):
            return None
        owner = row.confidential_tenant_uuid
        confidential = owner is not None and governs(db, owner, row.tenant_uuid)
        return SimpleNamespace(**row._mapping, confidential=confidential)

    def _lookup(self, query, db, value: str, client_id: str, *args):
        canonical = tokens.normalize_opaque(value)
        if canonical is None:
            return None
        row = query(db, tokens.token_digest(canonical), client_id, *args)
        if row is None or not tokens.constant_time_equals(
                self.value_of(row.uuid, row.generation), canonical):
            return None
        return row

    def list(self, tenants: list[uuid.UUID], query: ListQuery,
             user_uuid: uuid.UUID | None = None) -> Page:
        with self._sessions() as db:
            total, filtered, rows = paginate(
                db, refresh_repo.listing(tenants, user_uuid), query,
                columns=refresh_repo.LIST_COLUMNS, searchable=('client_id',))
        return Page(total, filtered, [_item(row) for row in rows])

    def delete(self, tenants: list[uuid.UUID], user_uuid: uuid.UUID, client_id: str) -> None:
        """Delete the user's refresh tokens for ``client_id`` (the Wazo API's and those of each
        OAuth 2.0 grant); the access tokens obtained with them keep working until they expire
        (wazo-auth behaviour)."""
        if '\x00' in client_id:  # no such client_id can be stored (PostgreSQL text)
            raise UnknownRefreshToken.of(client_id)
        with self._sessions.begin() as db:
            rows = refresh_repo.all_for_client(db, user_uuid, client_id)
            # A concurrent delete (of them, or of the user) may come first: then they are
            # unknown here too.
            user = db.get(User, user_uuid)
            if not rows or user is None or user.tenant_uuid not in tenants \
                    or not refresh_repo.delete_uuids(db, rows):
                raise UnknownRefreshToken.of(client_id)
        logger.info('refresh token of user %s for client_id %r deleted', user_uuid, client_id)


def governs(db, client_tenant: uuid.UUID, user_tenant: uuid.UUID) -> bool:
    """A registered client governs the refresh tokens bound to its client_id of the users of
    its own tenant and of the tenants below it; elsewhere its client_id is a free-form Wazo
    one it has no say over (issue 12: another tenant must not break them)."""
    return client_tenant == user_tenant or tenant_repo.is_subtenant(db, user_tenant,
                                                                    client_tenant)


def _item(row: Any) -> dict[str, Any]:
    return {'client_id': row.client_id, 'created_at': row.created_at.isoformat(),
            'mobile': row.mobile, 'user_uuid': str(row.user_uuid),
            'tenant_uuid': str(row.tenant_uuid), 'metadata': row.metadata or {}}
