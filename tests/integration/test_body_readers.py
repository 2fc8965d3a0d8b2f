"""Request bodies are read by at most a quarter of a worker's threads at once (README,
Serving): clients that announce a body and never send it hold those threads only; the
others answer token checks, and a request finding no free reader is answered 503 with
Retry-After, in its endpoint's error format."""
from __future__ import annotations

import threading
import uuid

import pytest

from tests.support.apps import running_app
from tests.support.credentials import basic


class StalledBody:
    """A body that arrives only when ``arrive`` is set, as from a client that stalls."""

    def __init__(self, data: bytes):
        self.data = data
        self.arrive = threading.Event()
        self.waiting = threading.Event()
        self._position = 0

    def tell(self) -> int:  # the test client measures the body's length this way
        return self._position

    def seek(self, offset: int, whence: int = 0) -> None:
        self._position = len(self.data) if whence == 2 else offset

    def read(self, size: int = -1) -> bytes:
        self.waiting.set()
        assert self.arrive.wait(10)
        data, self.data = self.data, b''
        return data


@pytest.fixture
def app(make_config, db_uri, engine, make_user):
    make_user('alice', 's3cret')
    with running_app(make_config(db_uri=db_uri, rest_api={'threads': 4}), engine) as app:
        yield app


@pytest.fixture
def stalled(app):
    """A login whose body is stalled, holding the app's one body reader (4 threads) until
    the test ends; yields its answer holder."""
    body = b'{"expiration": 60}'
    stalled = StalledBody(body)
    answer = {}

    def post():
        answer['status'] = app.test_client().post('/0.1/token', input_stream=stalled, headers={
            **basic('alice', 's3cret'), 'Content-Type': 'application/json',
            'Content-Length': str(len(body))}).status_code
    thread = threading.Thread(target=post)
    thread.start()
    assert stalled.waiting.wait(10)
    yield answer
    stalled.arrive.set()
    thread.join(10)


def test_a_request_finding_no_free_body_reader_is_answered_503_with_retry_after(app, stalled):
    client = app.test_client()
    request_id = str(uuid.uuid4())

    answer = client.post('/0.1/token', json={'expiration': 60}, headers={
        **basic('alice', 's3cret'), 'X-Request-Id': request_id})

    assert answer.status_code == 503
    assert answer.get_json()['error_id'] == 'server-busy'
    assert answer.headers['Retry-After'] == '1'
    assert answer.headers['X-Request-Id'] == request_id


def test_the_oauth_token_endpoint_answers_it_as_an_oauth_error(app, stalled):
    answer = app.test_client().post('/0.1/oauth2/token', data={
        'grant_type': 'client_credentials'}, headers=basic('some-client', 'secret'))

    assert answer.status_code == 503
    assert answer.get_json()['error'] == 'temporarily_unavailable'
    assert answer.headers['Retry-After'] == '1'


@pytest.fixture
def token(app) -> str:
    answer = app.test_client().post('/0.1/token', json={}, headers=basic('alice', 's3cret'))
    return answer.get_json()['data']['token']


def test_checks_and_bodiless_requests_are_answered_meanwhile(app, token, stalled):
    client = app.test_client()

    assert client.head(f'/0.1/token/{token}').status_code == 204
    assert client.get(f'/0.1/token/{token}').get_json()['data']['token'] == token
    assert client.delete(f'/0.1/token/{token}').status_code == 200
    assert client.head(f'/0.1/token/{token}').status_code == 404


def test_the_stalled_request_is_answered_once_its_body_arrives_and_frees_its_reader(app):
    body = b'{"expiration": 77}'
    stalled = StalledBody(body)
    answers = []

    def post():
        answers.append(app.test_client().post('/0.1/token', input_stream=stalled, headers={
            **basic('alice', 's3cret'), 'Content-Type': 'application/json',
            'Content-Length': str(len(body))}))
    thread = threading.Thread(target=post)
    thread.start()
    assert stalled.waiting.wait(10)
    stalled.arrive.set()
    thread.join(10)

    assert answers[0].status_code == 200
    assert answers[0].get_json()['data']['expires_at']
    later = app.test_client().post('/0.1/token', json={'expiration': 60},
                                   headers=basic('alice', 's3cret'))
    assert later.status_code == 200


class CutShort:
    """A body whose client goes away after ``data``: then every read answers b'', as
    granian's body does (its requests all carry wsgi.input_terminated)."""

    def __init__(self, data: bytes, announced: int):
        self.data = data
        self._announced = announced
        self._position = 0

    def tell(self) -> int:  # the test client measures the body's length this way
        return self._position

    def seek(self, offset: int, whence: int = 0) -> None:
        self._position = self._announced if whence == 2 else offset

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b''
        return data


def test_a_body_cut_short_by_its_client_is_not_acted_on(app):
    # body_limit.BodyReader._read: "shorter than announced when the client went away;
    # werkzeug tells it". Not under granian: it sets wsgi.input_terminated on every request,
    # so werkzeug takes the stream as it is, and the application acts on the part that came
    # (here a login, from 2 bytes of 40 announced) for a client that is gone.
    announced = b'{"expiration": 60, "access_type": "online"}'
    answer = app.test_client().post('/0.1/token', input_stream=CutShort(b'{}', len(announced)), headers={
        **basic('alice', 's3cret'), 'Content-Type': 'application/json',
        'Content-Length': str(len(announced))},
        environ_overrides={'wsgi.input_terminated': True})

    assert answer.status_code == 400, (answer.status_code, answer.get_data()[:200])
