"""The scenarios: what is sent, to which server, and how one is measured into a table row.

The checks use a token of the bootstrapped user (ACL ``#``) and a realistic Wazo scope; the
refresh exchange uses a refresh token from one offline login. Unknown tokens are checked with
GET, not HEAD: wrk cannot read a HEAD response that announces a body (404 + Content-Length).
"""
from __future__ import annotations

import base64
import http.client
import json
import secrets
import threading
from dataclasses import dataclass

from .cpu import CpuProbe
from .load import HOST, Generator, Probe, Request, Result

SCOPE = 'confd.users.me.read'
SCOPES = ['confd.users.me.read', 'calld.calls.read', 'auth.users.me.tokens.read',
          'dird.directories.lookup.default.read', 'webhookd.subscriptions.create']
CLIENT_ID = 'wazo-like-auth-bench'
JSON = {'Content-Type': 'application/json'}
EMPTY_BASIC = 'Basic Og=='  # what wazo clients send with a refresh token


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    target: str  # 'service', 'ceiling' or 'nginx'
    request: Request


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    concurrency: int
    result: Result
    service_cpu: float | None  # CPU seconds of the server under test during the window
    postgres_cpu: float | None


def by_concurrency(rows: list[Row], key: str) -> dict[int, Row]:
    """The rows of scenario ``key``, one per concurrency: a scenario measured several times
    in the run (runner.REPEATED) as one row (``merged``)."""
    groups: dict[int, list[Row]] = {}
    for row in rows:
        if row.scenario.key == key:
            groups.setdefault(row.concurrency, []).append(row)
    return {c: merged(group) for c, group in groups.items()}


def merged(rows: list[Row]) -> Row:
    """Samples of one scenario at one concurrency as one row: requests, seconds, errors and
    CPU added up; each latency the worst sample's (the union's percentile lies between the
    samples' own, so this never flatters)."""
    if len(rows) == 1:
        return rows[0]
    results = [row.result for row in rows]
    result = Result(requests=sum(r.requests for r in results),
                    seconds=sum(r.seconds for r in results),
                    errors=sum(r.errors for r in results), p50=max(r.p50 for r in results),
                    p90=max(r.p90 for r in results), p99=max(r.p99 for r in results))
    return Row(rows[0].scenario, rows[0].concurrency, result,
               _total([row.service_cpu for row in rows]),
               _total([row.postgres_cpu for row in rows]))


def _total(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values)


@dataclass(frozen=True)
class Fixtures:
    token: str
    refresh_token: str
    basic: str  # Authorization header value of the bootstrapped user


def basic(username: str, password: str) -> str:
    return 'Basic ' + base64.b64encode(f'{username}:{password}'.encode()).decode()


def call(port: int, method: str, path: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict | None]:
    """One request on a fresh connection; (status, JSON body or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={**JSON, **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, None


def obtain_token(port: int, authorization: str, body: dict) -> dict:
    status, answer = call(port, 'POST', '/0.1/token', body, {'Authorization': authorization})
    if status != 200:
        raise RuntimeError(f'POST /0.1/token answered {status}: {answer}')
    return answer['data']


def prepare(port: int, username: str, password: str) -> Fixtures:
    credentials = basic(username, password)
    token = obtain_token(port, credentials, {'expiration': 86400})['token']
    offline = obtain_token(port, credentials, {'access_type': 'offline', 'client_id': CLIENT_ID})
    return Fixtures(token=token, refresh_token=offline['refresh_token'], basic=credentials)


def refresh_request(fixtures: Fixtures) -> Request:
    body = {'refresh_token': fixtures.refresh_token, 'client_id': CLIENT_ID}
    return Request('POST', '/0.1/token', json.dumps(body).encode(),
                   {**JSON, 'Authorization': EMPTY_BASIC}, 200)


def head_check(token: str, prefix: str = '/0.1') -> Request:
    return Request('HEAD', f'{prefix}/token/{token}?scope={SCOPE}', expect=204)


def login_request(fixtures: Fixtures) -> Request:
    return Request('POST', '/0.1/token', b'{"expiration": 600}',
                   {**JSON, 'Authorization': fixtures.basic}, 200)


def unknown_check() -> Request:
    """GET of a random token nobody has: a database lookup each time."""
    unknown = secrets.token_hex(16)
    unknown = f'{unknown[:8]}-{unknown[8:12]}-{unknown[12:16]}-{unknown[16:20]}-{unknown[20:]}'
    return Request('GET', f'/0.1/token/{unknown}?scope={SCOPE}', expect=404)


WSGI_NAME = 'granian bare WSGI 204 (Python-server limit)'
NGINX_NAME = 'nginx return 204 (machine HTTP limit)'


def build(fixtures: Fixtures, rounds: int, nginx: bool = False) -> list[Scenario]:
    """Every scenario of one concurrency level, in the order they run: the ceilings right
    after the check they bound, so they see the same machine state."""
    token = fixtures.token
    scopes = json.dumps({'scopes': SCOPES}).encode()
    limits = [Scenario('nginx', NGINX_NAME, 'nginx', head_check(token))] if nginx else []
    return [
        Scenario('head', 'check HEAD', 'service', head_check(token)),
        Scenario('ceiling', 'ceiling (bare 204)', 'ceiling', head_check(token)),
        Scenario('wsgi', WSGI_NAME, 'ceiling', head_check(token, prefix='/wsgi/0.1')),
        *limits,
        Scenario('get', 'check GET', 'service',
                 Request('GET', f'/0.1/token/{token}?scope={SCOPE}', expect=200)),
        Scenario('unknown', 'check unknown (404)', 'service', unknown_check()),
        Scenario('scopes', 'scopes check (5)', 'service',
                 Request('POST', f'/0.1/token/{token}/scopes/check', scopes, JSON, 200)),
        Scenario('login', f'login (bcrypt {rounds})', 'service', login_request(fixtures)),
        Scenario('refresh', 'refresh exchange', 'service', refresh_request(fixtures)),
    ]


class _Chain:
    """Several probes as one: started in order, stopped in reverse."""

    def __init__(self, *probes: Probe):
        self._probes = probes

    def start(self) -> None:
        for probe in self._probes:
            probe.start()

    def stop(self) -> None:
        for probe in reversed(self._probes):
            probe.stop()


def measure(generator: Generator, cluster, scenario: Scenario, concurrency: int, *,
            duration: float, warmup: float, extra: Probe | None = None,
            stop: threading.Event | None = None, from_idle: bool = True) -> Row:
    """Run one scenario at one concurrency, from idle servers unless ``from_idle`` is false
    (another load is running); CPU of its server and of PostgreSQL alongside."""
    if scenario.target == 'ceiling':
        port, servers = cluster.ceiling.port, cluster.ceiling_pids
    elif scenario.target == 'nginx':
        port, servers = cluster.nginx.port, cluster.nginx_pids
    else:
        port, servers = cluster.nodes[0].port, cluster.service_pids
    probe = CpuProbe({'service': servers, 'postgres': cluster.postgres_pids})
    chained = _Chain(probe, extra) if extra else probe
    if from_idle:
        cluster.settle()
    result = generator.run(port, scenario.request, connections=concurrency, duration=duration,
                           warmup=warmup, probe=chained, stop=stop, settle=cluster.settle)
    return Row(scenario, concurrency, result, probe.used.get('service'),
               probe.used.get('postgres'))
