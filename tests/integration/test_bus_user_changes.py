"""The changes of a user its own row does not show, on a real RabbitMQ: its e-mail addresses
and its password each publish one ``auth_user_updated`` (migration 0013), in the user's tenant
whoever the caller is, never with an address, password or hash; a refused change and the
stronger hash written at login publish nothing."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.bus_events import received
from tests.support.credentials import basic

PASSWORD = 's3cret'


@pytest.fixture
def bob(make_user, child):
    """A user of a sub-tenant, changed by the top tenant's administrator."""
    return str(make_user('bob', PASSWORD, tenant_uuid=child))


def settled(admin, consumer, tenant) -> None:
    """Wait until everything committed so far reached the consumer: a change committed after
    it publishes an event the publisher sends after theirs (ascending ids, none skipped)."""
    name = f'marker-{uuid.uuid4().hex[:8]}'
    admin.ok('PUT', f'/tenants/{tenant}', json={'name': name})
    consumer.wait_for(lambda messages: any(
        m.body['data'] == {'uuid': str(tenant), 'name': name} for m in messages))
    assert [m for m in consumer.named('auth_tenant_updated', uuid=str(tenant))
            if m.body['data']['name'] == name]


def updates_of(consumer, user: str) -> list:
    return consumer.named('auth_user_updated', uuid=user)


def test_email_changes_publish_one_user_updated_in_the_users_tenant(
        admin, publisher, consumer, bob, child, top_tenant):
    emails = [{'address': 'bob@example.com', 'main': True},
              {'address': 'bob@example.org', 'main': False}]

    admin.ok('PUT', f'/users/{bob}/emails', json={'emails': emails})
    settled(admin, consumer, child)

    [message] = updates_of(consumer, bob)
    assert message.routing_key == f'auth.users.{bob}.updated'
    assert message.headers['tenant_uuid'] == str(child) != str(top_tenant)
    assert message.headers[f'user_uuid:{bob}'] is True
    assert message.body['data'] == {'uuid': bob, 'tenant_uuid': str(child),
                                    'username': 'bob', 'purpose': 'user'}
    assert 'example' not in json.dumps(message.body)

    admin.ok('PUT', f'/users/{bob}/emails', json={'emails': emails})  # nothing changes
    confirmed = [{**emails[0], 'confirmed': True}, emails[1]]
    admin.ok('PUT', f'/admin/users/{bob}/emails', json={'emails': confirmed})
    settled(admin, consumer, child)
    assert len(updates_of(consumer, bob)) == 2


def test_refused_email_changes_publish_nothing(admin, publisher, consumer, bob, child):
    unknown = uuid.uuid4()
    assert admin.put(f'/users/{unknown}/emails',
                     json={'emails': [{'address': 'x@example.com', 'main': True}]}
                     ).status_code == 404
    assert admin.put(f'/users/{bob}/emails',
                     json={'emails': [{'address': 'not an address', 'main': True}]}
                     ).status_code == 400
    settled(admin, consumer, child)

    assert not consumer.named('auth_user_updated')


def test_a_password_change_publishes_user_updated_and_no_secret(
        admin, client, publisher, consumer, engine, bob, child):
    refused = admin.put(f'/users/{bob}/password',
                        json={'old_password': 'wrong', 'new_password': 'n3w-pa55'})
    assert refused.status_code == 401
    settled(admin, consumer, child)
    assert not updates_of(consumer, bob)

    admin.ok('PUT', f'/users/{bob}/password', 204,
             json={'old_password': PASSWORD, 'new_password': 'n3w-pa55'})
    settled(admin, consumer, child)

    [message] = updates_of(consumer, bob)
    assert message.headers['tenant_uuid'] == str(child)
    with engine.connect() as conn:
        stored = conn.execute(text('SELECT password_hash FROM auth_user WHERE uuid = :u'),
                              {'u': bob}).scalar()
    wire = json.dumps([m.body for m in consumer.messages]) + repr(
        [m.headers for m in consumer.messages])
    for secret in (PASSWORD, 'n3w-pa55', stored, stored.split('$')[-1]):
        assert secret not in wire


def test_the_stronger_hash_written_at_login_publishes_nothing(
        make_config, db_uri, engine, publisher, consumer, bob):
    with running_app(make_config(db_uri=db_uri, password_hash_rounds=5), engine) as app:
        response = app.test_client().post('/0.1/token', json={}, headers=basic('bob', PASSWORD))
    assert response.status_code == 200
    with engine.connect() as conn:
        stored = conn.execute(text('SELECT password_hash FROM auth_user WHERE uuid = :u'),
                              {'u': bob}).scalar()
    assert stored.startswith('$2b$05$')  # rehashed at the configured cost

    received(consumer, 'auth_session_created', uuid=response.get_json()['data']['session_uuid'])
    assert not updates_of(consumer, bob)  # the session's event came after any of the login's
