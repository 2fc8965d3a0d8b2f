"""Checks answered before Flask are tallied in the process and added to the metrics in one go:
the exposition must read exactly as if every check had been observed one by one."""
from __future__ import annotations

import random
import threading
import time

from wazo_like_auth.metrics import LATENCY_BUCKETS, Metrics
from wazo_like_auth.services.validation_cache import ValidationCache

ROUTE = '/token/<token>'


def _check_lines(metrics: Metrics) -> list[str]:
    text = metrics.exposition()[0].decode()
    return [line for line in text.splitlines()
            if line.startswith(('wazo_auth_request_duration_seconds', 'wazo_auth_token_checks'))
            and not line.startswith('#') and '_created' not in line]


def _durations(n: int) -> list[float]:
    rng = random.Random(14)
    # Every bucket, its exact bounds (Prometheus buckets are "less than or equal"), and +Inf.
    return [*LATENCY_BUCKETS, 0.0, 7.5, *(rng.uniform(0, 3) for _ in range(n))]


def test_tallied_checks_expose_exactly_what_one_by_one_observations_do():
    one_by_one, tallied = Metrics(), Metrics()
    for seconds in _durations(500):
        for method, status in (('HEAD', 204), ('GET', 200)):
            one_by_one.record(method, ROUTE, status, seconds, None)
            tallied.tally_check(method, ROUTE, status, seconds)
    tallied.flush_checks()
    assert _check_lines(tallied) == _check_lines(one_by_one)
    assert 'wazo_auth_token_checks_total{result="204"} 514.0' in _check_lines(tallied)


def test_checks_tallied_by_many_threads_are_all_counted_once():
    metrics = Metrics()

    def answer():
        for _ in range(2000):
            metrics.tally_check('HEAD', ROUTE, 204, 0.0002)

    threads = [threading.Thread(target=answer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(20):  # flushes racing with the tallies lose nothing
        metrics.flush_checks()
    for thread in threads:
        thread.join()
    metrics.flush_checks()
    metrics.flush_checks()  # a flush with nothing pending adds nothing
    lines = _check_lines(metrics)
    assert 'wazo_auth_token_checks_total{result="204"} 16000.0' in lines
    assert ('wazo_auth_request_duration_seconds_bucket{le="0.0005",method="HEAD",'
            'route="/token/<token>"} 16000.0') in lines


class _SlowFirstRead(ValidationCache):
    """A real cache whose first read of ``hits`` is slow, as a thread preempted right
    after reading it would be."""

    def __init__(self):
        super().__init__()
        self._reads = 0

    @property
    def hits(self):
        self._reads += 1
        if self._reads == 1:
            value = self._hits
            time.sleep(0.1)
            return value
        return self._hits

    @hits.setter
    def hits(self, value):
        self._hits = value


class _Pool:
    def checkedout(self) -> int:
        return 0


def test_syncs_running_at_once_count_each_cache_hit_once():
    metrics, cache = Metrics(), _SlowFirstRead()
    cache.hits = 10
    slow = threading.Thread(target=metrics.sync, args=(cache, _Pool()))
    slow.start()
    time.sleep(0.02)
    cache.hits = 15
    metrics.sync(cache, _Pool())  # a request thread's sync meanwhile
    slow.join()
    metrics.sync(cache, _Pool())  # the next periodic one
    exposed = metrics.exposition()[0].decode().splitlines()
    assert 'wazo_auth_validation_cache_hits_total 15.0' in exposed
