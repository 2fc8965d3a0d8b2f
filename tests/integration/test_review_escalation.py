"""Regression tests of a second adversarial review of privilege escalation: a caller never
hands out, directly or through a group, client or link, more than it holds itself, and never
reaches a tenant it cannot see."""
from __future__ import annotations

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.offline_access import assert_error


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


def client_token(client, client_id, secret):
    response = client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                           headers=basic(client_id, secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()['access_token']


# -- a client's update keeps the policies attached from above: their deny entries too -----------

def test_updating_a_client_cannot_lift_a_deny_entry_over_a_policy_attached_from_above(
        admin, client, make_user, login):
    _, child_admin = _tenant_admin(admin, client, make_user, login)
    # The child's administrator registers an integration (it knows its secret) ...
    created = child_admin.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['client_credentials']})
    # ... and the operator above gives it its own policy, fenced off the users.
    wide = admin.ok('POST', '/policies', json={'name': 'operator-confd', 'acl': ['confd.#']})
    admin.ok('PUT', f"/clients/{created['uuid']}", json={
        'client_id': 'crm', 'grant_types': ['client_credentials'],
        'acl': ['!confd.users.#'], 'policies': [wide['uuid']]})
    assert not scope_ok(client, client_token(client, 'crm', created['client_secret']),
                        'confd.users.1.read')

    # Dropping the deny entry hands the client confd.users.# (through confd.#), which the
    # child's administrator does not hold.
    response = child_admin.put(f"/clients/{created['uuid']}", json={
        'client_id': 'crm', 'grant_types': ['client_credentials'], 'acl': []})

    assert_error(response, 401, 'unauthorized')
    assert not scope_ok(client, client_token(client, 'crm', created['client_secret']),
                        'confd.users.1.read')


def test_updating_a_client_cannot_detach_a_policy_of_deny_entries_over_one_from_above(
        admin, client, make_user, login):
    _, child_admin = _tenant_admin(admin, client, make_user, login)
    created = child_admin.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['client_credentials']})
    # The fence is a policy of the child's own (visible to its administrator) this time.
    fence = child_admin.ok('POST', '/policies', json={'name': 'fence',
                                                      'acl': ['!confd.users.#']})
    wide = admin.ok('POST', '/policies', json={'name': 'operator-confd', 'acl': ['confd.#']})
    admin.ok('PUT', f"/clients/{created['uuid']}", json={
        'client_id': 'crm', 'grant_types': ['client_credentials'],
        'policies': [wide['uuid'], fence['uuid']]})

    response = child_admin.put(f"/clients/{created['uuid']}", json={
        'client_id': 'crm', 'grant_types': ['client_credentials'], 'policies': []})

    assert_error(response, 401, 'unauthorized')
    assert response.get_json()['details']['required_access'] == '!confd.users.#'
    assert not scope_ok(client, client_token(client, 'crm', created['client_secret']),
                        'confd.users.1.read')


def test_a_client_deny_entry_over_access_its_remover_holds_may_be_dropped(admin, client):
    created = admin.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['client_credentials'],
        'acl': ['confd.#', '!confd.users.#']})
    admin.ok('PUT', f"/clients/{created['uuid']}", json={
        'client_id': 'crm', 'grant_types': ['client_credentials'], 'acl': ['confd.#']})
    assert scope_ok(client, client_token(client, 'crm', created['client_secret']),
                    'confd.users.1.read')


# -- a client that signs users in without asking them is handed those users --------------------

SILENT = {'client_id': 'webapp', 'grant_types': ['authorization_code'],
          'redirect_uris': ['https://app.example.com/cb']}


def _tenant_admin(admin, client, make_user, login) -> tuple[str, AdminClient]:
    """A sub-tenant and its administrator, holding auth.# (less than everything)."""
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    make_user('child-admin', acl=['auth.#'], tenant_uuid=child)
    return child, AdminClient(client, token_of(login, 'child-admin'))


def test_a_caller_holding_less_than_everything_registers_no_consent_free_client(
        admin, client, make_user, login):
    # Such a client gets, with no page shown, the code of any signed-in user of its tenants
    # who opens its link: a more privileged one's too, exchanged at its redirect URI for that
    # user's whole ACL. Registering it hands out those users.
    _, child_admin = _tenant_admin(admin, client, make_user, login)

    refused = child_admin.post('/clients', json=SILENT)

    assert_error(refused, 401, 'unauthorized')
    assert refused.get_json()['details']['required_access'] == '#'
    asking = child_admin.ok('POST', '/clients', json={**SILENT, 'require_consent': True})
    assert asking['require_consent'] is True


def test_a_caller_holding_less_than_everything_makes_no_client_consent_free_to_new_places(
        admin, client, make_user, login):
    child, child_admin = _tenant_admin(admin, client, make_user, login)
    created = admin.ok('POST', '/clients', json=SILENT, tenant=child)  # the operator's
    path = f"/clients/{created['uuid']}"

    # A redirect URI of its own on the operator's consent-free client: refused.
    added = child_admin.put(path, json={**SILENT, 'redirect_uris': [
        *SILENT['redirect_uris'], 'https://elsewhere.example.net/cb']})
    assert_error(added, 401, 'unauthorized')
    # Renaming it, as it is, is not a new way in.
    assert child_admin.ok('PUT', path, json={**SILENT, 'name': 'Team chat'})['name'] == \
        'Team chat'
    # Once it asks for consent, making it silent again is refused.
    child_admin.ok('PUT', path, json={**SILENT, 'require_consent': True})
    assert_error(child_admin.put(path, json=SILENT), 401, 'unauthorized')


# -- a client's `me` is its client_id: a name its creator chose, not the creator's `me` --------

ITS_OWN = {'client_id': '42', 'grant_types': ['client_credentials']}


def test_a_caller_gives_no_client_a_me_it_holds_only_for_itself(admin, client, make_user,
                                                                 login):
    # A client's own token reads `me` as its client_id: a client named after another user's
    # numeric id (wazo-confd's /users/42), given `confd.users.me.#` by a caller holding that
    # for itself only, would reach confd.users.42.#.
    make_user('helpdesk', acl=['auth.#', 'confd.users.me.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk'))

    direct = helpdesk.post('/clients', json={**ITS_OWN, 'acl': ['confd.users.me.#']})
    assert_error(direct, 401, 'unauthorized')
    assert direct.get_json()['details']['required_access'] == 'confd.users.me.#'
    mine = helpdesk.ok('POST', '/policies', json={'name': 'mine', 'acl': ['confd.users.me.#']})
    through_policy = helpdesk.post('/clients', json={**ITS_OWN, 'policies': [mine['uuid']]})
    assert_error(through_policy, 401, 'unauthorized')
    assert helpdesk.ok('GET', '/clients')['total'] == 0


def test_a_policy_held_by_a_client_gets_no_me_its_editor_holds_only_for_itself(
        admin, client, make_user, login):
    make_user('helpdesk', acl=['auth.#', 'confd.users.me.#', 'confd.lines.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk'))
    policy = helpdesk.ok('POST', '/policies', json={'name': 'lines', 'acl': ['confd.lines.#']})
    created = helpdesk.ok('POST', '/clients', json={**ITS_OWN, 'policies': [policy['uuid']]})

    updated = helpdesk.put(f"/policies/{policy['uuid']}", json={
        'name': 'lines', 'acl': ['confd.lines.#', 'confd.users.me.#']})
    added = helpdesk.put(f"/policies/{policy['uuid']}/acl/confd.users.me.read")

    assert_error(updated, 401, 'unauthorized')
    assert_error(added, 401, 'unauthorized')
    assert not scope_ok(client, client_token(client, '42', created['client_secret']),
                        'confd.users.42.read')
    # A policy no client holds, or a caller holding the access for anyone, may carry it.
    helpdesk.ok('POST', '/policies', json={'name': 'own', 'acl': ['confd.users.me.#']})
    admin.ok('PUT', f"/policies/{policy['uuid']}/acl/confd.users.me.read", 204)
    assert scope_ok(client, client_token(client, '42', created['client_secret']),
                    'confd.users.42.read')
