"""The churn mix (issue 14): token checks while tokens are refreshed and revoked and the
administration API is written to, as in production where logouts never stop.

``CLIENTS`` client processes, each on one keep-alive connection with its own pool of live tokens
(from refresh exchanges, checked once so they are cached). ``CHECKERS`` of them only check
tokens of their pool, as fast as they can: the checks measured. With churn, the others run
``MIX`` at ``CHURN_RATE`` requests a second each: refresh exchanges (the new token checked once,
as a backend would), deletes of one of their tokens (cached), admin writes (a policy created,
then deleted), admin reads; one of them logs in once a second instead (a few logins). Paced,
because checks answered from the cache are two orders of magnitude cheaper than the rest: at
70 % of the requests, the churn would be thousands of writes a second. Without churn, the
checkers run alone. The two runs alternate, same clients, same pools.

Every measured check is of a token its client knows to be live: the hit ratio is the validation
cache hits counted by the service (``/metrics``, summed over its workers) over those checks and
the admin requests' checks of the admin token.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from .load import HOST
from .scenarios import CLIENT_ID, EMPTY_BASIC, JSON, SCOPE, Fixtures

CLIENTS = 12
CHECKERS = 8
POOL = 20  # live tokens per client at the start
MIX = (('refresh', 10), ('delete', 5), ('write', 5), ('read', 10))
CHURN_RATE = 25.0  # requests a second per churning client
LOGIN_INTERVAL = 1.0
METRICS = '/metrics'
SYNC_CHECKS = 40  # checks on fresh connections that make every worker publish its counters
_HITS = re.compile(r'^wazo_auth_validation_cache_hits_total\s+([0-9.e+]+)$', re.M)


@dataclass
class ChurnRun:
    label: str
    seconds: float
    counts: Counter
    hits: float  # cache hits counted by the service over the window
    known_checks: int  # checks of live tokens, the window's and the counter syncs'

    @property
    def errors(self) -> int:
        return self.counts['errors']

    @property
    def check_rps(self) -> float:
        return self.counts['check'] / self.seconds if self.seconds else 0.0

    @property
    def hit_ratio(self) -> float:
        return min(1.0, self.hits / self.known_checks) if self.known_checks else 0.0


@dataclass
class ChurnSection:
    runs: list[ChurnRun] = field(default_factory=list)

    def of(self, churn: bool) -> list[ChurnRun]:
        return [r for r in self.runs if r.label.startswith('with') == churn]

    @property
    def throughput_ratio(self) -> float:
        alone = sum(r.counts['check'] for r in self.of(False)) / sum(
            r.seconds for r in self.of(False))
        mixed = sum(r.counts['check'] for r in self.of(True)) / sum(
            r.seconds for r in self.of(True))
        return mixed / alone if alone else 0.0

    @property
    def hit_ratio(self) -> float:
        runs = self.of(True)
        return sum(r.hits for r in runs) / max(1, sum(r.known_checks for r in runs))


class _Client:
    def __init__(self, index: int, port: int, fixtures: Fixtures):
        self.index = index
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.fixtures = fixtures
        self.admin = {'X-Auth-Token': fixtures.token}
        self.rng = random.Random(index)
        self.pool = [self.refresh() for _ in range(POOL)]
        self.policy: str | None = None
        self.written = 0
        self.run = secrets.token_hex(4)  # policy names stay unique across runs

    def send(self, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=payload, headers={**JSON, **(headers or {})})
        response = self.conn.getresponse()
        return response.status, response.read()

    def refresh(self) -> str:
        body = {'refresh_token': self.fixtures.refresh_token, 'client_id': CLIENT_ID}
        status, raw = self.send('POST', '/0.1/token', body, {'Authorization': EMPTY_BASIC})
        if status != 200:
            raise RuntimeError(f'refresh exchange answered {status}')
        return json.loads(raw)['data']['token']

    def check(self) -> bool:
        token = self.rng.choice(self.pool)
        return self.send('HEAD', f'/0.1/token/{token}?scope={SCOPE}')[0] == 204

    def delete(self) -> bool:
        token = self.pool.pop(self.rng.randrange(len(self.pool)))
        return self.send('DELETE', f'/0.1/token/{token}')[0] == 200

    def write(self) -> bool:
        if self.policy is None:
            self.written += 1
            status, raw = self.send('POST', '/0.1/policies', {
                'name': f'churn-{self.run}-{self.index}-{self.written}',
                'acl': ['churn.read']},
                self.admin)
            self.policy = json.loads(raw)['uuid'] if status == 200 else None
            return status == 200
        status, _ = self.send('DELETE', f'/0.1/policies/{self.policy}', headers=self.admin)
        self.policy = None
        return status == 204

    def login(self) -> bool:
        status, _ = self.send('POST', '/0.1/token', {'expiration': 600},
                              {'Authorization': self.fixtures.basic})
        return status == 200

    def step(self, op: str, counts: Counter) -> None:
        if op == 'delete' and len(self.pool) <= POOL // 2:
            op = 'check'  # the pool keeps at least half its tokens
        if op == 'refresh':
            self.pool.append(self.refresh())
            ok = self.send('HEAD', f'/0.1/token/{self.pool[-1]}?scope={SCOPE}')[0] == 204
        elif op == 'read':
            ok = self.send('GET', '/0.1/users?limit=10', headers=self.admin)[0] == 200
        else:
            ok = getattr(self, op)()
        counts[op] += 1
        if not ok:
            counts['errors'] += 1
            counts[f'{op} errors'] += 1


def _draw(rng: random.Random) -> str:
    return rng.choices([op for op, _ in MIX], weights=[w for _, w in MIX])[0]


def _client(index, port, fixtures, churn, duration, ready, go, results) -> None:
    counts: Counter = Counter()
    try:
        client = _Client(index, port, fixtures)
        for token in client.pool:  # cached before the window
            client.send('HEAD', f'/0.1/token/{token}?scope={SCOPE}')
        ready.put(index)
        go.wait(60)
        if index >= CHECKERS and not churn:
            results.put({})
            return
        end = time.monotonic() + duration
        pace = LOGIN_INTERVAL if index == CHECKERS else 1 / CHURN_RATE
        while (now := time.monotonic()) < end:
            if index < CHECKERS:
                client.step('check', counts)
                continue
            if index == CHECKERS:
                counts['login'] += 1
                if not client.login():
                    counts['errors'] += 1
                    counts['login errors'] += 1
            else:
                client.step(_draw(client.rng), counts)
            time.sleep(max(0.0, pace - (time.monotonic() - now)))
    except Exception as e:  # reported, never lost in the child
        counts['errors'] += 1
        counts[f'failed: {type(e).__name__}: {e}'] += 1
    results.put(dict(counts))


def _get(port: int, method: str, path: str) -> bytes:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path)
        return conn.getresponse().read()
    finally:
        conn.close()


def _scrape_hits(port: int, token: str) -> tuple[float, int]:
    """(cache hits summed over the workers, checks sent to make them publish it)."""
    time.sleep(1.1)  # a worker publishes its counters at most once a second
    for _ in range(SYNC_CHECKS):  # new connections: they reach every worker
        _get(port, 'HEAD', f'/0.1/token/{token}?scope={SCOPE}')
    found = _HITS.search(_get(port, 'GET', METRICS).decode())
    if found is None:
        raise RuntimeError('no validation cache hits in the metrics (metrics disabled?)')
    return float(found[1]), SYNC_CHECKS


def _one(port: int, fixtures: Fixtures, churn: bool, duration: float) -> ChurnRun:
    ctx = multiprocessing.get_context('fork')
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_client, args=(i, port, fixtures, churn, duration, ready, go,
                                               results), daemon=True) for i in range(CLIENTS)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    before, synced_before = _scrape_hits(port, fixtures.token)
    started = time.monotonic()
    go.set()
    counts: Counter = Counter()
    for _ in procs:
        counts.update(results.get(timeout=duration + 120))
    seconds = time.monotonic() - started
    for proc in procs:
        proc.join(30)
    after, synced_after = _scrape_hits(port, fixtures.token)
    label = 'with churn' if churn else 'checks alone'
    # Admin requests check the admin's (cached) token too; a new token's first check cannot
    # be a hit and is left out.
    known = counts['check'] + counts['read'] + counts['write'] + synced_before + synced_after
    return ChurnRun(label, seconds, counts, after - before, known)


def measure(port: int, fixtures: Fixtures, *, duration: float, rounds: int,
            settle) -> ChurnSection:
    """``rounds`` pairs of runs, checks alone then with churn, from idle servers."""
    section = ChurnSection()
    for _ in range(rounds):
        for churn in (False, True):
            settle()
            section.runs.append(_one(port, fixtures, churn, duration))
    return section
