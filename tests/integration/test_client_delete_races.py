"""A client deleted while one of its grants is in flight (a password check takes a while):
the grant gives no token that outlives the delete. The README promises that deleting a client
revokes what was issued to it; a token the grant committed after the delete's revocation ran,
before the fix, stayed valid for its whole lifetime.

Each test parks the grant on a row lock it needs (the user's, or the tenant's for the insert),
held by the test, and deletes the client through the API meanwhile; then lets the grant go."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import requests
from sqlalchemy import text

from tests.support.device_flow import Person
from tests.support.oidc import (REDIRECT, callback_params, realm,  # noqa: F401 (fixture)
                                register_client, submit)
from tests.support.polling import wait_until
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'v' * 43


@contextlib.contextmanager
def parked(engine, table: str, key: str, value) -> Iterator[None]:
    """Hold ``table``'s row share-locked until the block ends (a grant's FOR UPDATE, or its
    insert's foreign-key check, waits for it), and wait until something is blocked on it."""
    with engine.connect() as conn:
        conn.execute(text(f'SELECT 1 FROM {table} WHERE {key} = :v FOR UPDATE'), {'v': value})
        yield
        conn.rollback()


def waiting_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


def in_background(function) -> dict:
    """Run ``function`` on a thread; the dict gets its 'result' (or 'error') and 'thread'."""
    outcome: dict = {}

    def run():
        try:
            outcome['result'] = function()
        except Exception as e:  # noqa: BLE001 - re-raised by the test's assertion
            outcome['error'] = e
    outcome['thread'] = threading.Thread(target=run, daemon=True)
    outcome['thread'].start()
    return outcome


def finished(outcome: dict):
    outcome['thread'].join(30)
    assert 'error' not in outcome, outcome.get('error')
    return outcome['result']


def delete_client(api, admin_token: str, created: dict) -> int:
    return api.admin('DELETE', f"/clients/{created['uuid']}", admin_token).status_code


def no_lasting_token(api, response: requests.Response) -> bool:
    """The grant was refused, or what it gave no longer validates."""
    if response.status_code != 200:
        return response.json()['error'] == 'invalid_client'
    return not api.is_valid(response.json()['access_token'])


def deleted_during(api, engine, admin_token: str, created: dict, lock: tuple, url: str,
                   form: dict) -> requests.Response:
    """POST ``form`` to the token endpoint ``url`` as the ``created`` client, parked on
    ``lock`` (table, key, value) while the client is deleted through the API; the grant's
    answer once both ended (the delete must have succeeded)."""
    with parked(engine, *lock):
        grant = in_background(lambda: requests.post(
            url, data=form, auth=(created['client_id'], created['client_secret']), timeout=30))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        deleted = in_background(lambda: delete_client(api, admin_token, created))
        # Before the fix the delete ended here; now it waits for the grant it must revoke.
        deleted['thread'].join(1)
    assert finished(deleted) == 204
    return finished(grant)


def test_a_password_grant_ending_after_its_client_was_deleted_gives_no_token(
        api, engine, make_user, make_client, admin_token):
    alice = make_user('alice', 's3cret')
    created = make_client('backend', grant_types=['password', 'refresh_token'])
    form = {'grant_type': 'password', 'username': 'alice', 'password': 's3cret',
            'scope': 'offline_access'}
    with parked(engine, 'auth_user', 'uuid', alice):
        grant = in_background(lambda: requests.post(
            api.token_url(), data=form, auth=('backend', created['client_secret']), timeout=30))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        assert delete_client(api, admin_token, created) == 204
    response = finished(grant)
    assert response.status_code == 401 and response.json()['error'] == 'invalid_client'
    with engine.connect() as conn:  # neither its session nor its refresh token was left
        left = conn.execute(text('SELECT (SELECT count(*) FROM auth_session WHERE user_uuid '
                                 '= :u) + (SELECT count(*) FROM auth_refresh_token WHERE '
                                 'user_uuid = :u)'), {'u': alice}).scalar()
    assert left == 0


def test_a_client_credentials_grant_racing_the_delete_gives_no_lasting_token(
        api, engine, make_client, admin_token, top_tenant):
    created = make_client('backend', grant_types=['client_credentials'], acl=['confd.#'])
    response = deleted_during(  # its session's insert waits for the tenant row
        api, engine, admin_token, created, ('tenant', 'uuid', top_tenant), api.token_url(),
        {'grant_type': 'client_credentials'})
    assert no_lasting_token(api, response)


def test_a_device_grant_racing_the_delete_gives_no_lasting_token(
        api, engine, make_user, make_client, admin_token, clock):
    alice = make_user('alice', 's3cret')
    created = make_client('tv', grant_types=['urn:ietf:params:oauth:grant-type:device_code'])
    started = api.post_form('/oauth2/device_authorization',
                            auth=('tv', created['client_secret'])).json()
    person = Person()
    person.decide(person.sign_in(started['verification_uri_complete'], 'alice', 's3cret'),
                  'approve')
    clock.advance(1)
    form = {'grant_type': 'urn:ietf:params:oauth:grant-type:device_code',
            'device_code': started['device_code']}
    response = deleted_during(  # the redeem locks the user who approved
        api, engine, admin_token, created, ('auth_user', 'uuid', alice), api.token_url(), form)
    assert no_lasting_token(api, response)


def test_an_authorization_code_grant_racing_the_delete_gives_no_lasting_token(
        api, engine, make_user, admin_token, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    webapp = register_client(api, admin_token, realm['uuid'])
    issuer = f'{api.base}/realms/acme'
    browser = requests.Session()
    page = browser.get(f'{issuer}/protocol/openid-connect/auth?' + urlencode({
        'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
        'scope': 'openid', 'code_challenge': s256(VERIFIER), 'code_challenge_method': 'S256'}),
        timeout=10)
    code = callback_params(submit(browser, page, username='alice', password='s3cret'))['code']
    form = {'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
            'code_verifier': VERIFIER}
    response = deleted_during(  # the exchange locks the user
        api, engine, admin_token, webapp, ('auth_user', 'uuid', alice),
        f'{issuer}/protocol/openid-connect/token', form)
    assert no_lasting_token(api, response)
