"""Every event of the spec's table (shared/spec/wazo-events.md) on a real RabbitMQ, triggered by
the matching API call and received by a Wazo-style consumer (kombu, bound to the durable
``xivo`` topic exchange): name, routing key, headers, body and message properties."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from tests.support.bus_events import ORIGIN, received
from tests.support.credentials import basic
from tests.support.offline_access import (
    PASSWORD, digest, execute, offline_login, refresh_login, refresh_token_of)
from wazo_like_auth.services.cleanup import ExpiredTokenCleaner


@pytest.fixture
def alice(make_user):
    return make_user('alice', acl=['auth.users.me.#'])


def login(client, username='alice', *, headers=None, **body) -> dict:
    response = client.post('/0.1/token', json=body,
                           headers={**basic(username, PASSWORD), **(headers or {})})
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']


def assert_wazo_message(message, *, name: str, routing_key: str, data: dict,
                        tenant_uuid, user_uuid=None, session_uuid=None) -> None:
    """The message is what wazo-auth would send for this event."""
    user_header = f'user_uuid:{user_uuid}' if user_uuid else 'user_uuid:*'
    expected = {'name': name, 'origin_uuid': ORIGIN, 'tenant_uuid': str(tenant_uuid),
                'required_access': f'event.{name}', 'required_acl': f'events.{routing_key}',
                user_header: True, 'timestamp': message.headers.get('timestamp')}
    if session_uuid:
        expected['session_uuid'] = str(session_uuid)
    assert message.routing_key == routing_key
    assert message.headers == expected
    assert message.body == {**expected, 'data': data}
    stamp = dt.datetime.fromisoformat(message.headers['timestamp'])
    assert stamp.tzinfo is None  # local time, naive, as wazo-bus
    assert abs(stamp - dt.datetime.now()) < dt.timedelta(minutes=1)
    assert message.properties['content_type'] == 'application/json'
    assert message.properties['content_encoding'] == 'utf-8'
    assert message.properties['delivery_mode'] == 2
    assert message.properties['message_id'].isdigit()


def test_login_publishes_session_created(client, publisher, consumer, alice, top_tenant):
    token = login(client)

    [message] = received(consumer, 'auth_session_created', uuid=token['session_uuid'])
    session = token['session_uuid']
    assert_wazo_message(message, name='auth_session_created',
                        routing_key=f'auth.sessions.{session}.created',
                        data={'uuid': session, 'tenant_uuid': str(top_tenant),
                              'user_uuid': str(alice), 'mobile': False},
                        tenant_uuid=top_tenant, user_uuid=alice, session_uuid=session)
    assert token['token'] not in str(message.body)


def test_mobile_login_publishes_a_mobile_session(client, publisher, consumer, alice):
    token = login(client, headers={'Wazo-Session-Type': 'mobile'})

    [message] = received(consumer, 'auth_session_created', uuid=token['session_uuid'])
    assert message.body['data']['mobile'] is True


@pytest.mark.parametrize('path', ['/token/{token}', '/sessions/{session}',
                                  '/users/{user}/sessions/{session}'])
def test_ending_a_session_publishes_session_deleted(client, make_user, publisher, consumer,
                                                    alice, top_tenant, path):
    make_user('root', acl=['#'])
    admin = {'X-Auth-Token': login(client, 'root')['token']}
    token = login(client)
    session = token['session_uuid']

    target = path.format(token=token['token'], session=session, user=alice)
    assert client.delete('/0.1' + target, headers=admin).status_code in (200, 204)

    [message] = received(consumer, 'auth_session_deleted', uuid=session)
    assert_wazo_message(message, name='auth_session_deleted',
                        routing_key=f'auth.sessions.{session}.deleted',
                        data={'uuid': session, 'user_uuid': str(alice),
                              'tenant_uuid': str(top_tenant)},
                        tenant_uuid=top_tenant, user_uuid=alice, session_uuid=session)


def test_purge_announces_expiring_sessions_once_and_their_end(client, engine, publisher,
                                                              consumer, alice, top_tenant):
    soon = login(client, expiration=30)
    later = login(client)
    cleaner = ExpiredTokenCleaner(engine=engine, interval=60, batch_size=10)

    cleaner.purge()
    cleaner.purge()

    session = soon['session_uuid']
    [message] = received(consumer, 'auth_session_expire_soon', uuid=session)
    assert_wazo_message(message, name='auth_session_expire_soon',
                        routing_key=f'auth.users.{alice}.sessions.{session}.expire_soon',
                        data={'uuid': session, 'user_uuid': str(alice),
                              'tenant_uuid': str(top_tenant)},
                        tenant_uuid=top_tenant, user_uuid=alice, session_uuid=session)
    execute(engine, "UPDATE auth_token SET expires_at = now() - interval '1 second' "
                    'WHERE token_hash = :hash', hash=digest(soon['token']))
    cleaner.purge()
    received(consumer, 'auth_session_deleted', uuid=session)
    assert len(consumer.named('auth_session_expire_soon', uuid=session)) == 1
    assert not consumer.named('auth_session_expire_soon', uuid=later['session_uuid'])


def test_offline_login_publishes_refresh_token_created_once(client, publisher, consumer, alice,
                                                            top_tenant):
    client_id = 'my.app#1*'
    refresh_token_of(client, 'alice', client_id)
    reused = offline_login(client, 'alice', client_id).get_json()['data']  # the same token

    [message] = received(consumer, 'auth_refresh_token_created', client_id=client_id)
    key = f'auth.users.{alice}.tokens.my__DOT__app__HASH__1__STAR__.created'
    assert_wazo_message(message, name='auth_refresh_token_created', routing_key=key,
                        data={'client_id': client_id, 'mobile': False,
                              'user_uuid': str(alice), 'tenant_uuid': str(top_tenant)},
                        tenant_uuid=top_tenant, user_uuid=alice)
    received(consumer, 'auth_session_created', uuid=reused['session_uuid'])
    assert len(consumer.named('auth_refresh_token_created')) == 1


def test_deleting_a_refresh_token_publishes_refresh_token_deleted(client, publisher, consumer,
                                                                  alice, top_tenant):
    refresh_token_of(client, 'alice', 'phone', mobile=True)
    token = login(client)['token']

    response = client.delete(f'/0.1/users/{alice}/tokens/phone',
                             headers={'X-Auth-Token': token})

    assert response.status_code == 204
    [message] = received(consumer, 'auth_refresh_token_deleted', client_id='phone')
    assert_wazo_message(message, name='auth_refresh_token_deleted',
                        routing_key=f'auth.users.{alice}.tokens.phone.deleted',
                        data={'client_id': 'phone', 'mobile': True, 'user_uuid': str(alice),
                              'tenant_uuid': str(top_tenant)},
                        tenant_uuid=top_tenant, user_uuid=alice)


def test_mobile_relogin_replaces_the_refresh_token_and_ends_its_sessions(client, publisher,
                                                                         consumer, alice):
    first = offline_login(client, 'alice', 'phone', mobile=True).get_json()['data']
    refresh_token_of(client, 'alice', 'phone', mobile=True)

    received(consumer, 'auth_refresh_token_created', count=2, client_id='phone')
    received(consumer, 'auth_refresh_token_deleted', client_id='phone')
    received(consumer, 'auth_session_deleted', uuid=first['session_uuid'])


def test_refresh_login_publishes_session_created(client, publisher, consumer, alice):
    refresh = refresh_token_of(client, 'alice', 'app')

    token = refresh_login(client, refresh, 'app').get_json()['data']

    [message] = received(consumer, 'auth_session_created', uuid=token['session_uuid'])
    assert message.body['data']['user_uuid'] == str(alice)


def test_tenant_lifecycle_publishes_added_updated_deleted(client, make_user, publisher,
                                                          consumer):
    make_user('root', acl=['#'])
    admin = {'X-Auth-Token': login(client, 'root')['token']}

    created = client.post('/0.1/tenants', headers=admin, json={
        'name': 'Acme', 'slug': 'acme', 'domain_names': ['acme.example.com']}).get_json()
    tenant = created['uuid']
    [added] = received(consumer, 'auth_tenant_added', uuid=tenant)
    assert_wazo_message(added, name='auth_tenant_added',
                        routing_key=f'auth.tenants.{tenant}.created',
                        data={'uuid': tenant, 'name': 'Acme', 'slug': 'acme',
                              'domain_names': ['acme.example.com']}, tenant_uuid=tenant)

    assert client.put(f'/0.1/tenants/{tenant}', headers=admin,
                      json={'name': 'Acme Corp'}).status_code == 200
    [updated] = received(consumer, 'auth_tenant_updated', uuid=tenant)
    assert_wazo_message(updated, name='auth_tenant_updated',
                        routing_key=f'auth.tenants.{tenant}.updated',
                        data={'uuid': tenant, 'name': 'Acme Corp'}, tenant_uuid=tenant)

    assert client.delete(f'/0.1/tenants/{tenant}', headers=admin).status_code == 204
    [deleted] = received(consumer, 'auth_tenant_deleted', uuid=tenant)
    assert_wazo_message(deleted, name='auth_tenant_deleted',
                        routing_key=f'auth.tenants.{tenant}.deleted',
                        data={'uuid': tenant}, tenant_uuid=tenant)


def test_tenant_delete_ends_each_of_its_sessions_first(client, make_user, publisher, consumer):
    make_user('root', acl=['#'])
    admin = {'X-Auth-Token': login(client, 'root')['token']}
    tenant = client.post('/0.1/tenants', headers=admin, json={'name': 'Gone'}).get_json()['uuid']
    make_user('bob', tenant_uuid=uuid.UUID(tenant))
    sessions = {login(client, 'bob')['session_uuid'] for _ in range(3)}
    refresh_token_of(client, 'bob', 'app')

    assert client.delete(f'/0.1/tenants/{tenant}', headers=admin).status_code == 204

    received(consumer, 'auth_tenant_deleted', uuid=tenant)
    ended = consumer.named('auth_session_deleted', tenant_uuid=tenant)
    assert sessions <= {m.body['data']['uuid'] for m in ended}
    [token] = consumer.named('auth_refresh_token_deleted', tenant_uuid=tenant)
    assert token.body['data']['client_id'] == 'app'
    # The tenant goes last: what it held ended before, in the same transaction.
    last = max(consumer.messages.index(m) for m in [*ended, token])
    assert consumer.messages.index(consumer.named('auth_tenant_deleted')[0]) > last


def test_user_delete_ends_its_sessions_and_refresh_tokens(client, make_user, publisher,
                                                          consumer, alice, top_tenant):
    make_user('root', acl=['#'])
    admin = {'X-Auth-Token': login(client, 'root')['token']}
    session = login(client)['session_uuid']
    refresh_token_of(client, 'alice', 'app')

    assert client.delete(f'/0.1/users/{alice}', headers=admin).status_code == 204

    received(consumer, 'auth_session_deleted', uuid=session)
    [token] = received(consumer, 'auth_refresh_token_deleted', user_uuid=str(alice))
    assert token.body['data'] == {'client_id': 'app', 'mobile': False,
                                  'user_uuid': str(alice), 'tenant_uuid': str(top_tenant)}


@pytest.mark.parametrize('change', ['password', 'disable'])
def test_password_change_and_disable_end_the_users_sessions(client, make_user, publisher,
                                                            consumer, alice, change):
    make_user('root', acl=['#'])
    admin = {'X-Auth-Token': login(client, 'root')['token']}
    session = login(client)['session_uuid']

    if change == 'password':
        response = client.put(f'/0.1/users/{alice}/password', headers=admin,
                              json={'old_password': PASSWORD, 'new_password': 'n3w-secret'})
    else:
        response = client.put(f'/0.1/users/{alice}', headers=admin,
                              json={'username': 'alice', 'enabled': False})
    assert response.status_code in (200, 204), response.get_json()

    received(consumer, 'auth_session_deleted', uuid=session)


def test_checks_write_no_event(client, engine, alice):
    token = login(client)['token']
    before = _count(engine)

    for _ in range(5):
        assert client.head(f'/0.1/token/{token}').status_code == 204
        assert client.get(f'/0.1/token/{token}').status_code == 200

    assert _count(engine) == before


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text('SELECT count(*) FROM auth_event')).scalar()
