"""The pure parts of push revocation: which bus messages end a session, the online cache's
bookkeeping by session, the JWT mode's memory of ended sessions, the settings it refuses, and
py-amqp staying optional. (On a real RabbitMQ: tests/integration/test_verifier_push.py.)"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.support.clock import ManualMonotonic
from wazo_like_auth.verifier import PushRevocation
from wazo_like_auth.verifier.cache import RECENT_ENDS, PositiveCache
from wazo_like_auth.verifier.ended_sessions import EndedSessions
from wazo_like_auth.verifier.push import EVENT, ended_session

SESSION = '7d0c6c1e-5f0e-4c7a-9a51-3b1f2a3c4d5e'
TENANT = '0f3e1b2a-8c4d-4e5f-a6b7-c8d9e0f1a2b3'


def _event(name=EVENT, **data) -> bytes:
    return json.dumps({'name': name, 'tenant_uuid': TENANT, 'session_uuid': SESSION,
                       'data': data}).encode()


def test_a_session_deleted_event_names_its_session():
    body = _event(uuid=SESSION, user_uuid=None, tenant_uuid=str(uuid.uuid4()))
    assert ended_session(body, {'name': EVENT}) == SESSION
    assert ended_session(body.decode(), None) == SESSION  # py-amqp decodes utf-8 bodies


def test_the_session_is_normalised_as_the_service_writes_it():
    assert ended_session(_event(uuid=SESSION.upper()), {}) == SESSION


@pytest.mark.parametrize('body, headers', [
    (_event(uuid=SESSION), {'name': 'auth_session_created'}),
    (_event('auth_session_created', uuid=SESSION), {}),
    (_event('auth_session_expire_soon', uuid=SESSION), None),
    (json.dumps({'data': {'uuid': SESSION}}).encode(), {}),
    (_event(uuid='not-a-uuid'), {}), (_event(uuid=42), {}), (_event(uuid=None), {}),
    (_event(uuid=SESSION * 3), {}), (_event(), {}),
    (json.dumps({'name': EVENT, 'data': [SESSION]}).encode(), {}),
    (b'\xff\xfe\x00', {}), (b'not json', {}), (b'', {}), (b'[]', {}), (b'null', {}),
    (b'[' * 100_000, {}), (None, {}), (12, {}),
])
def test_anything_else_ends_no_session(body, headers):
    assert ended_session(body, headers) is None


def test_a_cached_check_lasts_the_push_ttl_only_while_push_is_live_and_knows_its_session():
    clock = ManualMonotonic()
    cache = PositiveCache(5.0, 100, clock, push_ttl=300.0)
    known, unknown = cache.key('a', 'acl', None), cache.key('b', 'acl', None)
    cache.remember(known, cache.generation(), SESSION)
    cache.remember(unknown, cache.generation(), None)
    clock.now += 60
    assert cache.hit(known, pushed=True)
    assert not cache.hit(unknown, pushed=True)
    assert not cache.hit(known, pushed=False)  # push down: the normal ttl, and it is gone
    assert not cache.hit(known, pushed=True)


def test_a_cached_check_never_outlives_the_token():
    clock = ManualMonotonic()
    cache = PositiveCache(5.0, 100, clock, push_ttl=300.0)
    key = cache.key('a', 'acl', None)
    cache.remember(key, cache.generation(), SESSION, lifetime=30.0)
    clock.now += 29
    assert cache.hit(key, pushed=True)
    clock.now += 1
    assert not cache.hit(key, pushed=True)


def test_a_session_end_drops_every_check_of_that_session_and_no_other():
    cache = PositiveCache(5.0, 100, ManualMonotonic(), push_ttl=300.0)
    other = str(uuid.uuid4())
    mine = [cache.key('a', acl, None) for acl in ('x', 'y')]
    theirs = cache.key('b', 'x', None)
    for key in mine:
        cache.remember(key, cache.generation(), SESSION)
    cache.remember(theirs, cache.generation(), other)
    cache.drop_session(SESSION)
    assert [cache.hit(key, pushed=True) for key in mine] == [False, False]
    assert cache.hit(theirs, pushed=True)


def test_an_answer_given_before_a_session_end_is_not_cached_after_it():
    cache = PositiveCache(5.0, 100, ManualMonotonic(), push_ttl=300.0)
    key = cache.key('a', 'acl', None)
    asked_at = cache.generation()
    cache.drop_session(SESSION)  # the event arrives while the answer travels
    cache.remember(key, asked_at, SESSION)
    assert not cache.hit(key, pushed=True)
    cache.remember(key, cache.generation(), SESSION)
    cache.clear()
    assert not cache.hit(key, pushed=True)


def test_an_answer_given_before_another_session_ends_is_cached():
    cache = PositiveCache(5.0, 100, ManualMonotonic(), push_ttl=300.0)
    key, unknown, late = (cache.key('a', acl, None) for acl in ('acl', 'other', 'late'))
    asked_at = cache.generation()
    cache.drop_session(str(uuid.uuid4()))  # another session's end, while the answers travel
    cache.remember(key, asked_at, SESSION)
    cache.remember(unknown, asked_at, None)  # no session named: it may be the one that ended
    assert cache.hit(key, pushed=True) and not cache.hit(unknown)
    asked_at = cache.generation()
    for _ in range(RECENT_ENDS + 1):  # more ends than remembered: one may have been its own
        cache.drop_session(str(uuid.uuid4()))
    cache.remember(late, asked_at, SESSION)
    assert not cache.hit(late, pushed=True)


def test_the_cache_stays_bounded_and_forgets_evicted_entries_by_session():
    cache = PositiveCache(5.0, 3, ManualMonotonic(), push_ttl=300.0)
    keys = [cache.key(str(n), 'acl', None) for n in range(10)]
    for key in keys:
        cache.remember(key, cache.generation(), SESSION)
    assert len(cache) == 3
    assert [cache.hit(key, pushed=True) for key in keys[-3:]] == [True] * 3
    cache.drop_session(SESSION)
    assert len(cache) == 0


def test_an_ended_session_is_remembered_for_a_while_then_forgotten():
    clock = ManualMonotonic()
    ended = EndedSessions(keep_for=100.0, wall_clock=clock)
    ended.add(SESSION)
    assert ended.refuses(SESSION, token_expiry=clock.now + 50)
    assert not ended.refuses(str(uuid.uuid4()), token_expiry=clock.now + 50)
    clock.now += 100
    assert not ended.refuses(SESSION, token_expiry=clock.now + 50)
    clock.now += 100
    ended.add(str(uuid.uuid4()))
    assert len(ended) == 1  # the old one pruned


def test_a_refused_token_of_an_ended_session_stays_refused_until_it_expires():
    clock = ManualMonotonic()
    ended = EndedSessions(keep_for=100.0, wall_clock=clock)
    ended.add(SESSION)
    assert ended.refuses(SESSION, token_expiry=clock.now + 500)
    clock.now += 499
    assert ended.refuses(SESSION, token_expiry=clock.now + 1)


@pytest.mark.parametrize('options, message', [
    ({'uri': 'http://rabbitmq:5672/'}, 'amqp:// or amqps://'),
    ({'uri': 'amqp://rabbitmq:99999/'}, 'invalid port'),
    ({'exchange_type': 'direct'}, 'cannot be bound to every session'),
    ({'exchange_name': ''}, '1 to 255'), ({'heartbeat': -1}, 'heartbeat'),
    ({'retry_initial_delay': 0}, 'delays'),
])
def test_settings_it_cannot_use_are_refused_at_once(options, message):
    with pytest.raises(ValueError, match=message):
        PushRevocation(**options)


def test_push_needs_py_amqp_only_when_asked_for_and_says_what_to_install():
    script = ('import sys; sys.modules["amqp"] = None\n'
              'from wazo_like_auth.verifier import PushRevocation, TokenVerifier\n'
              'TokenVerifier("http://127.0.0.1:9/0.1")\n'
              'try:\n    TokenVerifier("http://127.0.0.1:9/0.1", push=PushRevocation())\n'
              'except ImportError as error:\n    print(error)\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert 'pip install "wazo-like-auth[verifier-push]"' in done.stdout
