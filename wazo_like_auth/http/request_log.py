"""One log line per request: method, route template, status, duration, redacted token, remote
address and request id (from ``X-Request-Id`` or generated, echoed back).

The route template is logged, never the raw path: token-check paths carry the token itself.
Successful token checks (HEAD/GET /token/{t} answering 2xx) are the bulk of the traffic and
carry nothing to audit; they are counted by the metrics and logged only with
``access_log.successful_checks: true``, which costs about a quarter of a check's CPU time.
Refused checks are always logged.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from flask import Flask, g, request

from .. import tokens
from ..logs import escape, get_logger
from .auth import request_token

logger = get_logger('wazo_like_auth.access')

_REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')
_PREFIX = secrets.token_hex(10)
_COUNTER = itertools.count(1)


def _new_process() -> None:
    """A forked worker (the server imports this module before forking) gets its own prefix:
    otherwise every worker would hand out the same ids."""
    global _PREFIX, _COUNTER
    _PREFIX = secrets.token_hex(10)
    _COUNTER = itertools.count(1)


os.register_at_fork(after_in_child=_new_process)


def install(app: Flask, *, successful_checks: bool) -> None:
    def finish(response):
        return _finish(response, successful_checks)
    app.before_request(_start)
    app.after_request(finish)


def _start() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id(request.headers.get('X-Request-Id'))


def request_id(incoming: str | None) -> str:
    """The id of a request: the client's ``X-Request-Id`` when harmless for logs and
    headers, else a new one."""
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else _new_id()


def _new_id() -> str:
    """A request id unique across processes and restarts: a random per-process prefix and a
    counter, cheaper than a fresh uuid4 per request."""
    return f'{_PREFIX}{next(_COUNTER):012x}'


def _finish(response, successful_checks: bool):
    request_id = g.get('request_id') or _new_id()
    response.headers['X-Request-Id'] = request_id
    if not logger.isEnabledFor(logging.INFO):
        return response
    if not successful_checks and request.endpoint == 'check_token' and response.status_code < 300:
        return response
    token = request.view_args.get('token') if request.view_args else None
    token = token or request_token()
    duration = (time.perf_counter() - g.get('started', time.perf_counter())) * 1000
    _log_line(request.method, _route(), response.status_code, duration, request_id,
              request.remote_addr or '', tokens.redact(token) if token else '')
    return response


def answered_early(environ: dict, status: int, headers: list[tuple[str, str]]) -> None:
    """What every answer carries, for one made before Flask (a request target too long):
    its request id, appended to ``headers``, and its access-log line."""
    request_id_ = request_id(environ.get('HTTP_X_REQUEST_ID'))
    headers.append(('X-Request-Id', request_id_))
    _log_line(escape(environ.get('REQUEST_METHOD', '')), '<unmatched>', status, 0.0,
              request_id_, escape(environ.get('REMOTE_ADDR') or ''), '')


def _log_line(method: str, route: str, status: int, duration: float, request_id_: str,
              remote_addr: str, token: str) -> None:
    """The access-log line of one answer; ``duration`` in ms, ``token`` redacted."""
    logger.info('%s %s %s %.1fms', method, route, status, duration,
                extra={'request_id': request_id_, 'remote_addr': remote_addr, 'token': token,
                       'status': status, 'duration_ms': round(duration, 2), 'method': method,
                       'route': route})


def _route() -> str:
    return request.url_rule.rule if request.url_rule else '<unmatched>'
