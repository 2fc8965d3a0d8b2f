"""The background cleaner forgets expired browser sign-ins and authorization codes without
waiting for someone to sign in, in batches, one node at a time, giving way to requests; a
consent goes with its user or client at once. Through the served app's pages and API, and the
cleaner the app was built with."""
from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import text

from tests.integration.test_oidc_authorize import auth_url, exchange, sign_in
from tests.support.offline_access import rows
from tests.support.oidc import callback_params, realm, register_client, submit  # noqa: F401
from wazo_like_auth.app import services_of
from wazo_like_auth.services.cleanup import CLEANUP_LOCK_ID

LIFETIME = 60
GRACE = 600  # services.oidc_signin.PURGE_GRACE


@pytest.fixture
def oauth_config(make_config, db_uri):
    # One-minute sign-ins, and batches of two: a cycle needs several.
    return make_config(db_uri=db_uri, oidc={'signin_session_lifetime': LIFETIME},
                       token_cleanup_batch_size=2)


@pytest.fixture
def issuer(api, realm):
    return f'{api.base}/realms/acme'


@pytest.fixture
def alice(make_user, realm):
    return make_user('alice', 's3cret', tenant_uuid=realm['uuid'])


@pytest.fixture
def webapp(api, admin_token, realm):
    return register_client(api, admin_token, realm['uuid'])


@pytest.fixture
def cleaner(oauth_app):
    return services_of(oauth_app).cleaner


def counts(engine) -> tuple[int, int]:
    """(sign-ins, authorization codes) stored."""
    return tuple(rows(engine, 'SELECT (SELECT count(*) FROM auth_signin), '
                              '(SELECT count(*) FROM auth_authorization_code)')[0])


def sessions_of(api, admin_token, user) -> int:
    return api.admin('GET', f'/users/{user}/sessions', admin_token).json()['total']


def test_cleaner_forgets_expired_sign_ins_and_codes(api, admin_token, issuer, webapp, alice,
                                                    engine, clock, cleaner):
    browsers = [requests.Session() for _ in range(4)]
    codes = [callback_params(sign_in(b, auth_url(issuer)))['code'] for b in browsers[:3]]
    token = exchange(issuer, webapp, codes[0]).json()['access_token']
    clock.advance(LIFETIME + GRACE + 1)
    callback_params(sign_in(browsers[3], auth_url(issuer)))  # a live sign-in and its code
    assert counts(engine) == (4, 4)

    cleaner.purge()

    assert counts(engine) == (1, 1)
    # Left: the live sign-in's own session, and the session issued through an expired one.
    assert sessions_of(api, admin_token, alice) == 2
    assert api.is_valid(token)
    silent = browsers[3].get(auth_url(issuer, prompt='none'), timeout=10,
                             allow_redirects=False)
    assert 'code' in callback_params(silent)


def test_a_used_code_replayed_after_expiry_still_revokes_until_it_is_forgotten(
        api, issuer, webapp, alice, engine, clock, cleaner):
    code = callback_params(sign_in(requests.Session(), auth_url(issuer)))['code']
    token = exchange(issuer, webapp, code).json()['access_token']
    clock.advance(LIFETIME * 2)  # the code and the sign-in have expired

    cleaner.purge()
    replayed = exchange(issuer, webapp, code)

    assert replayed.json()['error'] == 'invalid_grant'
    assert not api.is_valid(token)  # the code was still known: its replay revoked the token
    clock.advance(GRACE)
    cleaner.purge()
    assert counts(engine) == (0, 0)


def test_purge_waits_for_its_turn_while_another_node_holds_the_lock(issuer, alice, webapp,
                                                                    engine, clock, cleaner):
    callback_params(sign_in(requests.Session(), auth_url(issuer)))
    clock.advance(LIFETIME + GRACE + 1)

    with engine.connect() as other_node:
        other_node.execute(text('SELECT pg_advisory_lock(:id)'), {'id': CLEANUP_LOCK_ID})
        try:
            assert cleaner.purge() is None
            assert counts(engine) == (1, 1)
        finally:
            other_node.execute(text('SELECT pg_advisory_unlock(:id)'), {'id': CLEANUP_LOCK_ID})
            other_node.commit()

    cleaner.purge()
    assert counts(engine) == (0, 0)


def test_purge_gives_way_to_a_request_holding_a_sign_in_row(issuer, alice, webapp, engine,
                                                            clock, cleaner):
    callback_params(sign_in(requests.Session(), auth_url(issuer)))
    clock.advance(LIFETIME + GRACE + 1)
    purge = threading.Thread(target=cleaner.purge)

    with engine.connect() as request:  # as a logout deleting the sign-in's session would
        request.execute(text('SELECT 1 FROM auth_session WHERE uuid IN '
                             '(SELECT session_uuid FROM auth_signin) FOR UPDATE'))
        try:
            purge.start()
            purge.join(30)
            assert not purge.is_alive()  # it gave way instead of waiting for the request
            assert counts(engine)[0] == 1
        finally:
            request.rollback()
            purge.join()

    cleaner.purge()
    assert counts(engine) == (0, 0)


def test_consents_go_with_their_client_or_user(api, admin_token, issuer, alice, realm,
                                               make_user, engine):
    clients = [register_client(api, admin_token, realm['uuid'], client_id=client_id,
                               require_consent=True) for client_id in ('webapp', 'chat')]
    bob = make_user('bob', 'b0bpass', tenant_uuid=realm['uuid'])
    for username, password in (('alice', 's3cret'), ('bob', 'b0bpass')):
        for client in clients:
            browser = requests.Session()
            consent = sign_in(browser, auth_url(issuer, client_id=client['client_id']),
                              username, password)
            assert 'code' in callback_params(submit(browser, consent, button='approve'))

    api.admin('DELETE', f'/clients/{clients[0]["uuid"]}', admin_token).raise_for_status()
    api.admin('DELETE', f'/users/{bob}', admin_token).raise_for_status()

    consents = api.admin('GET', f'/users/{alice}/consents', admin_token).json()['items']
    assert [c['client_id'] for c in consents] == ['chat']
    assert rows(engine, 'SELECT count(*) FROM auth_consent')[0][0] == 1
