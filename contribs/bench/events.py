"""Events on the bus (issue 18): what publishing the outbox to RabbitMQ costs the requests.

Two single-node services side by side, identical but for ``amqp.enabled``: "off" records its
events as not for the bus (as `make run` does), "on" has its publisher sending them to a local
RabbitMQ (Debian's rabbitmq-server, run by tests/support/rabbitmq.py) where a durable queue
bound to the exchange keeps them, as a consumer's would. Login, refresh and token checks are
measured on each, alternately, at each concurrency; then the publisher's own rate: a backlog of
events written at once, timed until the broker confirmed the last one.
Skipped, saying why, when rabbitmq-server is not installed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import psycopg2

from . import scenarios
from .scenarios import Row, Scenario
from .services_runner import Cluster, Settings, libpq_uri

EXCHANGE = 'xivo'
QUEUE = 'wazo-like-auth-bench'
DRAIN_LIMIT = 300.0  # seconds the backlog may take before the figure is given up


@dataclass
class EventsSection:
    skipped: str | None = None
    rows: list[Row] = field(default_factory=list)  # keys '<scenario>-off' / '<scenario>-on'
    backlog: int = 0
    publish_seconds: float | None = None  # None: not drained within DRAIN_LIMIT

    def rate(self) -> float | None:
        return self.backlog / self.publish_seconds if self.publish_seconds else None


def measure(options, generator, say) -> EventsSection:
    from tests.support.rabbitmq import RabbitMQ, unavailable_reason
    reason = unavailable_reason()
    if reason:
        say(f'events on the bus: skipped, {reason}')
        return EventsSection(skipped=reason)
    broker = RabbitMQ()
    try:
        _bind_queue(broker.uri)
        base = Settings(rounds=options.rounds, workers=options.workers, threads=options.threads)
        amqp = {'amqp': {'enabled': True, 'uri': broker.uri, 'exchange_name': EXCHANGE}}
        with Cluster(base, nodes=1) as off, \
                Cluster(replace(base, extra=amqp), nodes=1) as on:
            say('events on the bus: two services up, outbox published to RabbitMQ or not')
            section = EventsSection()
            _scenarios(options, generator, say, {'off': off, 'on': on}, section)
            section.backlog = 2000 if options.duration < 5 else 20000
            section.publish_seconds = _publish_rate(on.db_uri, section.backlog)
            say(f'publisher: {section.backlog:,} events in '
                f'{section.publish_seconds or float("nan"):.2f} s')
            return section
    finally:
        broker.close()


def _bind_queue(uri: str) -> None:
    import kombu
    exchange = kombu.Exchange(EXCHANGE, 'topic', durable=True)
    with kombu.Connection(uri) as connection:
        kombu.Queue(QUEUE, exchange, routing_key='#', durable=True)(connection.channel()).declare()


def _scenarios(options, generator, say, clusters: dict[str, Cluster],
               section: EventsSection) -> None:
    fixtures = {variant: scenarios.prepare(cluster.nodes[0].port, cluster.settings.username,
                                           cluster.settings.password)
                for variant, cluster in clusters.items()}
    for concurrency in options.concurrency:
        for key, name, request in _requests(options.rounds):
            for variant, cluster in clusters.items():
                scenario = Scenario(f'{key}-{variant}', f'{name}, bus {variant}', 'service',
                                    request(fixtures[variant]))
                row = scenarios.measure(generator, cluster, scenario, concurrency,
                                        duration=options.duration, warmup=options.warmup)
                section.rows.append(row)
                say(f'{scenario.name:<28} c={concurrency:<3} {row.result.rps:>9,.1f} req/s  '
                    f'errors {row.result.errors}')


def _requests(rounds: int):
    return [('login', f'login (bcrypt {rounds})', scenarios.login_request),
            ('refresh', 'refresh exchange', scenarios.refresh_request),
            ('head', 'check HEAD', lambda f: scenarios.head_check(f.token))]


def _publish_rate(db_uri: str, count: int) -> float | None:
    """Seconds from a backlog of ``count`` events committed to the last one confirmed."""
    conn = psycopg2.connect(libpq_uri(db_uri), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            _wait_drained(cur, time.monotonic() + DRAIN_LIMIT)
            cur.execute("SELECT wazo_like_auth_record_event('bench_event', "
                        "'bench.events.' || i, NULL, NULL, NULL, jsonb_build_object('i', i)) "
                        'FROM generate_series(1, %s) i', (count,))
            started = time.monotonic()
            if not _wait_drained(cur, started + DRAIN_LIMIT):
                return None
            return time.monotonic() - started
    finally:
        conn.close()


def _wait_drained(cur, deadline: float) -> bool:
    while time.monotonic() < deadline:
        cur.execute('SELECT count(*) FROM auth_event WHERE publish AND published_at IS NULL')
        if cur.fetchone()[0] == 0:
            return True
        time.sleep(0.01)
    return False


def _by(section: EventsSection, key: str) -> dict[int, Row]:
    return {row.concurrency: row for row in section.rows if row.scenario.key == key}


def _cost(row: Row) -> float | None:
    spent = [v for v in (row.service_cpu, row.postgres_cpu) if v is not None]
    return sum(spent) / row.result.requests if spent and row.result.requests else None


def ratio_lines(section: EventsSection) -> list[str]:
    """On ÷ off for each scenario; after ';' the same from CPU per request (off ÷ on)."""
    lines = []
    for key, label in (('login', 'login'), ('refresh', 'refresh'), ('head', 'check')):
        on, off = _by(section, f'{key}-on'), _by(section, f'{key}-off')
        parts, by_cpu = [], []
        for c in sorted(on):
            if c in off and off[c].result.rps > 0:
                parts.append(f'{on[c].result.rps / off[c].result.rps:.3f} at c={c}')
                if _cost(on[c]) and _cost(off[c]):
                    by_cpu.append(f'{_cost(off[c]) / _cost(on[c]):.3f} at c={c}')
        lines.append(f'events: {label} bus on/off: {", ".join(parts) or "n/a"}'
                     f'; by CPU per request: {", ".join(by_cpu) or "n/a"}')
    rate = section.rate()
    lines.append(f'events: publisher to a local RabbitMQ: '
                 + (f'{rate:,.0f} events/s' if rate else 'not drained in time'))
    return lines


def lines(section: EventsSection) -> list[str]:
    if section.skipped:
        return [f'- skipped: {section.skipped}']
    from .report import table
    return table(section.rows) + ['', '```'] + ratio_lines(section) + ['```']
