"""Prometheus metrics, derived from requests and responses at one point (``record``).

Under granian the workers share values through prometheus-client's multi-process mode: the
server sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker imports prometheus_client, which is
why the import happens in ``Metrics.__init__`` (called by create_app in the worker).
"""
from __future__ import annotations

import os
import threading
from bisect import bisect_left
from typing import Any

# (method, route suffix) → what the request was, for the outcome counters.
_TOKEN_CHECK = {('HEAD', '/token/<token>'), ('GET', '/token/<token>')}
_SCOPES_CHECK = ('POST', '/token/<token>/scopes/check')
_REVOCATIONS = {('DELETE', '/token/<token>'), ('DELETE', '/sessions/<uuid:session_uuid>'),
                ('DELETE', '/users/<uuid:user_uuid>/sessions/<uuid:session_uuid>'),
                ('DELETE', '/users/<uuid:user_uuid>/tokens/<path:client_id>'),
                ('DELETE', '/users/me/tokens/<path:client_id>')}
_LOGIN_OUTCOMES = {200: 'ok', 401: 'failed', 429: 'throttled'}
# The methods a latency series is kept for; any other is labelled ``other``. A client may send
# any method name (PROPFIND, SCAN1, SCAN2...): one series each would grow the memory, the
# multi-process files and every scrape without bound.
_METHODS = frozenset(('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'))
LATENCY_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5)


class Metrics:
    def __init__(self):
        import prometheus_client as prom
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.logins = prom.Counter('wazo_auth_logins', 'Logins by outcome', ['outcome', 'kind'],
                                   registry=r)
        self.checks = prom.Counter('wazo_auth_token_checks', 'Token checks by answer',
                                   ['result'], registry=r)
        self.revocations = prom.Counter('wazo_auth_revocations', 'Revocation requests',
                                        ['route'], registry=r)
        self.latency = prom.Histogram(
            'wazo_auth_request_duration_seconds', 'Request latency per route',
            ['method', 'route'], registry=r, buckets=LATENCY_BUCKETS)
        self.pool = prom.Gauge('wazo_auth_db_pool_checked_out', 'Database connections in use',
                               registry=r, multiprocess_mode='livesum')
        self.cache_hits = prom.Counter('wazo_auth_validation_cache_hits',
                                       'Token checks answered from the cache', registry=r)
        self.cache_invalidations = prom.Counter('wazo_auth_validation_cache_invalidations',
                                                'Cache invalidations received', registry=r)
        self.purged = prom.Counter('wazo_auth_expired_sessions_purged',
                                   'Expired sessions removed by the purge', registry=r)
        self._seen = {'hits': 0, 'invalidations': 0}
        self._sync_lock = threading.Lock()
        # Labelled children resolved once: labels() costs more than the observation itself.
        self._latency_children: dict[tuple[str, str], Any] = {}
        self._check_children: dict[int, Any] = {}
        self._tally = CheckTally(LATENCY_BUCKETS)
        self._stop_sync = threading.Event()

    def record(self, method: str, route: str, status: int, seconds: float,
               body: dict[str, Any] | None) -> None:
        """Count one answered request; ``route`` is the URL rule without its prefix."""
        if method not in _METHODS:
            method = 'other'
        self._latency_child(method, route).observe(seconds)
        if (method, route) in _TOKEN_CHECK or (method, route) == _SCOPES_CHECK:
            self._check_counter(status).inc()
        elif (method, route) == ('POST', '/token'):
            kind = 'refresh' if body and body.get('refresh_token') else 'password'
            self.logins.labels(_LOGIN_OUTCOMES.get(status, 'error'), kind).inc()
        elif (method, route) in _REVOCATIONS and status < 400:
            self.revocations.labels(route).inc()

    def _latency_child(self, method: str, route: str) -> Any:
        child = self._latency_children.get((method, route))
        if child is None:
            child = self._latency_children[(method, route)] = self.latency.labels(method, route)
        return child

    def _check_counter(self, status: int) -> Any:
        counter = self._check_children.get(status)
        if counter is None:
            counter = self._check_children[status] = self.checks.labels(str(status))
        return counter

    def tally_check(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one token check answered before Flask: kept in this process until the next
        ``sync``, which adds it to the shared values. A multi-process value costs a lock, a
        pid check and a write to its mapped file per increment: three of them were a third of
        the CPU of a cached check."""
        self._tally.add((method, route, status), seconds)

    def sync(self, cache: Any, pool: Any) -> None:
        """Carry this process's tallied checks, cache counters and pool use into the
        metrics (every process calls it periodically, since the scrape reaches only one of
        them)."""
        self.flush_checks()
        # The metrics-sync thread and request threads (http/metrics.py) both call this: one
        # at a time, or two could add the same hits, or store an older count seen.
        with self._sync_lock:
            for name, counter in (('hits', self.cache_hits),
                                  ('invalidations', self.cache_invalidations)):
                current = getattr(cache, name)
                if current > self._seen[name]:
                    counter.inc(current - self._seen[name])
                self._seen[name] = current
        self.pool.set(pool.checkedout())

    def start_sync(self, cache: Any, pool: Any, interval: float) -> None:
        """Sync every ``interval`` seconds on a daemon thread until ``stop_sync``: a worker
        that falls idle still hands over its last tallied checks."""
        def run():
            while not self._stop_sync.wait(interval):
                self.sync(cache, pool)
        threading.Thread(target=run, name='metrics-sync', daemon=True).start()

    def stop_sync(self) -> None:
        self._stop_sync.set()

    def flush_checks(self) -> None:
        """Add the tallied checks to the shared values (``sync`` does it too)."""
        for (method, route, status), (count, total, buckets) in self._tally.take().items():
            child = self._latency_child(method, route)
            # What Histogram.observe does per observation, once per bucket: prometheus-client
            # has no public call to add n observations (pinned in constraints.txt; the
            # metrics tests read the exposition back).
            child._sum.inc(total)
            for index, n in enumerate(buckets):
                if n:
                    child._buckets[index].inc(n)
            self._check_counter(status).inc(count)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every process's metrics."""
        prom = self._prom
        if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
            from prometheus_client import multiprocess
            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST


class CheckTally:
    """Observations added up in plain Python, per key: (count, sum of seconds, count per
    histogram bucket, the last one +Inf). Thread-safe; ``take`` hands them over and starts
    afresh."""

    def __init__(self, buckets: tuple[float, ...]):
        self._bounds = buckets
        self._lock = threading.Lock()
        self._pending: dict[tuple, list] = {}

    def add(self, key: tuple, seconds: float) -> None:
        index = bisect_left(self._bounds, seconds)  # Histogram.observe's bucket: seconds <= bound
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = [0, 0.0, [0] * (len(self._bounds) + 1)]
            entry[0] += 1
            entry[1] += seconds
            entry[2][index] += 1

    def take(self) -> dict[tuple, list]:
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken
