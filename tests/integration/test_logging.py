"""Logs: one line per request with a request id; never a token, refresh token or password."""
from __future__ import annotations

import json
import logging

from tests.support.credentials import basic
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.logs import JsonFormatter

PASSWORD = 'Sup3r-Secr3t-pass'


def _exercise(client, make_user):
    """Login, offline login, refresh, checks, scopes check and revocation; returns secrets."""
    make_user('alice', PASSWORD, acl=['auth.#'])
    first = client.post('/0.1/token', json={'access_type': 'offline', 'client_id': 'app'},
                        headers=basic('alice', PASSWORD)).get_json()['data']
    refreshed = client.post('/0.1/token', json={'refresh_token': first['refresh_token'],
                                                'client_id': 'app'}).get_json()['data']
    for token in (first['token'], refreshed['token']):
        client.head(f'/0.1/token/{token}?scope=auth.tokens.read')
        client.get(f'/0.1/token/{token}')
        client.post(f'/0.1/token/{token}/scopes/check', json={'scopes': ['a']})
        client.get('/0.1/users/me/tokens', headers={'X-Auth-Token': token})
    client.post('/0.1/token', json={}, headers=basic('alice', 'wrong-' + PASSWORD))
    client.delete(f"/0.1/token/{refreshed['token']}")
    return [first['token'], first['refresh_token'], refreshed['token'], PASSWORD]


def test_no_secret_reaches_the_logs(client, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = _exercise(client, make_user)
    text = '\n'.join(caplog.messages + [JsonFormatter().format(r) for r in caplog.records])
    assert 'Successful login' in text and 'Failed login' in text
    for secret in secrets:
        assert secret not in text


def _access_records(caplog):
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records
            if r.name == 'wazo_like_auth.access']


def _token(client, make_user):
    make_user(acl=['auth.#'])
    return client.post('/0.1/token', json={}, headers=basic('alice', 's3cret')) \
        .get_json()['data']['token']


def test_refused_check_is_logged_once_with_route_and_redacted_token(client, make_user, caplog):
    token = _token(client, make_user)
    caplog.clear()
    caplog.set_level(logging.INFO, logger='wazo_like_auth.access')
    client.head(f'/0.1/token/{token}?scope=confd.users.read')
    [entry] = _access_records(caplog)
    assert entry['route'] == '/0.1/token/<token>'
    assert entry['status'] == 403 and entry['method'] == 'HEAD'
    assert entry['token'].endswith(token[-8:]) and token not in json.dumps(entry)


def test_successful_checks_are_logged_only_when_asked(make_config, db_uri, engine, client,
                                                      make_user, caplog):
    token = _token(client, make_user)
    caplog.set_level(logging.INFO, logger='wazo_like_auth.access')
    caplog.clear()
    client.head(f'/0.1/token/{token}')
    assert _access_records(caplog) == []
    config = make_config(db_uri=db_uri, access_log={'successful_checks': True})
    verbose = create_app(config, engine=engine)
    try:
        verbose.test_client().head(f'/0.1/token/{token}')
    finally:
        shutdown(verbose)
    assert [entry['status'] for entry in _access_records(caplog)] == [204]


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get('/0.1/status', headers={'X-Request-Id': 'abc-123'})
    assert echoed.headers['X-Request-Id'] == 'abc-123'
    generated = client.get('/0.1/status', headers={'X-Request-Id': 'bad id with spaces'})
    assert len(generated.headers['X-Request-Id']) == 32
    # '$' matches before a final newline: 'abc\n' was echoed into the answer's headers,
    # which werkzeug refuses (a 500; granian itself refuses a newline in a header value).
    trailing = client.get('/0.1/status', environ_overrides={'HTTP_X_REQUEST_ID': 'abc\n'})
    assert trailing.status_code == 200 and len(trailing.headers['X-Request-Id']) == 32


def test_an_error_after_the_answer_is_logged_with_the_path_redacted(app, client, caplog):
    # An exception no error handler sees (raised by an after_request hook) is logged by
    # Flask itself; its line would quote the raw path, the token in it.
    calls = []

    def failing(response):
        calls.append(response)
        if len(calls) == 1:  # the 500 answer made next goes through
            raise RuntimeError('hook failed')
        return response
    app.after_request_funcs.setdefault(None, []).append(failing)
    token = '3f2a9c4e-1b7d-0e5f-f6a8-9b0c1d2e3f4a'
    caplog.set_level(logging.DEBUG)
    answer = client.get(f'/0.1/token/{token}%0d%0aFORGED\x1b[31m')
    assert answer.status_code == 500
    [record] = [r for r in caplog.records if r.exc_info]
    message = record.getMessage()
    assert message.startswith('Unexpected error on GET /0.1/token/XXXXXXXX-XXXX-XXXX-XXXX-XXXX')
    assert token not in message and '\r' not in message and '\x1b' not in message


def test_a_forwarded_address_is_escaped_in_every_record(make_config, db_uri, engine, make_user,
                                                        caplog):
    # Behind a proxy the client address is what X-Forwarded-For says: anything a client puts
    # there reaches the access log's field and the login lines.
    make_user('alice', PASSWORD)
    config = make_config(db_uri=db_uri, rest_api={'num_proxies': 1})
    proxied = create_app(config, engine=engine)
    caplog.set_level(logging.INFO)
    try:
        proxied.test_client().post('/0.1/token', json={}, headers={
            **basic('alice', 'wrong'), 'X-Forwarded-For': '10.0.0.1\x1b[31mFORGED'})
    finally:
        shutdown(proxied)
    failed = [r for r in caplog.records if r.getMessage().startswith('Failed login')]
    access = [r for r in caplog.records if r.name == 'wazo_like_auth.access']
    assert failed and access
    assert 'from 10.0.0.1\\x1b[31mFORGED' in failed[0].getMessage()
    assert access[0].remote_addr == '10.0.0.1\\x1b[31mFORGED'
    assert not any('\x1b' in r.getMessage() for r in caplog.records)
    assert not any('\x1b' in value for r in access for value in vars(r).values()
                   if isinstance(value, str))


def test_a_huge_login_is_not_written_whole_to_the_log(admin, client, caplog):
    # rest_api.max_body_size (1 MiB) lets a login of nearly that size through to the OAuth
    # password grant. Refused without a check (over 1024 characters: no bcrypt, no throttle,
    # no trail row), it was logged whole: one request, one line of nearly 1 MiB, as often as
    # a client cares to send it (the trail keeps 1024 characters of a login).
    secret = admin.ok('POST', '/clients', json={'client_id': 'crm',
                                               'grant_types': ['password']})['client_secret']
    caplog.set_level(logging.INFO)

    response = client.post('/0.1/oauth2/token', headers=basic('crm', secret), data={
        'grant_type': 'password', 'username': 'A' * 900_000, 'password': 'x'})

    assert response.status_code == 400
    longest = max(caplog.records, key=lambda r: len(r.getMessage()))
    assert len(longest.getMessage()) < 10_000, (longest.name, longest.getMessage()[:120])
