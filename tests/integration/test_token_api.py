"""The token API through HTTP (wazo-token-api §1, §2, §3.1; spec D1–D5, D9)."""
from __future__ import annotations

import base64
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from wazo_like_auth import tokens
from wazo_like_auth.models import Tenant

PREFIXES = ['/0.1', '/api/auth/0.1']
ALICE_ACL = ['confd.users.read', 'confd.users.me.#', 'auth.users.me.read', '!confd.users.delete']
TOKEN_KEYS = {'token', 'auth_id', 'xivo_user_uuid', 'xivo_uuid', 'issued_at', 'expires_at',
              'utc_issued_at', 'utc_expires_at', 'acl', 'metadata', 'session_uuid',
              'remote_addr', 'user_agent'}
TOKEN_FORM = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
UTC_FORM = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$')
LOCAL_FORM = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$')


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', acl=ALICE_ACL)


@pytest.fixture
def token(alice, login) -> str:
    return data_of(login())['token']


def data_of(response) -> dict:
    assert response.status_code == 200, response.get_data()[:500]
    return response.get_json()['data']


def utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)


def lifetime(data: dict) -> dt.timedelta:
    return utc(data['utc_expires_at']) - utc(data['utc_issued_at'])


def expire(engine, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_token SET expires_at = now() - interval '1 second' "
                          "WHERE token_hash = :digest"), {'digest': tokens.token_digest(value)})


def make_child_tenant(sessions, parent: uuid.UUID, slug: str) -> uuid.UUID:
    child = uuid.uuid4()
    with sessions.begin() as s:
        s.add(Tenant(uuid=child, parent_uuid=parent, name=slug, slug=slug))
    return child


def session_exists(engine, session_uuid: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text('SELECT count(*) FROM auth_session WHERE uuid = :u'),
                            {'u': session_uuid}).scalar() == 1


# --- login ------------------------------------------------------------------------------


def test_login_by_username_gives_a_token(alice, login):
    data = data_of(login('alice', 's3cret'))
    assert TOKEN_FORM.match(data['token'])
    assert data['auth_id'] == str(alice)


def test_login_by_username_is_case_insensitive(alice, login):
    assert data_of(login('ALICE', 's3cret'))['auth_id'] == str(alice)


def test_login_by_confirmed_email_is_case_insensitive(make_user, login):
    bob = make_user('bob', 'pw-bob', email='Bob.Smith@Example.com')
    assert data_of(login('bob.smith@EXAMPLE.COM', 'pw-bob'))['auth_id'] == str(bob)
    assert data_of(login('Bob.Smith@Example.com', 'pw-bob'))['auth_id'] == str(bob)


def test_login_by_unconfirmed_email_is_refused(make_user, login):
    make_user('bob', 'pw-bob', email='bob@example.com', email_confirmed=False)
    body = assert_envelope(login('bob@example.com', 'pw-bob'), 401)
    assert body['message'] == 'Authentication Failed'


def test_login_with_non_ascii_credentials(make_user, login):
    user = make_user('élodie', 'pässwörd€')
    assert data_of(login('élodie', 'pässwörd€'))['auth_id'] == str(user)


def test_login_with_latin1_credentials(make_user, client):
    user = make_user('élise', 'pässwörd')
    raw = 'élise:pässwörd'.encode('latin-1')
    response = client.post('/0.1/token', json={},
                           headers={'Authorization': 'Basic ' + base64.b64encode(raw).decode()})
    assert data_of(response)['auth_id'] == str(user)


def test_password_containing_colons_logs_in(make_user, login):
    user = make_user('bob', 'pa:ss:word')
    assert data_of(login('bob', 'pa:ss:word'))['auth_id'] == str(user)


def test_confirmed_email_wins_over_a_username(make_user, login):
    make_user('carol@example.com', 'same-password')
    owner = make_user('carol', 'same-password', email='carol@example.com')
    assert data_of(login('carol@example.com', 'same-password'))['auth_id'] == str(owner)


def test_login_is_not_a_pattern(make_user, login):
    make_user('a_c', 'pw')
    make_user('b%', 'pw')
    assert_envelope(login('abc', 'pw'), 401)
    assert_envelope(login('bob', 'pw'), 401)


def test_login_answers_no_store_and_no_revoked_sessions(token, login):
    response = login()
    assert response.headers['Wazo-Sessions-Revoked'] == '0'
    assert 'no-store' in response.headers['Cache-Control']
    assert response.mimetype == 'application/json'


@pytest.mark.parametrize('prefix', PREFIXES)
def test_login_is_served_under_both_prefixes(alice, login, client, prefix):
    value = data_of(login(prefix=prefix))['token']
    for other in PREFIXES:
        assert client.head(f'{other}/token/{value}').status_code == 204


def test_json_null_body_is_an_empty_request(alice, client):
    response = client.post('/0.1/token', data='null', headers=basic('alice', 's3cret'))
    assert response.status_code == 200


def test_body_is_read_as_json_whatever_the_content_type(alice, client):
    response = client.post('/0.1/token', data='{"expiration": 60}', content_type='text/plain',
                           headers=basic('alice', 's3cret'))
    assert lifetime(data_of(response)) == dt.timedelta(seconds=60)


def test_unknown_body_keys_are_ignored(alice, login):
    assert login(body={'expiration': 60, 'colour': 'blue'}).status_code == 200


# --- the token dict ---------------------------------------------------------------------


def test_login_response_has_exactly_the_token_fields(token, login):
    data = data_of(login())
    assert set(data) == TOKEN_KEYS
    assert 'refresh_token' not in data


def test_timestamps_are_local_naive_and_utc_with_microseconds(token, login):
    data = data_of(login())
    assert UTC_FORM.match(data['utc_issued_at']) and UTC_FORM.match(data['utc_expires_at'])
    assert LOCAL_FORM.match(data['issued_at']) and LOCAL_FORM.match(data['expires_at'])
    local_issued = dt.datetime.fromisoformat(data['issued_at'])
    assert local_issued.tzinfo is None
    assert utc(data['utc_issued_at']).astimezone().replace(tzinfo=None) == local_issued


def test_issued_at_is_now(token, login):
    before = dt.datetime.now(dt.timezone.utc)
    data = data_of(login())
    after = dt.datetime.now(dt.timezone.utc)
    assert before <= utc(data['utc_issued_at']) <= after


def test_issued_at_is_the_service_clock(token, login, clock):
    clock.advance(3600)  # the service's clock, an hour ahead of the wall
    before = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3600)
    data = data_of(login())
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3600)
    assert before <= utc(data['utc_issued_at']) <= after


def test_token_records_session_address_and_user_agent(alice, login):
    data = data_of(login(headers={'User-Agent': 'my-phone/1.2 (test)'}))
    uuid.UUID(data['session_uuid'])
    assert data['remote_addr'] == '127.0.0.1'
    assert data['user_agent'] == 'my-phone/1.2 (test)'


def test_each_login_gets_its_own_token_and_session(alice, login):
    first, second = data_of(login()), data_of(login())
    assert first['token'] != second['token']
    assert first['session_uuid'] != second['session_uuid']


def test_token_acl_is_the_users_policy_acl(alice, login):
    assert data_of(login())['acl'] == ALICE_ACL


def test_user_without_policy_gets_an_empty_acl(make_user, login):
    make_user('carol', 'pw')
    assert data_of(login('carol', 'pw'))['acl'] == []


def test_metadata_of_a_user_purpose_user(alice, login, top_tenant):
    data = data_of(login())
    assert data['metadata'] == {
        'uuid': str(alice), 'tenant_uuid': str(top_tenant), 'auth_id': str(alice),
        'pbx_user_uuid': str(alice), 'xivo_uuid': None, 'purpose': 'user'}
    assert data['xivo_user_uuid'] == str(alice)
    assert data['xivo_uuid'] is None


@pytest.mark.parametrize('purpose', ['internal', 'external_api'])
def test_metadata_of_internal_and_external_api_users(make_user, login, top_tenant, purpose):
    user = make_user('svc', 'pw', purpose=purpose)
    data = data_of(login('svc', 'pw'))
    assert data['metadata'] == {
        'uuid': str(user), 'tenant_uuid': str(top_tenant), 'auth_id': str(user),
        'pbx_user_uuid': None, 'xivo_uuid': None, 'purpose': purpose}
    assert data['xivo_user_uuid'] is None
    assert data['auth_id'] == str(user)


def test_xivo_uuid_comes_from_configuration(alice, make_config, db_uri, engine):
    xivo_uuid = str(uuid.uuid4())
    with running_app(make_config(db_uri=db_uri, uuid=xivo_uuid), engine) as app:
        response = app.test_client().post('/0.1/token', json={},
                                          headers=basic('alice', 's3cret'))
    data = data_of(response)
    assert data['xivo_uuid'] == xivo_uuid
    assert data['metadata']['xivo_uuid'] == xivo_uuid


# --- expiration -------------------------------------------------------------------------


def test_default_expiration_is_two_hours(token, login):
    assert lifetime(data_of(login())) == dt.timedelta(seconds=7200)


def test_default_expiration_follows_configuration(alice, make_config, db_uri, engine):
    with running_app(make_config(db_uri=db_uri, default_token_lifetime=300), engine) as app:
        response = app.test_client().post('/0.1/token', json={},
                                          headers=basic('alice', 's3cret'))
    data = data_of(response)
    assert lifetime(data) == dt.timedelta(seconds=300)


@pytest.mark.parametrize('expiration, seconds', [(1, 1), (60, 60), ('10', 10), (10.9, 10)])
def test_explicit_expiration(alice, login, expiration, seconds):
    data = data_of(login(body={'expiration': expiration}))
    assert lifetime(data) == dt.timedelta(seconds=seconds)
    expires_local = dt.datetime.fromisoformat(data['expires_at'])
    issued_local = dt.datetime.fromisoformat(data['issued_at'])
    assert expires_local - issued_local == dt.timedelta(seconds=seconds)


def test_ten_year_token_is_accepted_and_valid(alice, login, client):
    data = data_of(login(body={'expiration': 315_360_000}))
    assert lifetime(data) == dt.timedelta(seconds=315_360_000)
    assert client.head(f"/0.1/token/{data['token']}").status_code == 204


# --- HEAD / GET /token/{t} -------------------------------------------------------------


@pytest.mark.parametrize('prefix', PREFIXES)
def test_valid_token_check_answers_exactly_204_with_no_body(token, client, prefix):
    response = client.head(f'{prefix}/token/{token}')
    assert response.status_code == 204
    assert response.get_data() == b''


@pytest.mark.parametrize('scope', ['confd.users.read', 'confd.users.me.phones.read'])
def test_token_check_with_a_granted_scope_answers_204(token, client, scope):
    assert client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code == 204


def test_token_check_with_me_scope_uses_the_owner(token, client, alice):
    scope = f'confd.users.{alice}.phones.read'
    assert client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code == 204
    other = f'confd.users.{uuid.uuid4()}.phones.read'
    assert client.head(f'/0.1/token/{token}', query_string={'scope': other}).status_code == 403


@pytest.mark.parametrize('scope', ['confd.users.write', 'confd.users.delete', 'auth.#', ''])
def test_token_check_with_a_scope_not_granted_answers_403(token, client, scope):
    assert client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code == 403
    body = assert_envelope(client.get(f'/0.1/token/{token}', query_string={'scope': scope}),
                           403)
    assert body['message'] == f'Unauthorized for {scope}'


def test_token_check_of_an_unknown_token_answers_404(alice, client):
    unknown = tokens.new_token()
    assert client.head(f'/0.1/token/{unknown}').status_code == 404
    body = assert_envelope(client.get(f'/0.1/token/{unknown}'), 404)
    assert body['message'] == 'No such token'


def test_token_check_of_an_unknown_token_with_scope_answers_404(alice, client):
    response = client.head(f'/0.1/token/{tokens.new_token()}?scope=confd.users.read')
    assert response.status_code == 404


def test_token_check_of_an_expired_token_answers_404(token, client, engine):
    expire(engine, token)
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert_envelope(client.get(f'/0.1/token/{token}'), 404)
    assert client.head(f'/0.1/token/{token}?scope=confd.users.read').status_code == 404


def test_token_with_a_one_second_lifetime_expires(alice, login, client, clock):
    value = data_of(login(body={'expiration': 1}))['token']
    assert client.head(f'/0.1/token/{value}').status_code == 204
    clock.advance(1.1)
    assert client.head(f'/0.1/token/{value}').status_code == 404
    assert_envelope(client.get(f'/0.1/token/{value}'), 404)


def test_token_check_of_a_revoked_token_answers_404(token, client):
    client.delete(f'/0.1/token/{token}')
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert_envelope(client.get(f'/0.1/token/{token}'), 404)


def test_upper_case_token_is_accepted(token, client):
    assert client.head(f'/0.1/token/{token.upper()}').status_code == 204
    response = client.get(f'/0.1/token/{token.upper()}')
    assert data_of(response)['token'] == token


def test_get_token_answers_what_the_login_answered(alice, login, client):
    issued = data_of(login(headers={'User-Agent': 'agent/1'}))
    response = client.get(f"/0.1/token/{issued['token']}")
    shown = data_of(response)
    assert set(shown) == TOKEN_KEYS
    assert shown == issued  # timestamps included: microseconds are kept
    assert 'no-store' in response.headers['Cache-Control']


def test_get_token_with_a_granted_scope(token, client):
    response = client.get(f'/0.1/token/{token}', query_string={'scope': 'confd.users.read'})
    assert data_of(response)['token'] == token


def test_token_check_with_non_ascii_scope_answers_ascii_403(token, client):
    body = assert_envelope(client.get(f'/0.1/token/{token}', query_string={'scope': 'éric'}),
                           403)
    assert body['message'] == 'Unauthorized for eric'


def test_token_acl_is_frozen_at_creation(token, client, engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_policy SET acl = '{}' WHERE slug LIKE 'p-%'"))
    assert client.head(f'/0.1/token/{token}?scope=confd.users.read').status_code == 204


# --- tenant check -----------------------------------------------------------------------


def test_token_check_for_the_owners_tenant_is_granted(token, client, top_tenant):
    response = client.head(f'/0.1/token/{token}', query_string={'tenant': str(top_tenant)})
    assert response.status_code == 204


def test_token_check_for_a_child_tenant_is_granted(token, client, sessions, top_tenant):
    child = make_child_tenant(sessions, top_tenant, 'child')
    grandchild = make_child_tenant(sessions, child, 'grandchild')
    for tenant in (child, grandchild):
        response = client.head(f'/0.1/token/{token}', query_string={'tenant': str(tenant)})
        assert response.status_code == 204


def test_token_check_for_an_unknown_tenant_answers_403(token, client):
    response = client.get(f'/0.1/token/{token}', query_string={'tenant': str(uuid.uuid4())})
    assert_envelope(response, 403)
    assert client.head(f'/0.1/token/{token}?tenant={uuid.uuid4()}').status_code == 403


def test_token_check_for_a_tenant_that_is_not_a_uuid_answers_403(token, client):
    assert client.head(f'/0.1/token/{token}?tenant=not-a-tenant').status_code == 403


def test_token_check_for_a_parent_or_sibling_tenant_answers_403(make_user, login, client,
                                                                sessions, top_tenant):
    child = make_child_tenant(sessions, top_tenant, 'child')
    sibling = make_child_tenant(sessions, top_tenant, 'sibling')
    make_user('dave', 'pw', tenant_uuid=child)
    value = data_of(login('dave', 'pw'))['token']
    assert client.head(f'/0.1/token/{value}?tenant={child}').status_code == 204
    assert client.head(f'/0.1/token/{value}?tenant={top_tenant}').status_code == 403
    assert client.head(f'/0.1/token/{value}?tenant={sibling}').status_code == 403


def test_empty_tenant_means_no_tenant_check(token, client):
    assert client.head(f'/0.1/token/{token}?tenant=').status_code == 204


def test_token_check_with_scope_and_tenant(token, client, top_tenant):
    url = f'/0.1/token/{token}?scope=confd.users.read&tenant={top_tenant}'
    assert client.head(url).status_code == 204
    url = f'/0.1/token/{token}?scope=confd.users.write&tenant={top_tenant}'
    assert client.head(url).status_code == 403


# --- scopes/check -----------------------------------------------------------------------


def scopes_check(client, value, body):
    return client.post(f'/0.1/token/{value}/scopes/check', json=body)


def test_scopes_check_answers_each_distinct_scope(token, client):
    response = scopes_check(client, token, {'scopes': [
        'confd.users.read', 'confd.users.write', 'confd.users.read', 'confd.users.delete']})
    assert response.status_code == 200
    assert response.get_json() == {'scopes': {
        'confd.users.read': True, 'confd.users.write': False, 'confd.users.delete': False}}


def test_scopes_check_of_no_scopes_answers_an_empty_object(token, client):
    response = scopes_check(client, token, {'scopes': []})
    assert response.status_code == 200
    assert response.get_json() == {'scopes': {}}


@pytest.mark.parametrize('prefix', PREFIXES)
def test_scopes_check_under_both_prefixes(token, client, prefix):
    response = client.post(f'{prefix}/token/{token.upper()}/scopes/check',
                           json={'scopes': ['confd.users.read']})
    assert response.get_json() == {'scopes': {'confd.users.read': True}}


def test_scopes_check_without_scopes_answers_400(token, client):
    body = assert_envelope(scopes_check(client, token, {}), 400)
    assert 'scopes' in body['details']


@pytest.mark.parametrize('scopes', [[True], [1], [None], [['a']], [{'a': 1}], 'confd', None])
def test_scopes_check_with_non_string_scopes_answers_400(token, client, scopes):
    assert_envelope(scopes_check(client, token, {'scopes': scopes}), 400)


def test_scopes_check_of_an_unknown_token_answers_404(alice, client):
    assert_envelope(scopes_check(client, tokens.new_token(), {'scopes': ['a']}), 404)


def test_scopes_check_of_an_expired_token_answers_404(token, client, engine):
    expire(engine, token)
    assert_envelope(scopes_check(client, token, {'scopes': ['confd.users.read']}), 404)


def test_scopes_check_with_tenant(token, client, top_tenant):
    response = scopes_check(client, token, {'scopes': ['confd.users.read'],
                                            'tenant_uuid': str(top_tenant)})
    assert response.get_json() == {'scopes': {'confd.users.read': True}}
    response = scopes_check(client, token, {'scopes': ['confd.users.read'],
                                            'tenant_uuid': str(uuid.uuid4())})
    assert_envelope(response, 403)


# --- DELETE /token/{t} ------------------------------------------------------------------


@pytest.mark.parametrize('prefix', PREFIXES)
def test_revoking_a_token_answers_success(token, client, prefix):
    response = client.delete(f'{prefix}/token/{token}')
    assert response.status_code == 200
    assert response.get_json() == {'data': {'message': 'success'}}
    assert client.head(f'/0.1/token/{token}').status_code == 404


def test_revoking_an_unknown_token_answers_success(alice, client):
    response = client.delete(f'/0.1/token/{tokens.new_token()}')
    assert response.status_code == 200
    assert response.get_json() == {'data': {'message': 'success'}}


def test_revoking_a_token_twice_answers_success(token, client):
    client.delete(f'/0.1/token/{token}')
    assert client.delete(f'/0.1/token/{token}').get_json() == {'data': {'message': 'success'}}


def test_revoking_a_token_deletes_its_session(alice, login, client, engine):
    data = data_of(login())
    assert session_exists(engine, data['session_uuid'])
    client.delete(f"/0.1/token/{data['token']}")
    assert not session_exists(engine, data['session_uuid'])


def test_revoking_an_upper_case_token_revokes_it(token, client):
    client.delete(f'/0.1/token/{token.upper()}')
    assert client.head(f'/0.1/token/{token}').status_code == 404


def test_revoking_a_token_leaves_other_tokens_alive(alice, login, client):
    first, second = data_of(login())['token'], data_of(login())['token']
    client.delete(f'/0.1/token/{first}')
    assert client.head(f'/0.1/token/{second}').status_code == 204


# --- status -----------------------------------------------------------------------------


@pytest.mark.parametrize('prefix', PREFIXES)
def test_status_reports_the_database_ok(client, prefix):
    response = client.get(f'{prefix}/status')
    assert response.status_code == 200
    body = response.get_json()
    assert body['database'] == {'status': 'ok'}
    assert body['rest_api'] == {'status': 'ok'}


@pytest.mark.parametrize('prefix', PREFIXES)
def test_status_head_answers_200_without_body(client, prefix):
    response = client.head(f'{prefix}/status')
    assert response.status_code == 200
    assert response.get_data() == b''
