"""Revocation evicts only the revoked tokens: under logouts, session deletions and admin
writes, every other cached token stays cached (issue 14, churn)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.support.admin_client import token_of
from tests.support.polling import wait_until
from wazo_like_auth import tokens
from wazo_like_auth.models import Base
from wazo_like_auth.services.local_revocation import revoking_tables
from wazo_like_auth.services.validation_cache import ValidationCache


def _cached_hit(services, client, token: str) -> bool:
    """Whether a check of ``token`` answers 204 from the cache (the hit counter moves)."""
    hits = services.validation_cache.hits
    return (client.head(f'/0.1/token/{token}').status_code == 204
            and services.validation_cache.hits == hits + 1)


@pytest.fixture
def kept(services, client, make_user, login) -> str:
    """A token checked once, so cached."""
    make_user('keeper', acl=['confd.#'])
    token = token_of(login, 'keeper')
    assert client.head(f'/0.1/token/{token}').status_code == 204
    assert _cached_hit(services, client, token)
    return token


def test_deleting_another_token_keeps_this_one_cached(services, client, kept, make_user,
                                                      login):
    make_user('leaver', acl=['confd.#'])
    other = token_of(login, 'leaver')
    assert client.head(f'/0.1/token/{other}').status_code == 204
    assert client.delete(f'/0.1/token/{other}').status_code == 200
    # The revoked one is gone at once, here; the other stays a cache hit.
    assert client.head(f'/0.1/token/{other}').status_code == 404
    assert _cached_hit(services, client, kept)


def test_a_policy_delete_or_a_delete_of_nothing_evicts_nothing(services, client, kept,
                                                               admin):  # noqa: F811
    policy = admin.ok('POST', '/policies', json={'name': 'temporary', 'acl': ['x.y']})
    admin.ok('DELETE', f"/policies/{policy['uuid']}", status=204)
    assert _cached_hit(services, client, kept)
    unknown = '0b6e2a3c-1d4f-4a5b-8c7d-9e0f1a2b3c4d'
    assert client.delete(f'/0.1/token/{unknown}').status_code == 200
    assert _cached_hit(services, client, kept)


def test_deletes_wait_for_eviction_from_every_table_the_database_cascades_to_tokens_from(
        engine):
    """Only deletes from these tables make the committing request wait for its own
    notifications: the migrated schema must cascade to auth_token from no other table."""
    with engine.connect() as conn:
        cascades = conn.execute(text(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND confdeltype = 'c'")).all()
    reached, grown = {'auth_token'}, True
    while grown:
        parents = {parent for child, parent in cascades if child in reached}
        grown = not parents <= reached
        reached |= parents
    assert revoking_tables(Base.metadata, 'auth_token') == reached
    assert 'auth_policy' not in reached and 'auth_login_failure' not in reached


def test_deleting_a_whole_session_evicts_it_and_only_it(services, client, kept, make_user,
                                                       login, admin):  # noqa: F811
    make_user('sessioned', acl=['confd.#'])
    token = token_of(login, 'sessioned')
    session = client.get(f'/0.1/token/{token}').get_json()['data']['session_uuid']
    assert client.head(f'/0.1/token/{token}').status_code == 204
    admin.ok('DELETE', f'/sessions/{session}', status=204)
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert _cached_hit(services, client, kept)


def test_deleting_a_user_evicts_its_tokens_before_answering(services, client, kept,
                                                            make_user, login, admin):
    user = make_user('departing', acl=['confd.#'])
    token = token_of(login, 'departing')
    assert client.head(f'/0.1/token/{token}').status_code == 204
    admin.ok('DELETE', f'/users/{user}', status=204)
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert _cached_hit(services, client, kept)


# --- the race between a read and a revocation, on the cache itself ------------------------


def _enabled_cache(**kwargs) -> ValidationCache:
    cache = ValidationCache(**kwargs)
    cache.set_enabled(True)
    return cache


def test_a_read_is_stored_unless_its_own_digest_was_revoked_meanwhile():
    cache = _enabled_cache()
    mine, other = tokens.token_digest('mine'), tokens.token_digest('other')
    read_at = cache.generation
    cache.evict([other])  # another token revoked while the row of `mine` was read
    cache.put(mine, 'row', read_at)
    assert cache.get(mine) == 'row'
    read_at = cache.generation
    cache.evict([mine])  # this token revoked while its row was read: never stored
    cache.put(mine, 'stale row', read_at)
    assert cache.get(mine) is None
    cache.put(mine, 'row read after', cache.generation)  # a read started after the revocation
    assert cache.get(mine) == 'row read after'


def test_reads_older_than_what_the_cache_forgets_or_empties_are_refused():
    cache = _enabled_cache(revoked_size=2)
    digests = [tokens.token_digest(f't{i}') for i in range(4)]
    read_at = cache.generation
    cache.evict(digests[:3])  # the record keeps the last two: reads before it are refused
    cache.put(digests[3], 'row', read_at)
    assert cache.get(digests[3]) is None
    read_at = cache.generation
    cache.clear()  # a '*' notification: every earlier read is refused
    cache.put(digests[3], 'row', read_at)
    assert cache.get(digests[3]) is None


def test_a_committed_revocation_waits_for_its_own_notification(services, client, kept):
    """The committing thread returns only once the listener has evicted its digests: a
    check racing from another thread right after the delete never sees the token."""
    cache = services.validation_cache
    token = kept
    seen_after_delete = []
    deleted = threading.Event()

    def checker():
        deleted.wait(5)
        seen_after_delete.append(cache.get(tokens.token_digest(token)))

    thread = threading.Thread(target=checker)
    thread.start()
    assert client.delete(f'/0.1/token/{token}').status_code == 200
    deleted.set()
    thread.join(5)
    assert seen_after_delete == [None]
    assert wait_until(lambda: cache.enabled)
