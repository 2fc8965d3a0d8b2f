"""One benchmark run, in order: bcrypt reference, servers up, scenarios × concurrency,
then the optional scale and multi-node parts. Progress goes to stdout as it happens."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from wazo_like_auth import config as configuration

from . import (churn, cpu, events, load, mixed, nginx, nodes, scale, scenarios,
               verifier_offline)
from .report import MixedSection, NodesSection, RunReport, ScaleSection
from .scenarios import Scenario
from .services_runner import Cluster, Settings, libpq_uri
from . import jwt_tokens  # issue 16's rows

# Measured twice per concurrency, alternated (each scenario of the level, then these again):
# a check's throughput moves by 10-25 % between two wrk runs of the same code, with how the
# connections fall on the workers, and the ratios between these rows are targets.
REPEATED = ('head', 'head-jwt', 'wsgi')
LOGINS_PER_CORE = 40  # in the login row's window (see _login_duration)
PURGE_WINDOW_LIMIT = 600.0  # the check load stops after this even if the purge goes on
_STARTED = time.monotonic()


def say(message: str) -> None:
    """A progress line, stamped with the seconds since the run started."""
    print(f'[{time.monotonic() - _STARTED:6.1f} s] {message}', flush=True)


@dataclass(frozen=True)
class Options:
    command: str
    duration: float = 10.0
    warmup: float = 2.0
    concurrency: tuple[int, ...] = (8, 64)
    scale: int = 200_000
    nodes: int = 2
    revocations: int = 100
    db_uri: str | None = None
    rounds: int = 12
    workers: int | None = None
    threads: int | None = None
    generator: str = 'auto'
    validation_cache: bool = True
    output: Path | None = None


def bcrypt_verify_seconds(rounds: int, samples: int = 3, processes: int = 1) -> float:
    """The median CPU time of one bcrypt verification at ``rounds``, each of ``processes``
    processes (forked from this one) verifying ``samples`` times at once.

    CPU time, not wall time: on a busy machine the wall time also counts waiting for a core.
    With ``processes`` = cores, every core verifies at once, as they do in the login rows.
    """
    import bcrypt
    hashed = bcrypt.hashpw(b'bench-password', bcrypt.gensalt(rounds))
    context = multiprocessing.get_context('fork')
    with context.Pool(processes) as pool:
        times = pool.map(_verify_times, [(hashed, samples)] * processes)
    return statistics.median(t for per_process in times for t in per_process)


def _verify_times(args: tuple[bytes, int]) -> list[float]:
    import bcrypt
    hashed, samples = args
    times = []
    for _ in range(samples):
        started = time.thread_time()
        bcrypt.checkpw(b'bench-password', hashed)
        times.append(time.thread_time() - started)
    return times


def postgres_version(db_uri: str) -> str:
    import psycopg2
    conn = psycopg2.connect(libpq_uri(db_uri), connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute('SHOW server_version')
            return cur.fetchone()[0]
    finally:
        conn.close()


def _progress(row: scenarios.Row) -> None:
    r = row.result
    say(f'{row.scenario.name:<28} c={row.concurrency:<3} {r.rps:>9,.1f} req/s  '
        f'p50 {r.p50:7.2f}  p99 {r.p99:7.2f} ms  errors {r.errors}')


def _settings(options: Options) -> dict:
    workers = options.workers or configuration.default_workers()
    threads = options.threads or configuration.DEFAULTS['rest_api']['threads']
    return {'duration': f'{options.duration:g} s', 'warm-up': f'{options.warmup:g} s',
            'concurrency': ','.join(map(str, options.concurrency)),
            'granian': f'{workers} workers × {threads} blocking threads (WSGI)',
            'bcrypt cost': options.rounds,
            'database': 'given by --db-uri' if options.db_uri else 'embedded PostgreSQL',
            'scale': options.scale, 'nodes': options.nodes}


def _scale(options: Options, generator, cluster: Cluster, fixtures) -> ScaleSection:
    say(f'preloading {options.scale:,} live + {options.scale:,} expired tokens')
    seconds = scale.preload(cluster.db_uri, options.scale)
    section = ScaleSection(options.scale, seconds, scale.PurgeOutcome())
    request = scenarios.head_check(fixtures.token)
    extra = f', +{2 * options.scale:,} tokens'
    # The ceiling again, alongside: the machine's drift since the base rows cancels out.
    big = [Scenario('head', 'check HEAD' + extra, 'service', request),
           Scenario('ceiling', 'ceiling (bare 204), scale phase', 'ceiling', request),
           Scenario('unknown', 'check unknown (404)' + extra, 'service',
                    scenarios.unknown_check())]
    for concurrency in options.concurrency:
        for scenario in big:
            section.rows.append(scenarios.measure(generator, cluster, scenario, concurrency,
                                                  duration=options.duration,
                                                  warmup=options.warmup))
            _progress(section.rows[-1])
    purge = scale.PurgeDuringLoad(str(cluster.config_path(0)), cluster.db_uri,
                                  min_window=min(1.0, options.duration))
    during = Scenario('purge', 'check HEAD during purge', 'service', request)
    section.during_purge = scenarios.measure(
        generator, cluster, during, options.concurrency[0], duration=PURGE_WINDOW_LIMIT,
        warmup=0.0, extra=purge, stop=purge.stop_event)
    section.purge = purge.join()
    _progress(section.during_purge)
    if options.db_uri:
        scale.remove_filler(cluster.db_uri)
    return section


def _mixed(options: Options, generator, cluster: Cluster, fixtures,
           concurrency: int) -> MixedSection:
    """Checks at ``concurrency`` while as many connections keep logging in."""
    say(f'checks while {concurrency} connections keep logging in')
    scenario = Scenario('mixed', 'check HEAD while logins run', 'service',
                        scenarios.head_check(fixtures.token))
    cluster.settle()
    with mixed.BackgroundLoad(generator, cluster.nodes[0].port,
                              scenarios.login_request(fixtures), concurrency) as logins:
        row = scenarios.measure(generator, cluster, scenario, concurrency,
                                duration=options.duration, warmup=0.0, from_idle=False)
    if logins.error is not None:
        raise logins.error
    _progress(row)
    return MixedSection(row, logins.result)


def _churn(options: Options, cluster: Cluster, fixtures) -> churn.ChurnSection:
    say(f'churn mix: {churn.CLIENTS} clients, checks alone, with churn, churn alone, in turn')
    section = churn.measure(
        cluster.nodes[0].port, fixtures, duration=options.duration,
        rounds=1 if options.duration < 5 else 2, settle=cluster.settle,
        probe_factory=lambda: cpu.CpuProbe({'service': cluster.service_pids,
                                            'postgres': cluster.postgres_pids}))
    for run in section.runs:
        say(f'{run.label:<28} checks {run.check_rps:9,.1f}/s  hit ratio {run.hit_ratio:.3f}  '
            f'errors {run.errors}  server CPU {run.server_cpu / run.seconds:.2f} cores')
    return section


def _nodes(options: Options, cluster: Cluster, fixtures) -> NodesSection:
    say(f'revoking {options.revocations} tokens on node 0')
    stats = nodes.revocation_lag(cluster.nodes[0].port, [n.port for n in cluster.nodes[1:]],
                                 fixtures, options.revocations)
    known = 'validation_cache' in configuration.DEFAULTS
    label = str(options.validation_cache).lower() if known else 'not in this version'
    return NodesSection(options.nodes, options.revocations, stats, label)


def run(options: Options) -> RunReport:
    generator = load.choose(options.generator)
    name = generator.name
    if name == 'wrk':
        from .loadgen_wrk import wrk_version
        name = wrk_version()
    print(f'load generator: {generator.name}', flush=True)
    load_average = os.getloadavg()[0]
    verify = bcrypt_verify_seconds(options.rounds)
    say(f'one bcrypt verify at cost {options.rounds}: {verify * 1000:.1f} ms of CPU')
    settings = Settings(rounds=options.rounds, db_uri=options.db_uri, workers=options.workers,
                        threads=options.threads, validation_cache=options.validation_cache)
    started = dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    with Cluster(settings, nodes=options.nodes) as cluster:
        say(f'{options.nodes} node(s) and the ceiling are up')
        if cluster.nginx is None:
            say(nginx.MISSING)
        fixtures = scenarios.prepare(cluster.nodes[0].port, settings.username, settings.password)
        report = RunReport(command=options.command, started=started, generator=name,
                           settings=_settings(options),
                           postgres_version=postgres_version(cluster.db_uri),
                           bcrypt_verify=verify, load_average=load_average)
        first_rss = _scenarios(options, generator, cluster, fixtures, report)
        report.mixed = [_mixed(options, generator, cluster, fixtures, c)
                        for c in options.concurrency]
        report.churn = _churn(options, cluster, fixtures)
        if options.scale:
            report.scale = _scale(options, generator, cluster, fixtures)
        report.memory = (first_rss, _largest_rss(cluster), _checks_answered(report))
        if options.nodes > 1:
            report.nodes = _nodes(options, cluster, fixtures)
    report.events = events.measure(options, generator, say)
    report.verifier_offline = _verifier_offline(options)
    return report


def _verifier_offline(options: Options) -> verifier_offline.VerifierResult:
    say('verifier JWT mode: offline verifications in one thread (servers stopped)')
    result = verifier_offline.measure(options.duration)
    say(result.line())
    return result


def _scenarios(options: Options, generator, cluster: Cluster, fixtures,
               report: RunReport) -> float:
    """Every scenario at every concurrency into ``report.rows``; the largest service RSS
    after the first one."""
    first_rss = None
    jwt_fixtures = jwt_tokens.prepare(cluster.nodes[0].port, fixtures)  # issue 16's rows
    for concurrency in options.concurrency:
        built = jwt_tokens.build(
            scenarios.build(fixtures, options.rounds, cluster.nginx is not None), jwt_fixtures)
        for scenario in built + [s for s in built if s.key in REPEATED]:
            login = scenario.key == 'login'
            beside = _verify_reference(options, cluster) if login else []
            duration = _login_duration(options, report) if login else options.duration
            report.rows.append(scenarios.measure(
                generator, cluster, scenario, concurrency, duration=duration,
                warmup=options.warmup))
            _progress(report.rows[-1])
            if beside:
                report.verify_beside += beside + _verify_reference(options, cluster)
            first_rss = first_rss or _largest_rss(cluster)
    if report.verify_beside:
        report.bcrypt_verify = statistics.median(report.verify_beside)
        say(f'one bcrypt verify on every core, beside the login rows: '
            f'{report.bcrypt_verify * 1000:.1f} ms of CPU')
    return first_rss


def _login_duration(options: Options, report: RunReport) -> float:
    """The login row's window: long enough for LOGINS_PER_CORE logins on each core. A login
    takes a quarter of a second of a core at cost 12, so a 5 s window counts about 20 per
    core, and the login each core has half done when the window closes (not counted, its CPU
    counted) is a 2-5 % error on both the throughput and the CPU per login."""
    return max(options.duration, LOGINS_PER_CORE * report.bcrypt_verify)


def _verify_reference(options: Options, cluster: Cluster) -> list[float]:
    """One bcrypt verify's CPU with every core verifying, measured on idle servers. Taken
    right before and after each login row: this machine's speed drifts by several per cent
    over minutes (a virtual machine's host), and the login row's bound must be the speed of
    its own minutes, not that of the run's start."""
    cluster.settle()
    cores = os.cpu_count() or 1
    return [bcrypt_verify_seconds(options.rounds, samples=2, processes=cores)]


def _largest_rss(cluster: Cluster) -> float:
    return max(cpu.rss_megabytes(cluster.service_pids()).values(), default=0.0)


def _checks_answered(report: RunReport) -> int:
    """Token checks answered by the service so far, in every part of the run."""
    rows = report.rows + [section.checks for section in report.mixed]
    if report.scale:
        rows += report.scale.rows + [r for r in [report.scale.during_purge] if r]
    checks = {'head', 'head-jwt', 'get', 'unknown', 'scopes', 'mixed', 'purge'}
    return sum(row.result.requests for row in rows if row.scenario.key in checks)


def quick(options: Options, given: set[str]) -> Options:
    """--quick: tiny numbers for a smoke run, except what was given explicitly."""
    small = {'duration': 1.0, 'warmup': 0.2, 'concurrency': (2,), 'scale': 1000, 'rounds': 4,
             'revocations': 10}
    return replace(options, **{k: v for k, v in small.items() if k not in given})
