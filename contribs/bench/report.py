"""The results of one run as Markdown: printed, and appended to RESULTS.md.

The ratio lines come last, one per line, so a reader (or a test) finds them by their prefix.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from . import churn, events, targets
from .churn import ChurnSection
from .events import EventsSection
from .nodes import RevocationStats
from .scale import PurgeOutcome
from .load import Result
from .scenarios import Row, by_concurrency
from .verifier_offline import VerifierResult

HEADER = """# Benchmark results

`make bench` (or `python -m contribs.bench --help` for the options) starts
`wazo-like-auth serve` as users run it (granian, embedded PostgreSQL unless `--db-uri`), a
bare Flask app answering 204 with the same granian settings (the ceiling; the same server also
answers 204 with no framework at all under `/wsgi/`: granian's bare WSGI 204, the Python-server
limit) and, when installed, nginx answering `return 204` with as many workers (the machine's
HTTP limit), then measures each scenario at each concurrency, alternating service and ceilings
in one run. Latencies are in ms; CPU columns are CPU seconds spent during the measured window
by the server under test (granian master + workers) and by PostgreSQL (all its processes).
Each run is appended below. (Runs before 2026-12-06 served with gunicorn.)

Reading the numbers:
- The load generator shares the machine with the servers; on a 2-core machine req/s are
  bounded by that sharing, and by whatever else runs (the load average at start is recorded).
  `CPU ms/req` (service + PostgreSQL CPU per request) is the figure least moved by such noise,
  so each ratio line also gives the ratio computed from it ("by CPU per request"): what the
  throughputs would compare as on a machine where the servers had the CPU to themselves.
- Each scenario starts from idle servers (the run waits for their CPU to drop), so a backlog of
  bcrypt logins is not charged to the next scenario.
- The login row's bound (cores ÷ one bcrypt verify) takes the verify measured with every core
  verifying at once, right before and after each login row: the host's speed drifts by a few
  per cent over minutes, and a verify timed at the run's start on an idle core would not be
  the speed the login rows had. The login row also lasts long enough for 40 logins per core
  (about 9 s at cost 12, even with a shorter `--duration`): in a 5 s window, the login each
  core has half done at the end is a 2-5 % error.
- The cached check, its JWT twin and granian's bare WSGI 204 are measured twice per
  concurrency, alternated (each appears twice in the table): a check's throughput moves by
  10-25 % between two wrk runs of the same code, with how the connections fall on the
  workers. Their ratios add both samples up; their latencies are the worse sample's.
- Unknown tokens are checked with GET: wrk cannot read a HEAD answer announcing a body.
- The checks use one token of the bootstrapped user (ACL `#`); login and refresh use that one
  user too, so they also measure what serialises logins of one user (its row lock).
- `--scale` filler is written with COPY, not the API; `--nodes` revokes on node 0 and polls
  the other nodes with HEAD until they answer 404.
"""
PACKAGES = ('granian', 'flask', 'werkzeug', 'flask-restful', 'sqlalchemy', 'psycopg2-binary',
            'bcrypt')


@dataclass
class ScaleSection:
    count: int
    preload_seconds: float
    purge: PurgeOutcome
    rows: list[Row] = field(default_factory=list)  # checks with the big table
    during_purge: Row | None = None


@dataclass
class MixedSection:
    checks: Row  # token checks measured while the logins ran
    logins: Result  # the logins, over the same window (and a short lead before it)


@dataclass
class NodesSection:
    count: int
    revocations: int
    stats: RevocationStats
    validation_cache: str


@dataclass
class RunReport:
    command: str
    started: str
    generator: str
    settings: dict
    postgres_version: str
    rows: list[Row] = field(default_factory=list)
    bcrypt_verify: float = 0.0  # CPU seconds of one verification at the configured cost
    verify_beside: list[float] = field(default_factory=list)  # the same, beside login rows
    load_average: float = 0.0  # 1-minute load average when the run started: other work skews
    scale: ScaleSection | None = None
    mixed: list[MixedSection] = field(default_factory=list)  # one per concurrency level
    nodes: NodesSection | None = None
    churn: ChurnSection | None = None
    events: EventsSection | None = None  # events on the bus (issue 18)
    # Largest service process RSS (MiB) after the first scenario and after all of them, and
    # the token checks answered in between: memory per worker must stay flat.
    memory: tuple[float, float, int] | None = None
    verifier_offline: VerifierResult | None = None  # the JWT-mode verifier alone (issue 16)


def machine(load_average: float) -> str:
    model = 'unknown CPU'
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return f'{os.cpu_count()} cores, {model}; load average {load_average:.2f} at start'


def versions(postgres_version: str) -> str:
    parts = [f'python {platform.python_version()}']
    for name in PACKAGES:
        try:
            parts.append(f'{name} {importlib.metadata.version(name)}')
        except importlib.metadata.PackageNotFoundError:
            continue
    parts.append(f'PostgreSQL {postgres_version}')
    return ', '.join(parts)


def _number(value: float | None, digits: int = 1) -> str:
    return '–' if value is None else f'{value:,.{digits}f}'


def _row(row: Row, label: str | None = None) -> str:
    r = row.result
    cpu = [c for c in (row.service_cpu, row.postgres_cpu) if c is not None]
    per_request = sum(cpu) / r.requests * 1000 if r.requests and cpu else None
    cells = [label or row.scenario.name, str(row.concurrency), _number(r.rps), _number(r.p50, 2),
             _number(r.p90, 2), _number(r.p99, 2), str(r.errors), _number(row.service_cpu, 2),
             _number(row.postgres_cpu, 2), _number(per_request, 3)]
    return '| ' + ' | '.join(cells) + ' |'


def table(rows: list[Row]) -> list[str]:
    return ['| scenario | conc. | req/s | p50 | p90 | p99 | errors | service CPU s '
            '| PostgreSQL CPU s | CPU ms/req |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'] + [_row(r) for r in rows]


def _by(rows: list[Row], key: str) -> dict[int, Row]:
    return by_concurrency(rows, key)


def _pairs(over: dict[int, float], under: dict[int, float]) -> str:
    parts = [f'{over[c] / under[c]:.3f} at c={c}' for c in sorted(over)
             if c in under and under[c] > 0]
    return ', '.join(parts) or 'n/a'


def _where(report: RunReport) -> str:
    """Where the bound's verify was measured (the login row's bound: runner.py)."""
    if report.verify_beside:
        return ' on every core beside the login rows'
    return ''


def _ratio_line(label: str, over: dict[int, float], under: dict[int, float],
                note: str = '') -> str:
    return f'{label}: {_pairs(over, under)}{note}'


def _cpu_per_request(rows: list[Row], key: str) -> dict[int, float]:
    """Seconds of service + PostgreSQL CPU per request, by concurrency."""
    costs = {}
    for c, row in _by(rows, key).items():
        spent = [v for v in (row.service_cpu, row.postgres_cpu) if v is not None]
        if spent and row.result.requests:
            costs[c] = sum(spent) / row.result.requests
    return costs


def ratios(report: RunReport) -> list[str]:
    """Throughput ratios; after ';' the same ratio from CPU per request, which is what the
    throughputs would compare as if the servers had the CPU to themselves."""
    rps = {key: {c: row.result.rps for c, row in _by(report.rows, key).items()}
           for key in ('head', 'ceiling', 'wsgi', 'nginx', 'login', 'refresh')}
    cost = {key: _cpu_per_request(report.rows, key) for key in rps}
    cores = os.cpu_count() or 1
    bound = cores / report.bcrypt_verify if report.bcrypt_verify else 0.0
    verify = {c: report.bcrypt_verify for c in cost['login']}
    by_cpu = '; by CPU per request: '
    return [
        _ratio_line('check/ceiling', rps['head'], rps['ceiling'],
                    by_cpu + _pairs(cost['ceiling'], cost['head'])),
        _ratio_line('check/granian bare WSGI 204 (Python-server limit)', rps['head'],
                    rps['wsgi'], by_cpu + _pairs(cost['wsgi'], cost['head'])),
        _ratio_line('check/nginx return 204 (machine HTTP limit)', rps['head'], rps['nginx'])
        if rps['nginx'] else 'check/nginx return 204 (machine HTTP limit): not measured, '
        'nginx not installed',
        _ratio_line('login/(cores ÷ one bcrypt verify)', rps['login'],
                    {c: bound for c in rps['login']},
                    f' ({cores} cores ÷ {report.bcrypt_verify * 1000:.1f} ms CPU'
                    f'{_where(report)} = '
                    f'{bound:.1f} logins/s){by_cpu}{_pairs(verify, cost["login"])}'),
        _ratio_line('refresh/check', rps['refresh'], rps['head'],
                    by_cpu + _pairs(cost['head'], cost['refresh'])),
    ] + churn.ratio_lines(report.churn)


def _over(rows: list[Row], key: str) -> dict[int, float]:
    """req/s of ``key`` ÷ req/s of the ceiling measured in the same part of the run."""
    ceiling = _by(rows, 'ceiling')
    return {c: row.result.rps / ceiling[c].result.rps for c, row in _by(rows, key).items()
            if c in ceiling and ceiling[c].result.rps > 0}


def _scale_lines(scale: ScaleSection, rows: list[Row]) -> list[str]:
    lines = [f'- preloaded {scale.count:,} live + {scale.count:,} expired tokens with COPY in '
             f'{scale.preload_seconds:.1f} s']
    for key, label in (('head', 'check'), ('unknown', 'unknown-token check')):
        big = {c: row.result.rps for c, row in _by(scale.rows, key).items()}
        base = {c: row.result.rps for c, row in _by(rows, key).items()}
        lines.append('- ' + _ratio_line(f'{label} with the big table ÷ base table', big, base)
                     + '; each over the ceiling measured alongside: '
                     + _pairs(_over(scale.rows, key), _over(rows, key)))
    purge = scale.purge
    if purge.error:
        lines.append(f'- purge FAILED after {purge.seconds:.2f} s: {purge.error}')
    else:
        lines.append(f'- purge: {purge.removed:,} expired sessions removed in '
                     f'{purge.seconds:.2f} s (ExpiredTokenCleaner, batches of 5000)')
    if scale.during_purge:
        c = scale.during_purge.concurrency
        quiet = _by(scale.rows, 'head').get(c)
        lines.append(f'- check p99 while the purge runs: {scale.during_purge.result.p99:.2f} ms '
                     f'at c={c}' + (f' (without purge: {quiet.result.p99:.2f} ms)'
                                    if quiet else ''))
    return lines


def _mixed_lines(mixed: MixedSection, rows: list[Row]) -> list[str]:
    c = mixed.checks.concurrency
    alone = _by(rows, 'head').get(c)
    logins_alone = _by(rows, 'login').get(c)
    return [f'- check p99 while {c} connections keep logging in: {mixed.checks.result.p99:.2f} '
            f'ms at c={c}' + (f' (alone: {alone.result.p99:.2f} ms)' if alone else ''),
            f'- logins meanwhile: {mixed.logins.rps:.1f}/s, {mixed.logins.errors} errors'
            + (f' (alone: {logins_alone.result.rps:.1f}/s)' if logins_alone else '')]


def _nodes_lines(nodes: NodesSection) -> list[str]:
    s = nodes.stats
    return [f'- {nodes.count} nodes on one database, validation_cache: {nodes.validation_cache}',
            f'- token revoked on node 0, still accepted elsewhere for: p50 {s.p50:.2f} ms, '
            f'max {s.max:.2f} ms over {nodes.revocations} revocations '
            f'({s.stale_answers} stale 204 answers, {s.timeouts} never refused)']


def _all_rows(report: RunReport) -> list:
    """The rows of the run's main table: the scenarios, the checks during logins, the scale."""
    rows = list(report.rows) + [section.checks for section in report.mixed]
    if report.scale:
        rows += report.scale.rows + ([report.scale.during_purge]
                                     if report.scale.during_purge else [])
    return rows


def render(report: RunReport) -> str:
    settings = ', '.join(f'{k} {v}' for k, v in report.settings.items())
    lines = [f'## Run of {report.started}', '',
             f'- command: `{report.command}`',
             f'- machine: {machine(report.load_average)}',
             f'- versions: {versions(report.postgres_version)}',
             f'- load generator: {report.generator}',
             f'- settings: {settings}', '']
    lines += table(_all_rows(report)) + ['']
    if report.scale:
        lines += ['Scale:', ''] + _scale_lines(report.scale, report.rows) + ['']
    if report.mixed:
        lines += ['Checks during logins:', '']
        for section in report.mixed:
            lines += _mixed_lines(section, report.rows)
        lines += ['']
    if report.nodes:
        lines += ['Nodes:', ''] + _nodes_lines(report.nodes) + ['']
    if report.churn and report.churn.runs:
        lines += churn.section_lines(report.churn) + ['']
    if report.memory:
        first, last, checks = report.memory
        lines += ['Memory:', '', f'- largest service process RSS: {first:.1f} MiB after the '
                  f'first scenario, {last:.1f} MiB after {checks:,} token checks', '']
    if report.events:
        lines += ['Events on the bus (issue 18; login and refresh bus on ÷ off: target ≥ 0.9, '
                  'checks unchanged):', ''] + events.lines(report.events) + ['']
    if report.verifier_offline:
        lines += ['Verifier (JWT mode, issue 16):', '', '- ' + report.verifier_offline.line(), '']
    lines += ['Targets (issue 14), as ratios within this run:', ''] + targets.lines(report)
    lines += ['', 'Ratios:', '', '```'] + ratios(report) + ['```', '']
    return '\n'.join(lines)


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else HEADER
    path.write_text(existing.rstrip('\n') + '\n\n' + text)
