"""A scenario measured twice in a run (runner.REPEATED) counts as one row whose rate is both
samples' and whose latencies are the worse sample's: the ratios of the targets table."""
from __future__ import annotations

from contribs.bench.load import Request, Result
from contribs.bench.scenarios import Row, Scenario, by_concurrency

HEAD = Scenario('head', 'check HEAD', 'service', Request('HEAD', '/0.1/token/t', expect=204))
WSGI = Scenario('wsgi', 'granian bare', 'ceiling', Request('GET', '/wsgi/', expect=204))


def _row(scenario, c, requests, p99, cpu):
    return Row(scenario, c, Result(requests=requests, seconds=5.0, errors=0, p50=0.1,
                                   p90=0.5, p99=p99), cpu, 0.0)


def test_two_samples_are_one_row_of_both():
    rows = [_row(HEAD, 8, 200_000, 1.7, 8.0), _row(WSGI, 8, 400_000, 1.4, 7.8),
            _row(HEAD, 64, 300_000, 11.0, 8.2), _row(HEAD, 8, 250_000, 2.3, 8.1)]

    head = by_concurrency(rows, 'head')

    assert sorted(head) == [8, 64]
    assert head[8].result.rps == 450_000 / 10.0
    assert head[8].result.p99 == 2.3 and head[8].service_cpu == 16.1
    assert head[64] is rows[2]
    assert by_concurrency(rows, 'wsgi')[8].result.rps == 80_000.0


def test_a_sample_without_cpu_leaves_the_rows_cpu_unknown():
    rows = [_row(HEAD, 8, 1000, 1.0, 8.0), _row(HEAD, 8, 1000, 1.0, None)]
    assert by_concurrency(rows, 'head')[8].service_cpu is None
