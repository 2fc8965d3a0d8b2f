"""pytest plugin: one real PostgreSQL per test session, schema built by the real migrations,
and the cleanup that brings it back to the freshly migrated content after a test."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, MetaData, create_engine, select, tuple_
from sqlalchemy.schema import sort_tables

from tests.support.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.models import Email, Policy, Tenant, User, UserPolicy
from wazo_like_auth.passwords import PasswordHasher


class Baseline:
    """The rows the migrations leave (the top tenant, the seeded policy, ...). ``restore``
    deletes every other row of every table of the schema: the tables come from the database
    itself, so a new table is emptied without anybody listing it."""

    def __init__(self, engine: Engine):
        metadata = MetaData()
        metadata.reflect(engine)
        tables = [t for t in metadata.tables.values() if t.name != 'alembic_version']
        # Children first; a SET NULL reference (tenant.contact_uuid) does not order deletes,
        # nor does auth_session.signin_uuid (ON DELETE CASCADE, the other way round of
        # auth_signin.session_uuid: the one loop of the schema).
        ordered = list(reversed(sort_tables(tables, skip_fn=_unordered)))
        # The event outbox last: the deletes above write events through triggers.
        self._tables = sorted(ordered, key=lambda t: t.name == 'auth_event')
        with engine.connect() as conn:
            self._kept = {t.name: [tuple(row) for row in
                                   conn.execute(select(*t.primary_key.columns))]
                          for t in self._tables}

    def restore(self, engine: Engine) -> None:
        with engine.begin() as conn:
            for table in self._tables:
                kept = self._kept[table.name]
                statement = table.delete()
                if kept:
                    statement = statement.where(tuple_(*table.primary_key.columns).not_in(kept))
                conn.execute(statement)


@pytest.fixture(scope='session')
def postgres():
    with Postgresql() as pg:
        yield pg


@pytest.fixture(scope='session')
def _migrated(postgres) -> Iterator[tuple[Engine, Baseline]]:
    """The database migrated, and its content noted before anything else touches it."""
    engine = create_engine(db.url(postgres.url()), pool_size=10)
    db.upgrade(engine)
    yield engine, Baseline(engine)
    engine.dispose()


@pytest.fixture(scope='session')
def db_uri(postgres, _migrated):
    """The URI of the session's database, migrated."""
    return postgres.url()


@pytest.fixture(scope='session')
def engine(_migrated):
    return _migrated[0]


@pytest.fixture(scope='session')
def baseline(_migrated) -> Baseline:
    return _migrated[1]


@pytest.fixture
def sessions(engine):
    return db.make_sessionmaker(engine)


@pytest.fixture
def top_tenant(sessions):
    with sessions() as s:
        return s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()


@pytest.fixture
def make_user(sessions, top_tenant):
    """Create a user directly in the database; returns its uuid."""
    hasher = PasswordHasher(rounds=4)

    def make(username='alice', password='s3cret', *, acl=(), purpose='user', enabled=True,
             tenant_uuid=None, email=None, email_confirmed=True, password_hash=None):
        with sessions.begin() as s:
            user = User(uuid=uuid.uuid4(), username=username, purpose=purpose, enabled=enabled,
                        tenant_uuid=tenant_uuid or top_tenant,
                        password_hash=password_hash or (hasher.hash(password)
                                                        if password else None))
            s.add(user)
            s.flush()
            if email:
                s.add(Email(user_uuid=user.uuid, address=email, confirmed=email_confirmed,
                            main=True))
            if acl:
                policy = Policy(tenant_uuid=user.tenant_uuid, name=f'p-{user.uuid}',
                                slug=f'p-{user.uuid.hex[:20]}', acl=list(acl))
                s.add(policy)
                s.flush()
                s.add(UserPolicy(user_uuid=user.uuid, policy_uuid=policy.uuid))
            return user.uuid
    return make


def _unordered(fk) -> bool:
    return fk.ondelete == 'SET NULL' or (fk.parent.table.name, fk.column.table.name) == (
        'auth_session', 'auth_signin')
