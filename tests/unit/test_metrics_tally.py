"""Checks answered before Flask are tallied in the process and added to the metrics in one go:
the exposition must read exactly as if every check had been observed one by one."""
from __future__ import annotations

import random
import threading

from wazo_like_auth.metrics import LATENCY_BUCKETS, Metrics

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
