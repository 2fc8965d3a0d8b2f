"""Issue 16's rows: JWT access tokens beside opaque ones, on the same service in the same run.

- ``check HEAD (JWT)``: the cached check of an RFC 9068 JWT (about 850 characters, looked up
  by the SHA-256 of the whole string), run right after ``check HEAD`` of an opaque token with
  the same ACL (``#``) and scope. Target: JWT ÷ opaque ≥ 0.9.
- ``client credentials (opaque)`` and ``client credentials (JWT)``: the token endpoint issuing
  a token per request to a confidential client (its secret's bcrypt check is remembered, so
  this is the issuing itself: one insert, plus an RS256 signature for the JWT). Reported.
"""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

from .load import HOST, Request
from .scenarios import SCOPE, Fixtures, Scenario, basic, call, head_check

CLIENTS = {'opaque': 'bench-cc-opaque', 'jwt': 'bench-cc-jwt'}
FORM = 'application/x-www-form-urlencoded'
JWT_CHECK = 'check HEAD (JWT)'


@dataclass(frozen=True)
class JwtFixtures:
    jwt: str  # an access token of the jwt client, ACL '#' like the opaque fixture's
    authorization: dict[str, str]  # format -> Basic header of its client


def prepare(port: int, fixtures: Fixtures) -> JwtFixtures:
    """Register a confidential client per format with the bootstrapped user's token, and get
    a JWT from the jwt one."""
    authorization = {}
    for token_format, client_id in CLIENTS.items():
        status, made = call(port, 'POST', '/0.1/clients', {
            'client_id': client_id, 'acl': ['#'], 'access_token_format': token_format},
            {'X-Auth-Token': fixtures.token})
        if status != 200:
            raise RuntimeError(f'POST /0.1/clients answered {status}: {made}')
        authorization[token_format] = basic(client_id, made['client_secret'])
    request = _client_credentials(authorization, 'jwt')
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(request.method, request.path, request.body, request.headers)
        response = conn.getresponse()
        status, answer = response.status, json.loads(response.read() or b'{}')
    finally:
        conn.close()
    if status != 200 or answer['access_token'].count('.') != 2:
        raise RuntimeError(f'client credentials answered {status}: {answer}')
    return JwtFixtures(jwt=answer['access_token'], authorization=authorization)


def _client_credentials(authorization: dict[str, str], token_format: str) -> Request:
    return Request('POST', '/0.1/oauth2/token', b'grant_type=client_credentials',
                   {'Content-Type': FORM, 'Authorization': authorization[token_format]}, 200)


def build(base: list[Scenario], fixtures: JwtFixtures) -> list[Scenario]:
    """``base`` with the JWT check right after the opaque one, and the two client credentials
    rows at the end."""
    jwt_check = Scenario('head-jwt', JWT_CHECK, 'service', head_check(fixtures.jwt))
    ordered = []
    for scenario in base:
        ordered.append(scenario)
        if scenario.key == 'head':
            ordered.append(jwt_check)
    return ordered + [
        Scenario('cc-opaque', 'client credentials (opaque)', 'service',
                 _client_credentials(fixtures.authorization, 'opaque')),
        Scenario('cc-jwt', 'client credentials (JWT)', 'service',
                 _client_credentials(fixtures.authorization, 'jwt')),
    ]


def target_lines(rows_of, ratio_cells, met, cpu_ms, add) -> None:
    """The targets table's rows of issue 16 (``targets.py`` gives its helpers)."""
    text, values = ratio_cells(rows_of('head-jwt'), rows_of('head'))
    add(f'cached check, JWT ÷ opaque (`{SCOPE}`)', '≥ 0.9', text, met(values, lambda v: v >= .9))
    jwt, opaque = rows_of('cc-jwt'), rows_of('cc-opaque')
    text, _ = ratio_cells(jwt, opaque)
    costs = '; '.join(f'CPU/req at c={c}: {_both(cpu_ms, jwt[c])} ms JWT, '
                      f'{_both(cpu_ms, opaque[c])} ms opaque' for c in sorted(jwt) if c in opaque)
    add('client credentials, JWT ÷ opaque (req/s)', 'reported',
        f'{text}; {costs}' if costs else text)


def _both(cpu_ms, row) -> str:
    spent = [v for v in (cpu_ms(row, 'service'), cpu_ms(row, 'postgres')) if v is not None]
    return f'{sum(spent):.2f}' if spent else '–'
