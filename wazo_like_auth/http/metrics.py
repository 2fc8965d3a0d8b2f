"""GET /metrics (Prometheus text format), open only to the configured networks, and the hook
that feeds the metrics from every answered request."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from flask import Flask, Response, g, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from ..exceptions import MetricsForbidden, ServiceError
from ..metrics import Metrics
from ..networks import networks, within
from .api import PREFIXES


SYNC_INTERVAL = 1.0  # seconds between two copies of a process's cache and pool figures


def install(app: Flask, *, metrics: Metrics, cache, engine: Engine,
            allowed_networks: Sequence[str],
            background: bool = False) -> Callable[[str, str, int, float], None]:
    """Serve /metrics and count every request Flask answers; returns ``observe(method,
    route, status, seconds)`` for the answers given before Flask (check_fast_path), which
    are tallied in the process and synced every SYNC_INTERVAL: on a thread when
    ``background`` (the server), else by the next request Flask answers or scrape."""
    allowed = networks(allowed_networks)
    last_sync = [0.0]
    if background:
        metrics.start_sync(cache, engine.pool, SYNC_INTERVAL)

    def count(method: str, route: str, status: int, seconds: float, body=None) -> None:
        metrics.record(method, route, status, seconds, body)
        now = time.perf_counter()
        if now - last_sync[0] > SYNC_INTERVAL:
            last_sync[0] = now
            metrics.sync(cache, engine.pool)

    def record(response):
        started = g.get('started')
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule.rule if request.url_rule else '<unmatched>'
        count(request.method, _unprefixed(rule), response.status_code, seconds,
              _login_body(rule))
        return response

    def serve_metrics():
        if not within(request.remote_addr, allowed):
            raise MetricsForbidden()
        metrics.sync(cache, engine.pool)
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    app.after_request(record)
    app.add_url_rule('/metrics', 'metrics', serve_metrics, methods=['GET'])
    return metrics.tally_check


def _unprefixed(rule: str) -> str:
    for prefix in PREFIXES:
        if rule.startswith(prefix + '/'):
            return rule[len(prefix):]
    return rule


def _login_body(rule: str) -> dict | None:
    """What the metrics need of a login body: whether it is a refresh-token exchange.

    A substring test, not a parse: a metric label is not worth parsing a hostile body twice.
    """
    if request.method != 'POST' or not rule.endswith('/token'):
        return None
    try:
        body = request.get_data(cache=True)
    except (HTTPException, ServiceError):
        # The body was refused (over rest_api.max_body_size, broken off, cut short, no free
        # body reader: http/body_limit.py): read again here,
        # the refusal came back inside the after-request hooks and cut them short (no
        # request id, CORS or access log on that 413).
        return None
    return {'refresh_token': b'"refresh_token"' in body}
