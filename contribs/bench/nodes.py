"""--nodes N: how long the other nodes keep accepting a token revoked on node 0.

For each revocation: a fresh token from a refresh exchange on node 0 (no bcrypt), one accepted
check on every other node (so a validation cache, if any, holds it), DELETE on node 0, then
HEAD checks on each other node, back to back on one keep-alive connection, until one answers
404. The lag runs from DELETE's answer to that first 404.
"""
from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field

from .load import HOST, percentile
from .scenarios import CLIENT_ID, EMPTY_BASIC, SCOPE, Fixtures, call, obtain_token

POLL_TIMEOUT = 10.0


@dataclass
class RevocationStats:
    lags_ms: list[float] = field(default_factory=list)
    stale_answers: int = 0  # 204 answers given after the revocation had returned
    timeouts: int = 0  # revocations still accepted after POLL_TIMEOUT

    @property
    def p50(self) -> float:
        return percentile(sorted(self.lags_ms), 50)

    @property
    def max(self) -> float:
        return max(self.lags_ms, default=0.0)


def _head(conn: http.client.HTTPConnection, token: str) -> int:
    conn.request('HEAD', f'/0.1/token/{token}?scope={SCOPE}')
    response = conn.getresponse()
    response.read()
    return response.status


def _until(conn: http.client.HTTPConnection, token: str,
           wanted: int) -> tuple[float | None, int]:
    """Poll until ``wanted``: (monotonic time it came, or None on timeout; 204 answers)."""
    started = time.monotonic()
    accepted = 0
    while time.monotonic() - started < POLL_TIMEOUT:
        status = _head(conn, token)
        if status == wanted:
            return time.monotonic(), accepted
        accepted += status == 204
    return None, accepted


def revocation_lag(primary: int, others: list[int], fixtures: Fixtures,
                   count: int) -> RevocationStats:
    stats = RevocationStats()
    body = {'refresh_token': fixtures.refresh_token, 'client_id': CLIENT_ID}
    conns = [http.client.HTTPConnection(HOST, port, timeout=10) for port in others]
    try:
        for _ in range(count):
            token = obtain_token(primary, EMPTY_BASIC, body)['token']
            for conn in conns:
                _until(conn, token, 204)
            status, answer = call(primary, 'DELETE', f'/0.1/token/{token}')
            if status != 200:
                raise RuntimeError(f'DELETE /0.1/token answered {status}: {answer}')
            revoked = time.monotonic()
            for conn in conns:
                seen, stale = _until(conn, token, 404)
                stats.stale_answers += stale
                if seen is None:
                    stats.timeouts += 1
                else:
                    stats.lags_ms.append((seen - revoked) * 1000)
    finally:
        for conn in conns:
            conn.close()
    return stats
