"""The administration events on a real RabbitMQ (the audit trail's table in the README): each
write of a user, policy, group, client or link, made by the top tenant's administrator in a
sub-tenant, arrives once, in the sub-tenant (the object's, not the caller's), for the user it
concerns or for every user (``user_uuid:*``), and nothing on the wire holds a password or a
client secret."""
from __future__ import annotations

import json
from collections import Counter

from tests.support.bus_events import received


def test_admin_writes_in_a_sub_tenant_arrive_once_in_that_tenant(admin, publisher, consumer,
                                                                  child, top_tenant):
    at = {'tenant': child}
    u = admin.ok('POST', '/users', json={'username': 'dan', 'password': 'pa55-dan'}, **at)['uuid']
    p = admin.ok('POST', '/policies', json={'name': 'ops', 'acl': ['a.b']}, **at)['uuid']
    g = admin.ok('POST', '/groups', json={'name': 'sales'}, **at)['uuid']
    created = admin.ok('POST', '/clients', json={'client_id': 'bot', 'acl': ['a.b']}, **at)
    c = created['uuid']
    admin.ok('PUT', f'/users/{u}', json={'username': 'dan', 'lastname': 'D'})
    admin.ok('PUT', f'/policies/{p}', json={'name': 'ops', 'acl': ['a.c']})
    admin.ok('PUT', f'/groups/{g}', json={'name': 'sales-2'})
    admin.ok('PUT', f'/clients/{c}', json={'client_id': 'bot', 'name': 'Bot', 'acl': ['a.b']})
    for path in (f'/groups/{g}/users/{u}', f'/users/{u}/policies/{p}',
                 f'/groups/{g}/policies/{p}'):
        admin.ok('PUT', path, 204)
        admin.ok('DELETE', path, 204)
    for path in (f'/clients/{c}', f'/groups/{g}', f'/policies/{p}', f'/users/{u}'):
        admin.ok('DELETE', path, 204)

    expected = [(f'auth_{noun}_{verb}', f'auth.{plural}.{uuid_}.{verb}', user)
                for noun, plural, uuid_, user in (('user', 'users', u, u),
                                                  ('policy', 'policies', p, None),
                                                  ('group', 'groups', g, None),
                                                  ('client', 'clients', c, None))
                for verb in ('created', 'updated', 'deleted')]
    expected += [(f'auth_{name}_{verb}', f'auth.{key}.{verb}', user)
                 for name, key, user in (('group_user', f'groups.{g}.users.{u}', u),
                                         ('user_policy', f'users.{u}.policies.{p}', u),
                                         ('group_policy', f'groups.{g}.policies.{p}', None))
                 for verb in ('added', 'removed')]
    received(consumer, 'auth_user_deleted', uuid=u)  # the last write: everything came before
    ours = {u, p, g, c}  # not the tenant's all-users group, which the user joins at creation
    mine = [m for m in consumer.messages if m.headers['name'].startswith(
        ('auth_user', 'auth_policy', 'auth_group', 'auth_client'))
        and ours & set(m.routing_key.split('.'))
        and set(m.routing_key.split('.')[2::2]) <= ours]
    seen = Counter((m.headers['name'], m.routing_key,
                    next(h.split(':', 1)[1] for h in m.headers if h.startswith('user_uuid:')))
                   for m in mine)
    assert seen == Counter((name, key, user or '*') for name, key, user in expected)
    assert {m.headers['tenant_uuid'] for m in mine} == {str(child)} != {str(top_tenant)}
    assert all(m.headers['required_acl'] == f'events.{m.routing_key}' for m in mine)
    wire = json.dumps([[m.headers, m.body] for m in consumer.messages])
    assert 'pa55-dan' not in wire and created['client_secret'] not in wire
    assert '$2b$' not in wire  # no password hash either
