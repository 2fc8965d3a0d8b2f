"""Edges of the HTTP layer: a login body refused for its size keeps what every answer carries
(README, Logs: one access-log line per request with its request id, echoed back; CORS on the
Wazo API, errors included), and so does a routing error of the Wazo API."""
from __future__ import annotations

import io
import json
import logging

from tests.support.credentials import basic
from wazo_like_auth.logs import JsonFormatter

TOO_BIG = b'{"expiration": 60, "padding": "' + b'x' * (1024 * 1024) + b'"}'
SENT = {'X-Request-Id': 'review-http-1', 'Origin': 'https://webapp.example'}


def _access_lines(caplog) -> list[dict]:
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records
            if r.name == 'wazo_like_auth.access']


def test_a_login_body_over_the_limit_keeps_its_request_id_cors_and_access_log_line(client,
                                                                                  caplog):
    # The metrics hook (http/metrics.py: _login_body) reads the body of every POST .../token
    # again after the answer is made; over max_body_size that read raises 413 once more,
    # inside the after_request hooks, and flask-restful's handler answers it bare: the hooks
    # after it (CORS, request id, access log) never run.
    caplog.set_level(logging.INFO, logger='wazo_like_auth.access')
    answer = client.post('/0.1/token', data=TOO_BIG, headers={
        **basic('alice', 's3cret'), **SENT, 'Content-Type': 'application/json'})
    assert answer.status_code == 413
    assert answer.headers.get('X-Request-Id') == 'review-http-1', dict(answer.headers)
    assert answer.headers.get('Access-Control-Allow-Origin') == '*'
    assert [line['status'] for line in _access_lines(caplog)] == [413]


def test_an_oauth_token_body_over_the_limit_keeps_its_request_id(client):
    answer = client.post('/0.1/oauth2/token', data=TOO_BIG, headers={
        **SENT, 'Content-Type': 'application/x-www-form-urlencoded'})
    assert answer.status_code == 413
    assert answer.headers.get('X-Request-Id') == 'review-http-1', dict(answer.headers)


def test_a_wrong_method_on_the_wazo_api_is_readable_cross_origin(client):
    # README (CORS): every answer of the Wazo API carries Access-Control-Allow-Origin, errors
    # included (as wazo-auth's flask-cors does). A routing error has no endpoint, and
    # http/cors._allow answers no CORS header without one: the browser application sees a
    # network error instead of the 405 (or a 404 of a malformed uuid under the prefix).
    wrong_method = client.get('/0.1/token', headers=SENT)
    assert wrong_method.status_code == 405
    assert wrong_method.headers.get('Access-Control-Allow-Origin') == '*'
    malformed = client.get('/api/auth/0.1/users/not-a-uuid', headers=SENT)
    assert malformed.status_code == 404
    assert malformed.headers.get('Access-Control-Allow-Origin') == '*'


def test_a_target_over_16_kib_is_logged_with_its_request_id(client, caplog):
    # app._TargetLimit answers before Flask: it had no request id and no access-log line.
    caplog.set_level(logging.INFO, logger='wazo_like_auth.access')
    answer = client.get('/0.1/status?x=' + 'a' * 20 * 1024, headers=SENT)
    assert answer.status_code == 414
    assert answer.headers.get('X-Request-Id') == 'review-http-1', dict(answer.headers)
    assert [line['status'] for line in _access_lines(caplog)] == [414]


def test_a_chunked_body_over_the_limit_is_logged_with_its_request_id(client, caplog):
    # http/body_limit answered it before Flask: no request id, no CORS, no log line.
    caplog.set_level(logging.INFO, logger='wazo_like_auth.access')
    answer = client.post('/0.1/token', input_stream=io.BytesIO(TOO_BIG), headers={
        **basic('alice', 's3cret'), **SENT, 'Transfer-Encoding': 'chunked'},
        environ_overrides={'wsgi.input_terminated': True})
    assert answer.status_code == 413
    assert answer.get_json()['error_id'] == 'payload-too-large'
    assert answer.headers.get('X-Request-Id') == 'review-http-1', dict(answer.headers)
    assert answer.headers.get('Access-Control-Allow-Origin') == '*'
    assert [line['status'] for line in _access_lines(caplog)] == [413]



def test_a_target_over_16_kib_on_the_wazo_api_is_readable_cross_origin(client):
    # README (Input limits): "path and query over 16 KiB -> 414 ... These answers carry the
    # request id and CORS header and have their access-log line, as every answer of the
    # application does" (and CORS: every answer of the Wazo API, errors included).
    # app._TargetLimit answers before Flask: request id and log line (request_log.
    # answered_early), but no Access-Control-Allow-Origin, so a browser application of another
    # origin sees a network error instead of the 414.
    answer = client.get('/0.1/users?search=' + 'a' * 20 * 1024, headers=SENT)
    assert answer.status_code == 414
    assert answer.headers.get('Access-Control-Allow-Origin') == '*', dict(answer.headers)
