"""Logins in the audit trail (issue 18), and the two questions an auditor asks, one call each:
"who ended Alice's sessions yesterday?" and "where did the failed logins for bob come from?".

The service runs behind one proxy here (``rest_api.num_proxies: 1``): the trail records the
address the service computes from X-Forwarded-For, not the proxy's."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests

from tests.support.admin_client import AdminClient, token_of
from tests.support.audit import actor_of, named, now, stored_events, stored_text
from tests.support.credentials import basic
from tests.support.device_flow import DEVICE, Person, start
from tests.support.offline_access import rows
from tests.support.oidc import REDIRECT, realm, register_client, submit  # noqa: F401
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.oidc.pkce import s256


@pytest.fixture
def config(make_config, db_uri):
    return make_config(db_uri=db_uri, rest_api={'num_proxies': 1})


def from_(address: str, agent: str = 'probe/1.0') -> dict[str, str]:
    return {'X-Forwarded-For': address, 'User-Agent': agent}


@pytest.fixture
def bob(make_user):
    return str(make_user('bob', 'b0b-pw', email='bob@example.com'))


def test_a_login_is_recorded_with_who_where_and_how(admin, login, bob, top_tenant):
    response = login('bob', 'b0b-pw', headers=from_('198.51.100.7', 'softphone/2'))
    session = response.get_json()['data']['session_uuid']

    [event] = named(admin, 'auth_login_succeeded', user_uuid=bob)

    assert (event['routing_key'], event['tenant_uuid'], event['actor']) == \
        ('auth.logins.succeeded', str(top_tenant), None)
    assert event['data'] == {
        'login': 'bob', 'user_uuid': bob, 'tenant_uuid': str(top_tenant),
        'address': '198.51.100.7', 'user_agent': 'softphone/2', 'client_id': None,
        'endpoint': 'token', 'grant': 'password', 'session_uuid': session}


def test_failures_say_why_without_telling_the_client(admin, login, bob, make_user):
    disabled = str(make_user('dis', 'pw', enabled=False))
    answers = [login('bob', 'wrong').get_json(), login('Nobody', 'pw').get_json(),
               login('dis', 'pw').get_json()]

    found = named(admin, 'auth_login_failed')

    assert len({a['message'] for a in answers}) == 1
    assert [(e['data']['login'], e['user_uuid'], e['data']['reason']) for e in found] == [
        ('bob', bob, 'wrong_password'), ('Nobody', None, 'unknown_login'),
        ('dis', disabled, 'disabled')]
    assert found[1]['tenant_uuid'] is None


def test_a_throttled_attempt_is_recorded_as_such(admin, login, bob):
    for _ in range(5):
        assert login('bob', 'wrong', headers=from_('203.0.113.66')).status_code == 401

    assert login('bob', 'b0b-pw', headers=from_('203.0.113.66')).status_code == 429

    reasons = [e['data']['reason'] for e in named(admin, 'auth_login_failed', user_uuid=bob)]
    assert reasons == ['wrong_password'] * 5 + ['throttled']
    assert named(admin, 'auth_login_succeeded', user_uuid=bob) == []


def test_where_did_the_failed_logins_for_bob_come_from(admin, client, login, bob):
    """One call for bob; one call for a login string that names nobody."""
    login('bob', 'guess-1', headers=from_('203.0.113.1', 'curl/8'))
    login('BOB@example.com', 'guess-2', headers=from_('203.0.113.1', 'curl/8'))
    login('bob', 'b0b-pw', headers=from_('198.51.100.7'))
    login('bob', 'guess-3', headers=from_('203.0.113.2', 'python-requests/2'))
    login('bobby', 'guess-4', headers=from_('203.0.113.9'))

    answer = client.get('/api/auth/0.1/events', headers={'X-Auth-Token': admin.token},
                        query_string={'name': 'auth_login_failed', 'user_uuid': bob})
    unknown = client.get('/api/auth/0.1/events', headers={'X-Auth-Token': admin.token},
                         query_string={'name': 'auth_login_failed', 'login': 'Bobby'})

    assert answer.status_code == 200
    assert [(e['data']['address'], e['data']['user_agent'], e['data']['login'])
            for e in answer.get_json()['items']] == [
        ('203.0.113.2', 'python-requests/2', 'bob'),
        ('203.0.113.1', 'curl/8', 'BOB@example.com'),
        ('203.0.113.1', 'curl/8', 'bob')]
    assert [(e['data']['address'], e['user_uuid'], e['data']['reason'])
            for e in unknown.get_json()['items']] == [('203.0.113.9', None, 'unknown_login')]


def _has_session_events(engine) -> bool:
    return bool(rows(engine, "SELECT 1 FROM pg_trigger WHERE NOT tgisinternal "
                             "AND tgrelid = 'auth_session'::regclass"))


def test_who_ended_alices_sessions_yesterday(admin, client, login, make_user, engine):
    """Alice's sessions: one ended before the window, one by an administrator and one by her
    own logout inside it, one after it. One call answers, the actor says who."""
    if not _has_session_events(engine):
        pytest.skip('auth_session_deleted is written by the session triggers of the bus half '
                    'of issue 18 (branch i18-bus): this test runs once both are merged')
    alice = str(make_user('alice', 's3cret'))
    make_user('helpdesk', acl=['auth.users.*.sessions.*.delete'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk'))
    sessions = [login('alice', 's3cret').get_json()['data'] for _ in range(4)]
    admin.ok('DELETE', f"/sessions/{sessions[0]['session_uuid']}", 204)
    since = now()
    helpdesk.ok('DELETE', f"/users/{alice}/sessions/{sessions[1]['session_uuid']}", 204)
    client.delete(f"/0.1/token/{sessions[2]['token']}", headers=from_('192.0.2.44'))
    until = now()
    admin.ok('DELETE', f"/sessions/{sessions[3]['session_uuid']}", 204)

    answer = admin.ok('GET', '/events', query={
        'name': 'auth_session_deleted', 'user_uuid': alice,
        'since': since.isoformat(), 'until': until.isoformat()})

    assert [(e['session_uuid'], e['actor']) for e in answer['items']] == [
        (sessions[2]['session_uuid'], {'auth_id': alice, 'user_uuid': alice,
                                       'session_uuid': sessions[2]['session_uuid'],
                                       'tenant_uuid': sessions[2]['metadata']['tenant_uuid'],
                                       'address': '192.0.2.44'}),
        (sessions[1]['session_uuid'], actor_of(client, helpdesk.token))]


def test_a_revocation_by_an_oauth_client_names_the_client(admin, client, bob, engine):
    if not _has_session_events(engine):
        pytest.skip('auth_session_deleted is written by the session triggers of the bus half '
                    'of issue 18 (branch i18-bus): this test runs once both are merged')
    secret = admin.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['password']})['client_secret']
    grant = client.post('/0.1/oauth2/token', headers=basic('crm', secret), data={
        'grant_type': 'password', 'username': 'bob', 'password': 'b0b-pw'}).get_json()
    session = client.get(f"/0.1/token/{grant['access_token']}").get_json()['data']

    client.post('/0.1/oauth2/revoke', data={'token': grant['access_token']},
                headers={**basic('crm', secret), **from_('192.0.2.80')})

    [event] = named(admin, 'auth_session_deleted', user_uuid=bob)
    assert event['session_uuid'] == session['session_uuid']
    # The client's tenant too: its own tenant's auditors see who revoked.
    assert event['actor'] == {'client_id': 'crm', 'tenant_uuid': session['metadata']['tenant_uuid'],
                              'address': '192.0.2.80'}


def test_a_revocation_by_a_tenants_own_client_is_not_hidden_from_that_tenants_auditor(
        client, make_user, login, child):
    # The actor of /oauth2/revoke is {client_id, address}: no tenant_uuid. Its tenant unknown,
    # it read {"redacted": true} to every caller but those who see the top tenant, though the
    # client is of the auditor's own tenant (README: redacted only "when the actor's tenant
    # is not among the caller's visible tenants").
    make_user('sub-admin', acl=['#'], tenant_uuid=child)
    auditor = AdminClient(client, token_of(login, 'sub-admin'))
    carol = str(make_user('carol', 'c4rol-pw', tenant_uuid=child))
    secret = auditor.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['password']})['client_secret']
    grant = client.post('/0.1/oauth2/token', headers=basic('crm', secret), data={
        'grant_type': 'password', 'username': 'carol', 'password': 'c4rol-pw'}).get_json()

    client.post('/0.1/oauth2/revoke', data={'token': grant['access_token']},
                headers={**basic('crm', secret), **from_('192.0.2.80')})

    [event] = named(auditor, 'auth_session_deleted', user_uuid=carol)
    assert event['actor'] != {'redacted': True}
    assert (event['actor'].get('client_id'), event['actor'].get('address')) == \
        ('crm', '192.0.2.80')


def test_a_wrong_old_password_is_a_failed_login_of_its_user(admin, client, bob):
    response = client.put(f'/0.1/users/{bob}/password', headers={
        'X-Auth-Token': admin.token, **from_('203.0.113.5')}, json={
        'old_password': 'guess', 'new_password': 'x'})

    assert response.get_json()['error_id'] == 'authentication-failed'
    [event] = named(admin, 'auth_login_failed', user_uuid=bob)
    assert (event['data']['endpoint'], event['data']['login'], event['data']['address'],
            event['data']['reason']) == ('users_password', None, '203.0.113.5',
                                         'wrong_password')


def test_a_wrong_old_password_records_where_it_came_from_with_its_user_agent(admin, client,
                                                                             bob):
    """Like every other failed login: "where did the failed logins for bob come from" reads
    data.user_agent, which was always empty for this endpoint."""
    client.put(f'/0.1/users/{bob}/password', headers={
        'X-Auth-Token': admin.token, **from_('203.0.113.5', 'curl/8')}, json={
        'old_password': 'guess', 'new_password': 'x'})

    [event] = named(admin, 'auth_login_failed', user_uuid=bob)
    assert (event['data']['address'], event['data']['user_agent']) == ('203.0.113.5', 'curl/8')


def test_oauth_logins_name_their_client_and_endpoint(admin, client, bob):
    secret = admin.ok('POST', '/clients', json={
        'client_id': 'crm', 'grant_types': ['password', 'refresh_token']})['client_secret']
    form = {'grant_type': 'password', 'username': 'bob', 'password': 'b0b-pw'}
    ok = client.post('/0.1/oauth2/token', data=form, headers=basic('crm', secret))
    bad = client.post('/0.1/oauth2/token', data={**form, 'password': 'no'},
                      headers=basic('crm', secret))
    refresh = client.post('/0.1/token', json={'refresh_token': 'f' * 64, 'client_id': 'crm'},
                          headers={'Authorization': 'Basic Og=='})

    assert (ok.status_code, bad.status_code, refresh.status_code) == (200, 400, 401)
    found = [e for e in named(admin, 'auth_login_succeeded', 'auth_login_failed')
             if e['data']['client_id'] == 'crm']
    assert [(e['name'], e['data']['endpoint'], e['data']['grant'], e['data']['client_id'],
             e['data'].get('reason')) for e in found] == [
        ('auth_login_succeeded', 'oauth2_token', 'password', 'crm', None),
        ('auth_login_failed', 'oauth2_token', 'password', 'crm', 'wrong_password'),
        ('auth_login_failed', 'token', 'refresh_token', 'crm', 'invalid_refresh_token')]


def test_the_sign_in_page_records_its_logins(api, admin_token, admin, make_user,
                                             realm, top_tenant):  # noqa: F811
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('outsider', 's3cret')  # a user of another tenant than the realm's
    register_client(api, admin_token, realm['uuid'])
    url = f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode({
        'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
        'scope': 'openid', 'state': 'st', 'code_challenge': s256('v' * 43),
        'code_challenge_method': 'S256'})
    browser = requests.Session()
    for username, password in (('outsider', 's3cret'), ('alice', 'nope'), ('alice', 's3cret')):
        page = browser.get(url, timeout=10, allow_redirects=False)
        submit(browser, page, username=username, password=password)

    found = [e for e in named(admin, 'auth_login_failed', 'auth_login_succeeded',
                              recurse='true') if e['data']['login'] in ('outsider', 'alice')]
    assert [(e['name'], e['data']['login'], e['data']['endpoint'], e['data'].get('reason'))
            for e in found] == [
        ('auth_login_failed', 'outsider', 'oidc_signin', 'wrong_tenant'),
        ('auth_login_failed', 'alice', 'oidc_signin', 'wrong_password'),
        ('auth_login_succeeded', 'alice', 'oidc_signin', None)]
    assert found[0]['tenant_uuid'] == str(top_tenant)
    assert found[2]['tenant_uuid'] == realm['uuid']


def test_a_right_password_of_a_user_the_client_does_not_serve_is_no_successful_login(
        api, admin_token, admin, make_user, realm):  # noqa: F811
    # The token endpoint records a user outside the client's tenants as a failed login
    # (wrong_tenant, README: "the user is outside the realm's or the client's tenants"). The
    # global issuer's sign-in page refuses that user too (403, no sign-in, no session), but
    # recorded the attempt as a successful login: the auditor's "failed logins of bob" misses
    # it, and the trail says bob signed in where he never did.
    bob = str(make_user('bob', 'b0b-pw'))  # top tenant: not served by a client of acme
    register_client(api, admin_token, realm['uuid'], public=True)
    url = f'{api.url}/oauth2/authorize?' + urlencode({
        'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
        'scope': 'openid', 'state': 'st', 'code_challenge': s256('v' * 43),
        'code_challenge_method': 'S256'})
    browser = requests.Session()
    page = browser.get(url, timeout=10, allow_redirects=False)

    refused = submit(browser, page, username='bob', password='b0b-pw')

    assert refused.status_code == 403
    assert api.admin('GET', f'/users/{bob}/sessions', admin_token).json()['total'] == 0
    found = named(admin, 'auth_login_failed', 'auth_login_succeeded', user_uuid=bob)
    assert [(e['name'], e['data']['endpoint'], e['data'].get('reason')) for e in found] == [
        ('auth_login_failed', 'oidc_signin', 'wrong_tenant')]


def test_a_right_password_of_a_user_the_device_client_does_not_serve_is_no_successful_login(
        api, make_client, admin, make_user, realm):  # noqa: F811
    # The device verification page, likewise: refused (403) after the password, recorded as
    # a successful login.
    bob = str(make_user('bob', 'b0b-pw'))
    make_client('tv', public=True, grant_types=[DEVICE], headers={'Wazo-Tenant': realm['uuid']})
    started = start(api)

    refused = Person().sign_in(started['verification_uri_complete'], 'bob', 'b0b-pw')

    assert refused.status_code == 403
    found = named(admin, 'auth_login_failed', 'auth_login_succeeded', user_uuid=bob)
    assert [(e['name'], e['data']['endpoint'], e['data'].get('reason')) for e in found] == [
        ('auth_login_failed', 'device_verification', 'wrong_tenant')]


def test_a_long_non_ascii_login_is_a_failed_login_not_a_database_error(admin, login):
    # The login is a key of two btree indexes (the throttle's counter, 'name:<login>', and the
    # trail's login index), whose entries hold at most 2704 bytes. 1000 characters outside the
    # BMP (4000 bytes) passed the 1024-character bound: the insert failed, 503 "Database
    # unavailable" for a wrong login, a warning sending the operator to PostgreSQL. A login
    # is now bounded to 1024 bytes of UTF-8: longer, it fails as any over-long login does.
    typed = ''.join(chr(0x20000 + (i * 7919) % 0xA000) for i in range(1000))

    assert login(typed, 'guess').status_code == 401
    assert login('x' * 1025, 'guess').status_code == 401
    assert named(admin, 'auth_login_failed') == []  # neither is checked, nor recorded

    at_the_bound = typed[:256]  # 1024 bytes: checked, throttled and recorded whole
    assert login(at_the_bound, 'guess').status_code == 401
    [event] = named(admin, 'auth_login_failed')
    assert event['data']['login'] == at_the_bound
    assert event['data']['reason'] == 'unknown_login'


def test_logins_go_to_the_bus_only_when_asked(make_config, db_uri, engine, make_user,
                                              admin, login):
    login('root-admin', 'wrong')
    # The bus on (no publisher runs without background=True): with it off, nothing is marked
    # for the bus, logins included.
    app = create_app(make_config(db_uri=db_uri, events={'publish_logins': True},
                                 amqp={'enabled': True}))
    try:
        app.test_client().post('/0.1/token', json={}, headers=basic('root-admin', 'wrong'))
    finally:
        shutdown(app)

    found = [(r.name, r.publish) for r in stored_events(engine) if r.name.startswith('auth_login')]
    assert found[-2:] == [('auth_login_failed', False), ('auth_login_failed', True)]


def test_no_password_token_or_secret_ever_reaches_the_trail(admin, client, login, bob, engine):
    """A full run of logins, refreshes, client grants, rotations and revocations: the trail
    holds none of the secrets that went by."""
    secrets_seen = ['b0b-pw', 'wr0ng-pa55word', 's3cret']
    created = admin.ok('POST', '/clients', json={
        'client_id': 'svc', 'grant_types': ['client_credentials', 'password',
                                            'refresh_token']})
    secrets_seen.append(created['client_secret'])
    login('bob', 'wr0ng-pa55word')
    data = login('bob', 'b0b-pw', body={'access_type': 'offline',
                                        'client_id': 'app'}).get_json()['data']
    secrets_seen += [data['token'], data['refresh_token']]
    refreshed = client.post('/0.1/token', json={'refresh_token': data['refresh_token'],
                                                'client_id': 'app'},
                            headers={'Authorization': 'Basic Og=='}).get_json()['data']
    secrets_seen.append(refreshed['token'])
    auth = basic('svc', created['client_secret'])
    for form in ({'grant_type': 'client_credentials'},
                 {'grant_type': 'password', 'username': 'bob', 'password': 'b0b-pw',
                  'scope': 'offline_access'}):
        grant = client.post('/0.1/oauth2/token', data=form, headers=auth).get_json()
        secrets_seen += [grant['access_token'], grant.get('refresh_token')]
    client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                headers=basic('svc', 'not-the-secret'))
    client.post('/0.1/oauth2/revoke', data={'token': grant['refresh_token']}, headers=auth)
    secrets_seen.append(admin.ok('POST', f"/clients/{created['uuid']}/secret")['client_secret'])
    admin.ok('PUT', f'/users/{bob}/password', 204,
             json={'old_password': 'b0b-pw', 'new_password': 'n3w-b0b-pw'})
    secrets_seen.append('n3w-b0b-pw')
    client.delete(f"/0.1/token/{data['token']}")
    client.delete(f'/0.1/token/{admin.token}')
    secrets_seen.append(admin.token)

    trail = stored_text(engine).lower()
    names = [r.name for r in stored_events(engine)]
    assert {'auth_login_failed', 'auth_login_succeeded', 'auth_client_updated'} <= set(names)
    leaked = [s for s in secrets_seen if s and s.lower() in trail]
    assert leaked == []
    assert '$2b$' not in trail
