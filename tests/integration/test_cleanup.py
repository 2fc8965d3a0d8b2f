"""Expired-token purge (wazo-token-api §4.5, spec D8): batched, one node at a time."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from tests.support.offline_access import (
    digest, execute, is_valid, refresh_rows, refresh_token_of, rows, token_of)
from tests.support.polling import wait_until
from wazo_like_auth.services.cleanup import CLEANUP_LOCK_ID, ExpiredTokenCleaner


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def _expire(engine, tokens: list[str]) -> None:
    execute(engine, "UPDATE auth_token SET expires_at = now() - interval '1 second' "
                    'WHERE token_hash = ANY(:hashes)', hashes=[digest(t) for t in tokens])


def _counts(engine) -> tuple[int, int]:
    return rows(engine, 'SELECT (SELECT count(*) FROM auth_token), '
                        '(SELECT count(*) FROM auth_session)')[0]


@pytest.fixture
def tokens(client, alice):
    """Seven tokens of alice: the first five will expire."""
    return [token_of(client, 'alice') for _ in range(7)]


def test_purge_removes_expired_tokens_and_sessions_in_batches(client, engine, tokens):
    _expire(engine, tokens[:5])
    cleaner = ExpiredTokenCleaner(engine=engine, interval=60, batch_size=2)

    assert cleaner.purge() == 5

    assert _counts(engine) == (2, 2)
    assert all(is_valid(client, token) for token in tokens[5:])
    assert cleaner.purge() == 0


def test_purge_with_a_batch_size_dividing_the_count_removes_all(engine, tokens):
    _expire(engine, tokens[:4])

    assert ExpiredTokenCleaner(engine=engine, interval=60, batch_size=2).purge() == 4

    assert _counts(engine) == (3, 3)


def test_expired_token_is_refused_before_it_is_purged(client, engine, alice):
    token = token_of(client, 'alice')
    _expire(engine, [token])

    assert not is_valid(client, token)
    assert _counts(engine) == (1, 1)


def test_purge_keeps_refresh_tokens_of_expired_sessions(client, engine, alice):
    value = refresh_token_of(client, 'alice', 'app')
    execute(engine, "UPDATE auth_token SET expires_at = now() - interval '1 second'")

    assert ExpiredTokenCleaner(engine=engine, interval=60, batch_size=10).purge() == 1

    assert len(refresh_rows(engine, alice)) == 1
    assert client.post('/0.1/token', json={'refresh_token': value, 'client_id': 'app'}
                       ).status_code == 200


def test_purge_skips_while_another_node_holds_the_lock(engine, tokens):
    _expire(engine, tokens[:3])
    cleaner = ExpiredTokenCleaner(engine=engine, interval=60, batch_size=2)

    with engine.connect() as other_node:
        other_node.execute(text('SELECT pg_advisory_lock(:id)'), {'id': CLEANUP_LOCK_ID})
        try:
            assert cleaner.purge() is None
            assert _counts(engine) == (7, 7)
        finally:
            other_node.execute(text('SELECT pg_advisory_unlock(:id)'), {'id': CLEANUP_LOCK_ID})
            other_node.commit()

    assert cleaner.purge() == 3


def test_purge_releases_its_lock(engine, tokens):
    ExpiredTokenCleaner(engine=engine, interval=60, batch_size=2).purge()

    with engine.connect() as other_node:
        got = other_node.execute(text('SELECT pg_try_advisory_lock(:id)'),
                                 {'id': CLEANUP_LOCK_ID}).scalar()
        other_node.execute(text('SELECT pg_advisory_unlock(:id)'), {'id': CLEANUP_LOCK_ID})
        other_node.commit()
    assert got is True


def _cleanup_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == 'token-cleanup' and t.is_alive()]


def test_started_cleaner_purges_periodically_until_stopped(engine, tokens):
    before = len(_cleanup_threads())
    cleaner = ExpiredTokenCleaner(engine=engine, interval=0.05, batch_size=2)
    cleaner.start()
    try:
        _expire(engine, tokens[:2])
        assert wait_until(lambda: _counts(engine) == (5, 5))
        _expire(engine, tokens[2:4])  # a later cycle takes these
        assert wait_until(lambda: _counts(engine) == (3, 3))
    finally:
        cleaner.stop()

    assert len(_cleanup_threads()) == before
    _expire(engine, tokens[4:])
    time.sleep(0.2)
    assert _counts(engine) == (3, 3)


def test_zero_interval_starts_no_thread(engine):
    before = len(_cleanup_threads())
    cleaner = ExpiredTokenCleaner(engine=engine, interval=0, batch_size=2)

    cleaner.start()

    assert len(_cleanup_threads()) == before
    cleaner.stop()
