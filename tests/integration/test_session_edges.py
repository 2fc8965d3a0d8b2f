"""Edges of the lifecycle of sessions and access tokens: concurrent logins upgrading a hash,
a device approved before a password change, expire_soon before every purge, the purge's
connections."""
from __future__ import annotations

import time
from collections import Counter

import pytest
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import text as sql

from tests.integration.test_refresh_races import _together
from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.device_flow import Person, poll_error, start
from tests.support.offline_access import PASSWORD, digest, execute, rows, token_of
from tests.support.polling import wait_until
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.config import ConfigError
from wazo_like_auth.services.cleanup import ExpiredTokenCleaner


def test_concurrent_logins_of_a_user_whose_hash_is_upgraded_all_succeed(
        make_config, db_uri, engine, make_user):
    """A hash made at a lower cost is re-hashed at the next login (spec D6). Two logins of
    that user at once both read the old hash; the first re-hashes it, and the second, seeing
    the hash changed, refuses the right password as 'user changed during login' (401, counted
    as a failed login towards the throttle)."""
    make_user('alice')  # cost 4
    config = make_config(db_uri=db_uri, password_hash_rounds=10)
    with running_app(config, engine) as app:
        responses = _together(app, 4, lambda c, i: c.post(
            '/0.1/token', json={}, headers=basic('alice', PASSWORD)))

    assert Counter(r.status_code for r in responses) == {200: 4}, \
        [r.get_json() for r in responses if r.status_code != 200]


@pytest.fixture
def tv(make_client):
    make_client('tv', public=True, name='Living room TV')
    return OAuth2Session('tv', token_endpoint_auth_method='none')


def test_a_device_approved_before_a_password_change_gets_no_token_after_it(
        api, tv, make_user, admin_token, clock):
    """Changing a password ends every session and refuses every login whose password was
    checked before the change (services/tokens.py: 'user changed during login'); an
    authorization code of the sign-in goes too (its sign-in session is deleted). A device
    authorization approved on the verification page with the old password is kept: the
    device's next poll gets a token made after the password change."""
    alice = make_user('alice', PASSWORD, acl=['confd.users.me.read'])
    started = start(api)
    person = Person()
    done = person.decide(person.sign_in(started['verification_uri_complete'], 'alice',
                                        PASSWORD), 'approve')
    assert 'Device connected' in done.text

    changed = api.admin('PUT', f'/users/{alice}/password', admin_token,
                        json={'old_password': PASSWORD, 'new_password': 'n3w-secret'})
    assert changed.status_code == 204, changed.text
    clock.advance(1)

    assert poll_error(api, tv, started['device_code']) in ('access_denied', 'invalid_grant')


def test_every_purged_session_was_announced_as_expiring_soon_first(client, engine, make_user):
    """auth_session_expire_soon: once per session, when the purge finds its token expiring
    within token_cleanup_interval (README, Events). Each cycle announces [now, now +
    interval), but the next cycle starts ``interval`` after the END of this one (its purge,
    its other housekeeping: sign-ins, counters, the audit trail's retention), so a token
    expiring in between is never announced: the next cycle finds it expired and purges it.
    Here the cycle's other work takes 0.8 s of a 2 s interval; a token expiring in those
    0.8 s is purged with no expire_soon."""
    make_user('alice')
    token = token_of(client, 'alice')
    session = rows(engine, 'SELECT session_uuid FROM auth_token WHERE token_hash = :h',
                   h=digest(token))[0][0]
    cleaner = ExpiredTokenCleaner(engine=engine, interval=2, batch_size=10,
                                  also=[lambda: time.sleep(0.8)])
    # Cycles at about 2 s (announcing [2 s, 4 s)), then 4.8 s (announcing [4.8 s, 6.8 s)).
    execute(engine, "UPDATE auth_token SET expires_at = now() + interval '4.4 seconds' "
                    'WHERE token_hash = :h', h=digest(token))
    cleaner.start()
    try:
        assert wait_until(lambda: not rows(
            engine, 'SELECT 1 FROM auth_session WHERE uuid = :s', s=session), timeout=15)
    finally:
        cleaner.stop()

    announced = rows(engine, "SELECT count(*) FROM auth_event WHERE session_uuid = :s "
                             "AND name = 'auth_session_expire_soon'", s=session)[0][0]
    assert announced == 1


def test_the_purge_has_the_connections_it_needs(make_config, db_uri, make_user):
    """The purge holds a connection for its advisory lock for the whole cycle, and works on
    another: with db_pool_size 1 it waited db_connect_timeout for itself, failed, and never
    purged (every request waiting meanwhile); with amqp on, 2 was the same (the publisher
    keeps one). Such a pool is refused; with the smallest accepted one, it purges."""
    with pytest.raises(ConfigError, match='db_pool_size: must be at least 2 with '
                                          'token_cleanup_interval'):
        make_config(db_uri=db_uri, db_pool_size=1)
    make_user('alice')
    app = create_app(make_config(db_uri=db_uri, db_pool_size=2, db_connect_timeout=1))
    try:
        services = services_of(app)
        client = app.test_client()
        token = client.post('/0.1/token', json={},
                            headers=basic('alice', PASSWORD)).get_json()['data']['token']
        with services.engine.begin() as conn:
            conn.execute(sql("UPDATE auth_token SET expires_at = now() - interval '1 s'"))

        assert services.cleaner.purge() == 1
        assert client.head(f'/0.1/token/{token}').status_code == 404
    finally:
        shutdown(app)
