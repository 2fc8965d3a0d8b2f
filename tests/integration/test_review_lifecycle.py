"""Review of the lifecycle of what hangs off a user, a client or a tenant (round 4): each test
failed on the code it was written against."""
from __future__ import annotations

from authlib.integrations.requests_client import OAuth2Session
import pytest
from sqlalchemy import text

from tests.integration.test_client_delete_races import (finished, in_background, parked,
                                                        waiting_on_a_lock)
from tests.support.device_flow import Person, poll_error, start
from tests.support.offline_access import PASSWORD
from tests.support.polling import wait_until


@pytest.fixture
def tv(make_client):
    make_client('tv', public=True, name='Living room TV')
    return OAuth2Session('tv', token_endpoint_auth_method='none')


def test_a_device_signed_in_with_a_password_changed_during_the_check_gets_no_token(
        api, tv, make_user, admin_token, engine, clock):
    """The verification page checks the password against the hash it read, then records
    the user's hash of that moment as the authorization's password (migration 0019). A
    password change committing in between (the owner taking the account back from whoever
    knew the old password) is recorded as the password the person signed in with: the
    device's poll then gets a token made with the old password after the change. The OpenID
    sign-in page and POST /token refuse it ('user changed during login')."""
    alice = make_user('alice', PASSWORD, acl=['confd.users.me.read'])
    started = start(api)
    person = Person()
    # The sign-in's last step locks the authorization's row: held here, it waits there,
    # its password already checked against the old hash.
    with parked(engine, 'auth_device_code', 'user_code',
                started['user_code'].replace('-', '')):
        signing_in = in_background(lambda: person.sign_in(
            started['verification_uri_complete'], 'alice', PASSWORD))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        changed = api.admin('PUT', f'/users/{alice}/password', admin_token,
                            json={'old_password': PASSWORD, 'new_password': 'n3w-secret'})
        assert changed.status_code == 204, changed.text
    consent = finished(signing_in)
    if consent.status_code == 200:  # the consent page: approved with the old password
        assert 'Device connected' in person.decide(consent, 'approve').text
    clock.advance(1)

    assert poll_error(api, tv, started['device_code']) in ('access_denied', 'invalid_grant',
                                                           'authorization_pending')


def _granted_below_acme(api, admin_token, make_user, make_client) -> tuple[str, str, dict]:
    """A confidential client ``backend`` of tenant acme, and bob, of acme's sub-tenant branch,
    granted through it (password grant, offline_access). Returns acme's and branch's uuids
    and the grant."""
    def tenant(name, parent=None):
        headers = {'Wazo-Tenant': parent} if parent else {}
        created = api.admin('POST', '/tenants', admin_token, json={'name': name},
                            headers=headers)
        assert created.status_code == 200, created.text
        return created.json()['uuid']
    acme = tenant('acme')
    branch = tenant('branch', parent=acme)
    make_user('bob', 's3cret', tenant_uuid=branch)
    backend = make_client('backend', grant_types=['password', 'refresh_token'],
                          headers={'Wazo-Tenant': acme})
    granted = api.post_form('/oauth2/token', {
        'grant_type': 'password', 'username': 'bob', 'password': 's3cret',
        'scope': 'offline_access'}, auth=('backend', backend['client_secret']))
    assert granted.status_code == 200, granted.text
    return acme, branch, granted.json()


def _move_below_top(api, admin_token, tenant: str, top_tenant) -> None:
    moved = api.admin('PUT', f'/tenants/{tenant}/parent/{top_tenant}', admin_token)
    assert moved.status_code == 204, moved.text


def _moved_out_and_acme_deleted(api, admin_token, make_user, make_client, top_tenant) -> dict:
    """The grant of ``_granted_below_acme``, once branch was moved below the top tenant and
    acme (with its client) deleted."""
    acme, branch, granted = _granted_below_acme(api, admin_token, make_user, make_client)
    _move_below_top(api, admin_token, branch, top_tenant)
    deleted = api.admin('DELETE', f'/tenants/{acme}', admin_token)
    assert deleted.status_code == 204, deleted.text
    listed = api.admin('GET', '/clients', admin_token, params={'recurse': 'true'}).json()
    assert 'backend' not in [c['client_id'] for c in listed['items']]
    return granted


def exchanged_without_secret(api, refresh_token: str):
    """The Wazo API's refresh-token login for client_id backend, no client authentication."""
    return api.session.post(f'{api.url}/token', timeout=10, json={
        'refresh_token': refresh_token, 'client_id': 'backend'})


def test_a_client_deleted_with_its_tenant_leaves_no_token_it_was_given(
        api, make_user, make_client, admin_token, top_tenant):
    """DELETE /clients/{c} revokes every token issued to the client (README, clients;
    repositories.clients.revoke_all revokes its access tokens by client_id, those of users of
    a tenant since moved away from below it included). Deleted with its tenant, the client
    goes by a foreign-key cascade that revokes nothing of the kind: the access token a user
    of a moved sub-tenant got through it stays valid for its whole lifetime."""
    granted = _moved_out_and_acme_deleted(api, admin_token, make_user, make_client, top_tenant)

    assert not api.is_valid(granted['access_token'])  # the deleted client's token


def test_a_confidential_clients_refresh_token_needs_no_secret_once_its_tenant_is_deleted(
        api, make_user, make_client, admin_token, top_tenant):
    """A confidential client's refresh token is redeemed only with the client's secret (the
    Wazo API's POST /token refuses it: client_authentication_required). Its client deleted
    with its tenant (nothing revoked, above), the refresh token stays, no client governs its
    client_id any more, and POST /token exchanges it with no secret at all: whoever copied
    it (worthless without the secret) now gets the user's tokens."""
    granted = _moved_out_and_acme_deleted(api, admin_token, make_user, make_client, top_tenant)

    exchanged = exchanged_without_secret(api, granted['refresh_token'])

    assert exchanged.status_code == 401, exchanged.text


def test_moving_a_tenant_does_not_free_a_confidential_clients_refresh_token_of_its_secret(
        api, make_user, make_client, admin_token, top_tenant):
    """The same without any delete: POST /token asks for the secret of a confidential
    client's refresh token only while the client governs its user
    (services.refresh_tokens.find_for_exchange: ``confidential``). Once the user's tenant is
    moved from below the client's tenant, the client's refresh token is exchanged there with
    no secret (the OAuth token endpoint, rightly, no longer takes it from the client)."""
    _, branch, granted = _granted_below_acme(api, admin_token, make_user, make_client)
    before = exchanged_without_secret(api, granted['refresh_token'])
    assert before.status_code == 401, before.text
    _move_below_top(api, admin_token, branch, top_tenant)

    after = exchanged_without_secret(api, granted['refresh_token'])

    assert after.status_code == 401, after.text


def test_a_device_authorization_of_a_client_deleted_meanwhile_is_invalid_client(
        api, tv, engine):
    """A device authorization asked while its client is being deleted: the client was found
    (authenticated), then its insert finds the client gone (foreign key). The answer is the
    OAuth error of an unknown client (RFC 6749 §5.2: 401 invalid_client), as for every grant
    of a deleted client (repositories.clients.held), not invalid_grant: no grant was sent."""
    with engine.connect() as deleting:
        deleting.execute(text("DELETE FROM auth_client WHERE client_id = 'tv'"))
        started = in_background(lambda: api.post_form('/oauth2/device_authorization',
                                                      {'client_id': 'tv'}))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        deleting.commit()
    answer = finished(started)

    assert (answer.status_code, answer.json().get('error')) == (401, 'invalid_client'), \
        answer.text



def test_a_move_within_the_clients_tree_keeps_what_the_client_holds(
        api, make_user, make_client, admin_token):
    """Moving the user's tenant within the client's tree (from below branch to right below
    acme, the client's tenant) revokes nothing: the client still governs the user."""
    def tenant(name, parent):
        created = api.admin('POST', '/tenants', admin_token, json={'name': name},
                            headers={'Wazo-Tenant': parent})
        assert created.status_code == 200, created.text
        return created.json()['uuid']
    acme = api.admin('POST', '/tenants', admin_token, json={'name': 'acme'}).json()['uuid']
    deeper = tenant('deeper', tenant('branch', acme))
    make_user('carol', 's3cret', tenant_uuid=deeper)
    backend = make_client('backend', grant_types=['password', 'refresh_token'],
                          headers={'Wazo-Tenant': acme})
    auth = ('backend', backend['client_secret'])
    granted = api.post_form('/oauth2/token', {
        'grant_type': 'password', 'username': 'carol', 'password': 's3cret',
        'scope': 'offline_access'}, auth=auth).json()

    moved = api.admin('PUT', f'/tenants/{deeper}/parent/{acme}', admin_token)
    assert moved.status_code == 204, moved.text

    assert api.is_valid(granted['access_token'])
    refreshed = api.post_form('/oauth2/token', {
        'grant_type': 'refresh_token', 'refresh_token': granted['refresh_token']}, auth=auth)
    assert refreshed.status_code == 200, refreshed.text
