"""pytest plugin: the application under test, its test client, and logging in."""
from __future__ import annotations

import pytest

from tests.support.clock import ManualClock
from tests.support.credentials import basic
from tests.support.polling import wait_until
from wazo_like_auth.app import create_app, services_of, shutdown


@pytest.fixture
def config(make_config, db_uri):
    return make_config(db_uri=db_uri)


@pytest.fixture
def clock():
    """The clock of the ``app`` and ``oauth_app`` fixtures; ``clock.advance(s)`` moves it."""
    return ManualClock()


@pytest.fixture
def app(config, engine, clock):
    app = create_app(config, engine=engine, clock=clock)
    yield app
    shutdown(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app):
    """The app's services, once its validation cache listens for revocations."""
    services = services_of(app)
    assert wait_until(lambda: services.validation_cache.enabled)
    return services


@pytest.fixture
def login(client):
    """POST /token with Basic credentials; returns the response."""
    def do(username='alice', password='s3cret', body=None, headers=None, prefix='/0.1'):
        return client.post(f'{prefix}/token', json=body if body is not None else {},
                           headers={**basic(username, password), **(headers or {})})
    return do
