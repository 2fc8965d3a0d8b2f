"""The per-process validation cache: hits, cluster-wide invalidation, fail-closed listener."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import make_url, text

from tests.support.polling import wait_until
from tests.support.stalling_proxy import StallingProxy
from wazo_like_auth import tokens
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.models import Session
from wazo_like_auth.repositories import sessions as session_repo
from wazo_like_auth.services.validation_cache import LISTENER_NAME


@pytest.fixture
def other_node(config, engine):
    """A second app on the same database, as another node would be."""
    app = create_app(config, engine=engine)
    assert wait_until(lambda: services_of(app).validation_cache.enabled)
    yield app
    shutdown(app)


def _token(make_user, login, **body):
    make_user(acl=['confd.#'])
    return login(body=body).get_json()['data']['token']


def _revoked_within(client, token, seconds):
    started = time.monotonic()
    ok = wait_until(lambda: client.head(f'/0.1/token/{token}').status_code == 404, seconds)
    return ok, time.monotonic() - started


def test_second_check_is_served_from_the_cache(services, client, make_user, login):
    token = _token(make_user, login)
    assert client.head(f'/0.1/token/{token}').status_code == 204
    hits = services.validation_cache.hits
    assert client.head(f'/0.1/token/{token}?scope=confd.users.read').status_code == 204
    assert services.validation_cache.hits == hits + 1


def test_revocation_on_another_node_is_seen(services, client, other_node, make_user, login):
    """The bound (<= 100 ms) is measured by `make bench --nodes 2`, not here."""
    token = _token(make_user, login)
    assert client.head(f'/0.1/token/{token}').status_code == 204  # now cached here
    assert other_node.test_client().delete(f'/0.1/token/{token}').status_code == 200
    ok, _ = _revoked_within(client, token, 2.0)
    assert ok


def test_revocation_by_cascade_is_seen(services, client, engine, make_user, login):
    token = _token(make_user, login)
    assert client.head(f'/0.1/token/{token}').status_code == 204
    with engine.begin() as conn:  # as a user deletion made by another node would
        conn.execute(text('DELETE FROM auth_user'))
    ok, _ = _revoked_within(client, token, 2.0)
    assert ok


def test_local_revocation_is_seen_by_the_next_check(services, client, make_user, login):
    token = _token(make_user, login)
    session = client.get(f'/0.1/token/{token}').get_json()['data']['session_uuid']
    assert client.head(f'/0.1/token/{token}').status_code == 204
    with services.sessions.begin() as db:  # a revocation committed by this process
        session_repo.delete_where(db, Session.uuid == uuid.UUID(session))
    assert client.head(f'/0.1/token/{token}').status_code == 404


def test_cache_turns_off_when_the_listener_is_lost_and_back_after(services, engine):
    cache = services.validation_cache
    with engine.begin() as conn:
        conn.execute(text('SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                          'WHERE application_name = :name'), {'name': LISTENER_NAME})
    assert wait_until(lambda: not cache.enabled, 5.0)
    assert wait_until(lambda: cache.enabled, 5.0)


def test_cached_tokens_of_one_acl_share_its_compiled_form(services, client, make_user, login):
    """Issue 14: one compiled ACL per distinct ACL in the cache, whoever holds it, each token
    still granted its own `me` and `my_session` only."""
    acl = ['confd.users.me.read', 'auth.sessions.my_session.delete', 'dird.personal.#']
    users = {name: make_user(name, acl=acl) for name in ('alice', 'bob')}
    seen = []
    for name, user in users.items():
        for _ in range(2):  # two sessions each
            data = login(name).get_json()['data']
            token, session = data['token'], data['session_uuid']
            other = users['bob' if name == 'alice' else 'alice']
            assert client.head(f'/0.1/token/{token}?scope=confd.users.{user}.read') \
                .status_code == 204
            assert client.head(f'/0.1/token/{token}?scope=confd.users.{other}.read') \
                .status_code == 403
            assert client.head(f'/0.1/token/{token}?scope=auth.sessions.{session}.delete') \
                .status_code == 204
            seen.append(services.validation_cache.get(tokens.token_digest(token)))
    assert all(row is not None for row in seen)
    assert len({id(row.access) for row in seen}) == 1
    assert len({id(row.acl) for row in seen}) == 1
    assert list(seen[0].acl) == acl


@pytest.fixture
def proxied_app(make_config, db_uri):
    """An app reaching the session's PostgreSQL through a StallingProxy."""
    url = make_url(db_uri)
    proxy = StallingProxy((url.host, url.port))
    app = create_app(make_config(db_uri=url.set(port=proxy.port).render_as_string(
        hide_password=False), db_connect_timeout=1))
    yield app, proxy
    proxy.close()  # first: it wakes anything still waiting on a silenced connection
    shutdown(app)


def test_a_listener_that_stops_hearing_from_postgresql_turns_the_cache_off(
        proxied_app, engine, make_user, login):
    app, proxy = proxied_app
    cache, client = services_of(app).validation_cache, app.test_client()
    assert wait_until(lambda: cache.enabled)
    token = _token(make_user, login)
    assert client.head(f'/0.1/token/{token}').status_code == 204  # cached now

    # The listener's connection goes silent (a partition, a hung server): no error, no
    # notification. Another node logs the token out meanwhile.
    assert proxy.stall(LISTENER_NAME.encode()) == 1
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM auth_session'))

    # Within its 1 s keep-alive and the 1 s timeout, the listener notices, and the cache no
    # longer answers from memory: the check asks PostgreSQL (through connections that work).
    ok, seconds = _revoked_within(client, token, 10)
    assert ok, f'still 204 after {seconds:.1f} s: a revoked token accepted'
    assert seconds < 5
