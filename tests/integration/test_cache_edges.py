"""Edges of the validation cache: its listener with many descriptors or several database hosts,
a JWT checked past its exp, the size of an entry."""
from __future__ import annotations

import datetime as dt
import os
import resource

import pytest
from sqlalchemy import make_url

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.jwt_access import unverified_claims
from tests.support.polling import wait_until
from wazo_like_auth import tokens
from wazo_like_auth.app import services_of


# --- the listener connects wherever the service's engine does ----------------------------


def test_the_cache_listens_with_a_multi_host_db_uri(make_config, db_uri):
    """libpq and SQLAlchemy take several hosts (``?host=a:5432&host=b:5432``, tried in order:
    failover). The service serves with such a db_uri; its validation cache must listen too,
    not stay off for good with a warning a second (the listener got host="('a', 'b')")."""
    url = make_url(db_uri)
    host = f'{url.host}:{url.port}'
    multi = url.set(host=None, port=None).update_query_pairs(
        [('host', host), ('host', host)]).render_as_string(hide_password=False)
    with running_app(make_config(db_uri=multi), engine=None) as app:
        try:
            assert app.test_client().get('/0.1/status').status_code == 200  # the engine works
            cache = services_of(app).validation_cache
            assert wait_until(lambda: cache.enabled, 5.0), 'the validation cache never listened'
        finally:
            services_of(app).engine.dispose()


@pytest.fixture
def busy_descriptors():
    """This process with over 1024 descriptors open, as a granian worker serving a thousand
    keep-alive connections is (granian raises the soft RLIMIT_NOFILE to the hard limit;
    systemd's hard limit is 524288): a new socket gets a descriptor numbered 1024 or more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip('needs a hard RLIMIT_NOFILE of 2048 or more')
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held: list[int] = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_cache_listens_in_a_worker_holding_over_1024_descriptors(busy_descriptors,
                                                                     config, engine):
    """select.select() refuses descriptors >= 1024 (ValueError): the listener then never
    listens, and the worker serves every check from PostgreSQL, a warning a second."""
    with running_app(config, engine) as app:
        cache = services_of(app).validation_cache
        assert wait_until(lambda: cache.enabled, 5.0), 'the validation cache never listened'


# --- expiry ------------------------------------------------------------------------------


def test_a_jwt_is_refused_from_its_exp_on(services, admin, client, clock):
    """RFC 7519 §4.1.4: a JWT must not be accepted on or after its ``exp``. Its claim is the
    row's expiry truncated to the second, and checks (cached or not) read the row's: up to a
    second after ``exp`` the online check still says 204."""
    made = admin.ok('POST', '/clients', json={'client_id': 'billing', 'acl': ['confd.#'],
                                              'access_token_format': 'jwt'})
    for _ in range(20):  # one whose row outlives its exp by more than 0.3 s
        response = client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                               headers=basic('billing', made['client_secret']))
        value = response.get_json()['access_token']
        row = client.get(f'/0.1/token/{value}').get_json()['data']  # cached now
        if dt.datetime.fromisoformat(row['utc_expires_at']).microsecond > 300_000:
            break
    exp = unverified_claims(value)['exp']
    clock.advance(exp + 0.1 - clock().timestamp())  # 0.1 s past the token's exp
    assert client.head(f'/0.1/token/{value}').status_code == 404


# --- memory ------------------------------------------------------------------------------


def test_a_cached_token_does_not_grow_with_the_user_agent_it_was_requested_with(
        services, client, make_user, login):
    """The cache is bounded in entries (validation_cache_size), so what one entry holds must
    not be the caller's to choose. Any user may log in again and again with a 30 KB
    User-Agent and a short expiration (expired sessions count against no limit, expired
    entries stay cached until pushed out) and GET each token once: 10,000 entries of 60 KB
    (the agent, then again in the GET body kept with the entry, "under 1 KB") are 600 MB
    per worker."""
    make_user(acl=['confd.users.me.read'])
    token = login(body={'expiration': 60},
                  headers={'User-Agent': 'A' * 30_000}).get_json()['data']['token']
    assert client.get(f'/0.1/token/{token}').status_code == 200  # cached, with its GET body
    row = services.validation_cache.get(tokens.token_digest(token))
    held = len(row.user_agent) + len(row.check_body_tail or b'')
    assert held < 4096, f'{held} bytes of one cached entry come from its User-Agent header'
