"""The targets table of issue 14, from one run's rows: each measure, its target, the figure.

Figures are ratios or per-request costs measured within the run, so a noisy or shared machine
moves them far less than absolute req/s.
"""
from __future__ import annotations

import os

from . import jwt_tokens
from .scenarios import by_concurrency


def _rows(report, key: str) -> dict:
    return by_concurrency(report.rows, key)


def _cpu_ms(row, which: str) -> float | None:
    spent = getattr(row, f'{which}_cpu')
    return spent / row.result.requests * 1000 if spent is not None and row.result.requests \
        else None


def _ratio_cells(over: dict, under: dict) -> tuple[str, list[float]]:
    values = {c: over[c].result.rps / under[c].result.rps for c in sorted(over)
              if c in under and under[c].result.rps > 0}
    return ', '.join(f'{v:.2f} at c={c}' for c, v in values.items()) or 'n/a', \
        list(values.values())


def _met(values: list[float], ok) -> str:
    return ('yes' if all(ok(v) for v in values) else 'no') if values else '–'


def lines(report) -> list[str]:
    out = ['| measure | target | this run | met |', '|---|---|---|---|']

    def add(measure, target, figure, met='–'):
        out.append(f'| {measure} | {target} | {figure} | {met} |')

    _throughput(report, add)
    _costs(report, add)
    _under_load(report, add)
    jwt_tokens.target_lines(lambda key: _rows(report, key), _ratio_cells, _met, _cpu_ms, add)
    return out


def _throughput(report, add) -> None:
    head, wsgi, nginx = _rows(report, 'head'), _rows(report, 'wsgi'), _rows(report, 'nginx')
    text, values = _ratio_cells(head, wsgi)
    add('cached check ÷ granian bare WSGI 204', '≥ 0.6', text, _met(values, lambda v: v >= .6))
    add('cached check ÷ nginx `return 204`', 'reported (≈ 0.3)',
        _ratio_cells(head, nginx)[0] if nginx else 'nginx not installed')
    if head:
        first = min(head)
        p99 = head[first].result.p99
        add(f'check p99 at c={first}', '≤ 2 ms', f'{p99:.2f} ms', _met([p99], lambda v: v <= 2))


def _costs(report, add) -> None:
    for c, row in sorted(_rows(report, 'unknown').items()):
        add(f'unknown-token check, c={c}', 'reported',
            f'{row.result.rps:,.0f} req/s; CPU/req service {_fmt(_cpu_ms(row, "service"))} ms, '
            f'PostgreSQL {_fmt(_cpu_ms(row, "postgres"))} ms')
    for c, row in sorted(_rows(report, 'refresh').items()):
        cost = [v for v in (_cpu_ms(row, 'service'), _cpu_ms(row, 'postgres')) if v is not None]
        add(f'refresh exchange CPU (service + PostgreSQL), c={c}', '≤ 2 ms',
            f'{sum(cost):.2f} ms' if cost else 'n/a',
            _met([sum(cost)] if cost else [], lambda v: v <= 2))
    bound = (os.cpu_count() or 1) / report.bcrypt_verify if report.bcrypt_verify else 0
    logins = [row.result.rps / bound for row in _rows(report, 'login').values() if bound]
    add('logins/s ÷ (cores ÷ one bcrypt verify)', '≥ 0.9',
        ', '.join(f'{v:.2f}' for v in logins) or 'n/a', _met(logins, lambda v: v >= .9))


def _under_load(report, add) -> None:
    storm = [m.checks.result.p99 for m in report.mixed]
    add('check p99 while logins saturate bcrypt', '≤ 20 ms',
        ', '.join(f'{v:.2f} ms at c={m.checks.concurrency}'
                  for v, m in zip(storm, report.mixed)) or 'n/a',
        _met(storm, lambda v: v <= 20))
    if report.memory:
        first_rss, last_rss, checks = report.memory
        add("worker RSS after the run's checks", 'flat, ≤ 100 MB',
            f'{first_rss:.1f} → {last_rss:.1f} MiB after {checks:,} checks',
            _met([last_rss], lambda v: v <= 100))
    if report.churn and report.churn.runs:
        _churn(report.churn, add)


def _churn(section, add) -> None:
    """The hit ratio, the check throughput under churn against the issue's target, and what
    bounds it here: on cores the load generator shares, the churn's own CPU
    (contribs/bench/churn.py), so the cost of a check under churn is shown beside it."""
    hit, ratio = section.hit_ratio, section.throughput_ratio
    add('churn mix: hit ratio on known tokens', '≥ 0.9', f'{hit:.3f}',
        _met([hit], lambda v: v >= .9))
    bound = (f' (bound here: {section.throughput_bound:.2f}, the churn alone using '
             f'{section.churn_cores:.2f} cores)') if section.measured_cpu else ''
    add('churn mix: check throughput ÷ no churn', '≥ 0.8', f'{ratio:.3f}{bound}',
        _met([ratio], lambda v: v >= .8))
    if section.measured_cpu:
        cost = section.check_cpu_ratio
        add('churn mix: CPU per check, no churn ÷ with churn', 'reported (≥ 0.8: churn does '
            'not make a check dearer)', f'{cost:.3f}')


def _fmt(value: float | None) -> str:
    return '–' if value is None else f'{value:.3f}'
