"""Review (round 7, wire compatibility): what wazo-admin-api.md says the administration API
answers, where the service answers otherwise."""
from __future__ import annotations

import uuid

from tests.support.audit import named
from tests.support.envelope import assert_envelope


def test_a_falsy_json_body_reads_as_an_empty_object(admin):
    """Admin spec §0.2: a JSON null, false, 0 or "" body is treated as {} (an empty object
    is a valid user: one with no login, §1.3); only a truthy non-object fails."""
    for body in ('false', '0', '""'):
        response = admin.post('/users', data=body)
        assert response.status_code == 200, (body, response.get_json())


def test_creating_a_group_or_policy_validates_the_body_before_the_tenant(admin):
    """Admin spec §4.2 and §3.3: POST /groups and POST /policies check the body (400) before
    the scoping tenant (401): a client learns what is wrong with what it sent first."""
    elsewhere = str(uuid.uuid4())  # a Wazo-Tenant outside the caller's tree
    for path in ('/groups', '/policies'):
        response = admin.post(path, json={'name': None}, tenant=elsewhere)
        assert assert_envelope(response, 400)['error_id'] == 'invalid-data', path


def test_moving_a_tenant_under_another_publishes_no_event(admin):
    """Admin spec §2.7: PUT /tenants/{t}/parent/{p} answers 204, "no event": consumers of
    auth_tenant_updated ({uuid, name}) are not told of a change that is not one of theirs."""
    parent = admin.ok('POST', '/tenants', json={'name': 'parent', 'slug': 'parent'})['uuid']
    moved = admin.ok('POST', '/tenants', json={'name': 'moved', 'slug': 'moved'})['uuid']

    admin.ok('PUT', f'/tenants/{moved}/parent/{parent}', status=204)

    updated = named(admin, 'auth_tenant_updated', recurse='true')
    assert [e['routing_key'] for e in updated] == []



def test_updating_an_unknown_user_with_an_invalid_method_is_a_400(admin):
    """Admin spec §1.6: PUT /users/{u} checks the authentication method (400) before the
    user's visibility (404), as it checks the rest of the body."""
    response = admin.put(f'/users/{uuid.uuid4()}', json={'authentication_method': 'not-native'})
    body = assert_envelope(response, 400)
    assert body['error_id'] == 'invalid-data'
    assert body['details'] == {'authentication_method': 'not-native'}
