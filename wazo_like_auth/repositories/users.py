"""Users: lookups for login and ACL assembly, administration, e-mails."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (Connection, Select, bindparam, func, literal, literal_column, or_, select,
                        text, update)
from sqlalchemy import delete as delete_statement
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..models import Email, GroupPolicy, Policy, Tenant, User, UserGroup, UserPolicy
from ..prepared import PreparedQuery
from . import device_codes as device_repo
from . import mail as mail_repo
from . import policies as policy_repo
from .login_match import login_passes, typed_first, unicode_lowered


def find_enabled_by_login(session: Session, login: str) -> User | None:
    """The enabled user whose confirmed e-mail, else whose username, equals ``login``
    case-insensitively (wazo-token-api §1.2 step 5; login_match.login_passes)."""
    for matches, same in login_passes(login):
        by_email = (select(User, Email.address).join(Email, Email.user_uuid == User.uuid)
                    .where(matches(Email.address), Email.confirmed.is_(True),
                           User.enabled.is_(True))
                    .order_by(typed_first(Email.address, login), Email.uuid))
        by_username = select(User, User.username) \
            .where(matches(User.username), User.enabled.is_(True)) \
            .order_by(typed_first(User.username, login), User.uuid)
        for query in (by_email, by_username):
            user = next((user for user, value in session.execute(query) if same(value)), None)
            if user is not None:
                return user
    return None


def any_user(db: Session) -> bool:
    return db.execute(select(User.uuid).limit(1)).first() is not None


def lock_of_tenant(db: Session, tenant_uuid: uuid.UUID) -> None:
    """Lock the users of a tenant for update, in uuid order, until the transaction ends."""
    lock_of_tenants(db, [tenant_uuid])


def lock_of_tenants(db: Session, tenants: Sequence[uuid.UUID]) -> None:
    """Lock the users of ``tenants`` for update, in uuid order, until the transaction ends."""
    db.execute(select(User.uuid).where(User.tenant_uuid.in_(tenants))
               .order_by(User.uuid).with_for_update())


def get(session: Session, user_uuid: uuid.UUID) -> User | None:
    return session.get(User, user_uuid)


def tenant_of(db: Session | Connection, user_uuid: uuid.UUID) -> uuid.UUID | None:
    """The tenant of user ``user_uuid``; None when there is no such user."""
    return db.execute(select(User.tenant_uuid).where(User.uuid == user_uuid)).scalar()


def owner_of_email(db: Session, email_uuid: uuid.UUID) -> uuid.UUID | None:
    """The user holding address ``email_uuid``; None when there is no such address."""
    return db.execute(select(Email.user_uuid).where(Email.uuid == email_uuid)).scalar()


def in_tenants(db: Session, user_uuids: Iterable[uuid.UUID | None],
               tenants: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_uuids`` name a user of one of ``tenants``."""
    wanted = [u for u in user_uuids if u is not None]
    if not wanted:
        return set()
    return set(db.scalars(select(User.uuid).where(User.uuid.in_(wanted),
                                                  User.tenant_uuid.in_(list(tenants)))))


def find_by_username(session: Session, username: str) -> User | None:
    """The user (enabled or not) whose username is ``username``, in any case."""
    for matches, same in login_passes(username):
        query = select(User).where(matches(User.username)) \
            .order_by(typed_first(User.username, username), User.uuid)
        user = next((user for user in session.scalars(query) if same(user.username)), None)
        if user is not None:
            return user
    return None


def token_acl_columns(user, with_default: bool) -> list:
    """The ACL a new token of ``user`` gets (see ``token_acl``), as scalar subqueries to select:
    the default policy's ACL when ``with_default`` (with ``default_policy`` as a bind
    parameter), then the ACLs of the user's groups' policies and of the user's own policies as
    JSON lists of ACLs, by policy name. ``user`` is a bind parameter or a column of the
    enclosing query (the refresh exchange reads them beside its row: one round trip);
    ``flatten_acl`` makes the ACL of the selected values."""
    by_group = select(func.json_agg(aggregate_order_by(Policy.acl, Policy.name))) \
        .join(GroupPolicy, GroupPolicy.policy_uuid == Policy.uuid) \
        .join(UserGroup, UserGroup.group_uuid == GroupPolicy.group_uuid) \
        .where(UserGroup.user_uuid == user)
    own = select(func.json_agg(aggregate_order_by(Policy.acl, Policy.name))) \
        .join(UserPolicy, UserPolicy.policy_uuid == Policy.uuid) \
        .where(UserPolicy.user_uuid == user)
    columns = [by_group.scalar_subquery().label('group_acls'),
               own.scalar_subquery().label('own_acls')]
    if with_default:
        # Only a policy the operator controls: declared in the configuration, else made in the
        # top tenant. A namesake in any other tenant is ignored (issue 12, item 2).
        top = select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid).scalar_subquery()
        default = select(Policy.acl).where(
            Policy.name == bindparam('default_policy'),
            or_(Policy.config_managed.is_(True), Policy.tenant_uuid == top),
        ).order_by(Policy.config_managed.desc()).limit(literal_column('1'))
        columns.insert(0, default.scalar_subquery().label('default_acl'))
    return columns


def flatten_acl(row) -> list[str]:
    """The ACL of a row (or object) with the ``token_acl_columns`` as attributes: plain
    concatenation, order kept."""
    lists = (row.group_acls or []) + (row.own_acls or [])
    return [*(getattr(row, 'default_acl', None) or ()), *(e for acl in lists for e in acl)]


# Prepared: every login runs one, and planning it costs more than running it.
_TOKEN_ACL = {
    with_default: PreparedQuery(
        'wla_token_acl_with_default' if with_default else 'wla_token_acl',
        select(*token_acl_columns(bindparam('user_uuid', type_=UserGroup.user_uuid.type),
                                  with_default)))
    for with_default in (True, False)}


def token_acl(session: Session, user_uuid: uuid.UUID, default_policy: str | None) -> list[str]:
    """The ACL a new token gets: default policy, then the user's groups' policies, then the
    user's own policies (wazo-token-api §1.3 step 3). Plain concatenation, order kept; one
    query. The default policy is the one named ``default_policy`` declared in the
    configuration, else the top tenant's; never another tenant's."""
    query = _TOKEN_ACL[bool(default_policy)]
    return flatten_acl(query.execute(session, {
        'user_uuid': user_uuid, 'default_policy': default_policy}).one())


def acl_shown(db: Session, user_uuid: uuid.UUID, tenants: Sequence[uuid.UUID]) -> set[str]:
    """The entries of the user's own and groups' policies that a caller of ``tenants`` sees
    (policies of one of them, or shared)."""
    own = select(UserPolicy.policy_uuid).where(UserPolicy.user_uuid == user_uuid)
    grouped = select(GroupPolicy.policy_uuid).join(
        UserGroup, UserGroup.group_uuid == GroupPolicy.group_uuid).where(
        UserGroup.user_uuid == user_uuid)
    return policy_repo.entries_seen(db, own.union(grouped), tenants)


# Logins are unique across two tables (usernames and e-mail addresses, case-insensitively);
# no index can enforce that, so the writes that add logins are serialised by this lock.
_LOGINS_LOCK = 0x7761_7a6f_6c6f_67  # arbitrary, fixed: "wazolog"


def lock_logins(db: Session) -> None:
    """Hold the login lock until the end of the transaction."""
    db.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': _LOGINS_LOCK})


def login_taken(db: Session, login: str, other_than: uuid.UUID | None = None) -> bool:
    """True when a user other than ``other_than`` has ``login`` as its username or one of its
    e-mail addresses, case-insensitively, in any tenant (admin spec §1.2): Unicode letters
    included, which a C-locale database does not lower (``JOSÉ`` takes ``josé``), checked in
    Python over the few candidates login_match.unicode_lowered finds. A login equal to another
    as the database lowers them is taken too: the unique indexes hold it so (a UTF-8 locale
    lowers 'ΟΔΟΣ' to 'οδοσ', Python to 'οδος'), and a lookup as written finds it, e-mails
    first (an address equal so to a username took that username's login)."""
    key = login.lower()

    def candidates(column, owner):
        same_in_db = func.lower(column) == func.lower(literal(login))
        query = select(column, same_in_db).where(or_(same_in_db, unicode_lowered(column, key)))
        return query if other_than is None else query.where(owner != other_than)
    rows = db.execute(candidates(User.username, User.uuid)
                      .union_all(candidates(Email.address, Email.user_uuid)))
    return any(same_in_db or value.lower() == key for value, same_in_db in rows if value)


def listing(tenants: Sequence[uuid.UUID]) -> Select:
    return select(User).where(User.tenant_uuid.in_(tenants))


def emails_of(db: Session, user_uuids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Email]]:
    """The e-mails of each user, main first."""
    found: dict[uuid.UUID, list[Email]] = {user_uuid: [] for user_uuid in user_uuids}
    if user_uuids:
        query = select(Email).where(Email.user_uuid.in_(user_uuids)) \
            .order_by(Email.main.desc(), Email.address)
        for email in db.scalars(query):
            found[email.user_uuid].append(email)
    return found


def replace_emails(db: Session, user_uuid: uuid.UUID, items: Sequence[dict]) -> list[Email]:
    """Make ``items`` ({address, main, confirmed: bool | None}) the user's e-mails.

    An address equal to a current one keeps that e-mail's uuid, and its confirmed state unless
    ``confirmed`` is given; new addresses are unconfirmed unless ``confirmed`` says otherwise.
    """
    current = {email.address: email for email in emails_of(db, [user_uuid])[user_uuid]}
    wanted = {item['address'] for item in items}
    for address, email in current.items():
        if address not in wanted:
            db.delete(email)
    db.flush()  # a case-variant of a removed address may be added below
    result = []
    for item in items:
        email = current.get(item['address'])
        if email is None:
            email = Email(uuid=uuid.uuid4(), user_uuid=user_uuid, address=item['address'],
                          confirmed=False)
            db.add(email)
        email.main = item['main']
        if item.get('confirmed') is not None:
            email.confirmed = item['confirmed']
        result.append(email)
    db.flush()
    return result


def rehash_password(db: Session, user_uuid: uuid.UUID, old_hash: str, new_hash: str) -> bool:
    """Store a stronger hash of the user's unchanged password (at login), if its hash is still
    ``old_hash`` (False otherwise). Not a password change: the transaction-local setting tells
    migration 0013's trigger to write no event, and the links mailed to the user and its
    device authorizations (which remember the hash) keep working."""
    db.execute(text("SELECT set_config('wazo_like_auth.password_rehash', 'on', true)"))
    if db.execute(update(User).where(User.uuid == user_uuid, User.password_hash == old_hash)
                  .values(password_hash=new_hash)).rowcount == 0:
        return False
    mail_repo.carry_password_fingerprint(db, user_uuid, old_hash, new_hash)
    device_repo.carry_password_fingerprint(db, user_uuid, old_hash, new_hash)
    return True


def join_group(db: Session, user_uuid: uuid.UUID, group_uuid: uuid.UUID) -> None:
    db.execute(pg_insert(UserGroup).values(user_uuid=user_uuid, group_uuid=group_uuid)
               .on_conflict_do_nothing())


def delete(db: Session, user_uuid: uuid.UUID) -> None:
    """Delete a user; its e-mails, policy and group links and refresh tokens cascade, tenants
    it was the contact of get no contact. Its sessions are the caller's business (D5)."""
    db.execute(delete_statement(User).where(User.uuid == user_uuid))


def enabled_with_confirmed_email(db: Session, address: str) -> Any:
    """(user, e-mail) of the enabled user with this confirmed e-mail (in any case), or None."""
    for matches, same in login_passes(address):
        query = select(User, Email).join(Email, Email.user_uuid == User.uuid) \
            .where(matches(Email.address), Email.confirmed.is_(True), User.enabled.is_(True)) \
            .order_by(typed_first(Email.address, address), Email.uuid)
        row = next((row for row in db.execute(query) if same(row[1].address)), None)
        if row is not None:
            return row
    return None


def confirmed_email_count(db: Session, user_uuid: uuid.UUID) -> int:
    return db.scalar(select(func.count()).select_from(Email).where(
        Email.user_uuid == user_uuid, Email.confirmed.is_(True)))


def count_in_tenant(db: Session, tenant_uuid: uuid.UUID) -> int:
    return db.scalar(select(func.count()).select_from(User)
                     .where(User.tenant_uuid == tenant_uuid))
