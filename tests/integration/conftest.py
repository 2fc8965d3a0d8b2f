"""Integration fixtures: one real PostgreSQL per test session, schema built by the real
migrations, every test starting from the freshly migrated content."""
from __future__ import annotations

import base64
import time
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from tests.integration.admin_client import admin  # noqa: F401 (fixture for all modules)
from tests.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.models import Policy, Tenant, User, UserPolicy
from wazo_like_auth.passwords import PasswordHasher

# Tables emptied between tests; the top tenant and seeded policy survive.
_EMPTIED = ('auth_device_code', 'auth_device_attempt', 'auth_client',
            'auth_token', 'auth_session', 'auth_refresh_token', 'auth_user_policy',
            'auth_user_group', 'auth_group_policy', 'auth_email', 'auth_group', 'auth_user',
            'auth_login_failure', 'auth_login_known_address',
            'auth_mail_outbox', 'auth_mail_request', 'auth_mail_token')


@pytest.fixture(scope='session')
def postgres():
    with Postgresql() as pg:
        yield pg


@pytest.fixture(scope='session')
def db_uri(postgres):
    return postgres.url()


@pytest.fixture(scope='session')
def engine(db_uri):
    engine = create_engine(db.url(db_uri), pool_size=10)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(engine):
    yield
    with engine.begin() as conn:
        # DELETE, not TRUNCATE ... CASCADE: tenant.contact_uuid references auth_user, and a
        # cascading truncate would empty the tenant table, top tenant included.
        for table in _EMPTIED:
            conn.execute(text(f'DELETE FROM {table}'))
        conn.execute(text('DELETE FROM auth_policy WHERE slug <> :s'),
                     {'s': 'wazo_default_master_user_policy'})
        conn.execute(text('DELETE FROM tenant WHERE uuid <> parent_uuid'))


@pytest.fixture
def config(make_config, db_uri):
    return make_config(db_uri=db_uri)


@pytest.fixture
def app(config, engine):
    app = create_app(config, engine=engine)
    yield app
    shutdown(app)


@pytest.fixture
def client(app):
    return app.test_client()


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
        from wazo_like_auth.models import Email
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


def wait_until(predicate, timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def services(app):
    """The app's services, once its validation cache listens for revocations."""
    services = app.extensions['wazo_like_auth']
    assert wait_until(lambda: services['validation_cache'].enabled)
    return services


def basic(login: str, password: str) -> dict[str, str]:
    raw = f'{login}:{password}'.encode()
    return {'Authorization': 'Basic ' + base64.b64encode(raw).decode()}


@pytest.fixture
def login(client):
    """POST /token with Basic credentials; returns the response."""
    def do(username='alice', password='s3cret', body=None, headers=None, prefix='/0.1'):
        return client.post(f'{prefix}/token', json=body if body is not None else {},
                           headers={**basic(username, password), **(headers or {})})
    return do
