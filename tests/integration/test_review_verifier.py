"""Defects found by the review of what backend services use to check tokens (the verifier's
online and offline modes, the client library): each test is a user-visible failure that was
fixed. Real HTTP throughout: the real service, or a small WSGI peer standing for a broken or
hostile one."""
from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.integration.test_review_jwt import Recorder
from tests.support.jwt_access import register_jwt_client, unverified_claims
from tests.support.jwt_verifier import (auth_server, issuer, make_verifier,  # noqa: F401
                                        mint, mono, signing_keys, status)
from tests.support.live_server import LiveServer, closed_port_url
from wazo_like_auth.client import AuthClient, UnexpectedResponse
from wazo_like_auth.verifier import PushRevocation, TokenVerifier


def _online_status(verifier: TokenVerifier, token: str) -> int:
    return status(verifier, token, 'confd.users.me.read')


@pytest.mark.parametrize('token', ['.', '..'])
def test_a_dot_segment_token_is_refused_and_never_checked_elsewhere(auth_server, token):
    # Before the fix: requests removes dot segments, so the check of '..' went to
    # HEAD /0.1/?scope=... and that of '.' to HEAD /0.1/token/?scope=..., not to a token check.
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0)
    assert _online_status(verifier, token) == 401
    assert [path for _, path in auth_server.requests
            if not path.startswith('/0.1/token/') or path == '/0.1/token/'] == []


def _catch_all(environ, start_response):
    """A web server answering 200 to everything (a default site, a single-page app behind a
    misconfigured auth_url)."""
    start_response('200 OK', [('Content-Type', 'text/html')])
    return [b'<html>welcome</html>']


@pytest.mark.parametrize('push', [False, True], ids=['HEAD', 'GET with push'])
def test_an_auth_url_answering_200_to_everything_grants_nothing(push):
    # Before the fix: the online check took any 200 as "token valid": every token, made up or
    # not, passed every ACL (the service answers HEAD with exactly 204, GET with the token).
    bus = PushRevocation(closed_port_url().replace('http', 'amqp'), retry_initial_delay=60)
    with LiveServer(_catch_all) as server:
        verifier = TokenVerifier(f'{server.url}/0.1', cache_ttl=0, push=bus if push else None)
        try:
            assert _online_status(verifier, str(uuid.uuid4())) == 503
        finally:
            verifier.close()


def test_with_push_a_real_check_still_passes(auth_server, make_user, login):
    make_user('alice', 's3cret', acl=['confd.#'])
    token = login('alice', 's3cret').get_json()['data']['token']
    bus = PushRevocation(closed_port_url().replace('http', 'amqp'), retry_initial_delay=60)
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0, push=bus)
    try:
        assert _online_status(verifier, token.upper()) == 200
        assert _online_status(verifier, str(uuid.uuid4())) == 401
    finally:
        verifier.close()


class RawJwks:
    """A JWKS endpoint answering ``body`` (bytes, or an iterable of bytes sent as they come),
    with a Content-Length of ``length`` bytes when given."""

    def __init__(self, body, length: int | None = None):
        self.body, self.length = body, length

    def __call__(self, environ, start_response):
        headers = [('Content-Type', 'application/json')]
        if self.length is not None:
            headers.append(('Content-Length', str(self.length)))
        start_response('200 OK', headers)
        return [self.body] if isinstance(self.body, bytes) else self.body


def test_a_jwks_nested_too_deep_is_a_503_not_a_crash(make_verifier, mint):
    # Before the fix: RecursionError out of verify() (a 500 in the backend) on every
    # refetch.
    with LiveServer(RawJwks(b'[' * 100_000 + b']' * 100_000)) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs')
        assert status(verifier, mint(scope='#')) == 503


def test_a_jwks_of_megabytes_is_not_a_key_set(make_verifier, mint, issuer):
    # Before the fix: the verifier read the whole body into memory (and again at each
    # refetch), and a real key set padded to 8 MiB verified tokens.
    real = requests.get(f'{issuer}/oauth2/certs', timeout=10).content
    with LiveServer(RawJwks(real[:-1] + b' ' * (8 << 20) + real[-1:])) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs')
        assert status(verifier, mint(scope='#')) == 503


def _drip(stop: threading.Event):
    """A body that never ends: one space (valid JSON whitespace) every 0.1 s."""
    while not stop.wait(0.1):
        yield b' '


def test_a_jwks_sent_one_byte_at_a_time_fails_closed_in_bounded_time(make_verifier, mint):
    # Before the fix: each byte arrived within the read timeout, so the fetch never ended, and
    # every request needing the keys waited for it (under the key store's lock) for ever.
    stop, answers = threading.Event(), []
    with LiveServer(RawJwks(_drip(stop), length=1 << 20)) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs', timeout=(1.0, 1.0))
        checker = threading.Thread(target=lambda: answers.append(status(verifier, mint())),
                                   daemon=True)
        checker.start()
        checker.join(timeout=30)  # liveness, not speed: the budget is 2 s
        answered = list(answers)
        stop.set()
    assert answered == [503]



@pytest.mark.parametrize('token', ['..', '.', 'a token', 'line\r\nX-Injected: 1', 'caf\u00e9'])
def test_a_login_answer_with_a_token_unfit_for_a_path_or_header_is_unexpected(token):
    # Before the fix: the client handed such a value out as a token; its logout then sent
    # DELETE /0.1/ ('..': dot segments are removed), and request() raised requests'
    # InvalidHeader quoting the token in its message.
    body = {'data': {'token': token, 'utc_issued_at': '2026-01-01T00:00:00.000000',
                     'utc_expires_at': '2026-01-01T01:00:00.000000'}}
    service = Recorder('200 OK', body)
    with LiveServer(service) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret')
        with pytest.raises(UnexpectedResponse) as raised:
            client.token()
        client.logout()
    assert token not in str(raised.value)
    assert server.requests == [('POST', '/0.1/token')]


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
@pytest.mark.parametrize('scheme, answer', [('https', 200), ('http', 503)])
def test_an_https_issuer_naming_its_keys_over_plain_http_is_not_trusted(make_verifier, mint,
                                                                        issuer, scheme, answer):
    # Before the fix: the keys were fetched over plain HTTP, where anyone on the path can
    # swap them for their own and sign any token, although the issuer was given as https.
    def front(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json')])
        if environ['PATH_INFO'] == '/certs':
            return [requests.get(f'{issuer}/oauth2/certs', timeout=10).content]
        keys = f'{server.url}/certs' if scheme == 'https' else f'{issuer}/oauth2/certs'
        return [json.dumps({'issuer': server.url, 'jwks_uri': keys}).encode()]
    with LiveServer(front, tls=True) as server:
        http = requests.Session()
        # The throw-away certificate (trust_env off, or REQUESTS_CA_BUNDLE would override).
        http.verify, http.trust_env = False, False
        verifier = make_verifier(issuer=server.url, session=http)
        assert status(verifier, mint(scope='#', iss=server.url)) == answer


def test_a_token_whose_check_path_is_too_long_is_401_not_503(auth_server, caplog):
    # Under 16 KiB, but six times that once quoted in the path: before the fix the service
    # answered 414, and the verifier a 503 "unreachable" and a warning, per request.
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0)
    assert _online_status(verifier, '\u00e9' * 12_000) == 401
    assert _online_status(verifier, '%' * 6000) == 401
    assert auth_server.requests == [] and 'answered' not in caplog.text


def test_wazo_tenant_spelt_as_the_service_accepts_it_passes_offline_too(make_verifier, issuer,
                                                                       api, admin_token,
                                                                       make_user):
    # Before the fix: the JWT mode compared the header with the claim as strings, so a tenant
    # the online check (and the service) accepts in upper case, braces or without dashes was
    # a 403 offline.
    make_user('dana', 's3cret', acl=['confd.#'])
    client = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'])
    token = OAuth2Session('webapp', client['client_secret']).fetch_token(
        api.token_url(), username='dana', password='s3cret')['access_token']
    tenant = unverified_claims(token)['tenant_uuid']
    spellings = [tenant, tenant.upper(), tenant.replace('-', ''), f'{{{tenant}}}',
                 f' {tenant}', str(uuid.uuid4()), 'not-a-uuid']
    modes = {'offline': make_verifier(audience=issuer),
             'online': TokenVerifier(issuer, cache_ttl=0)}
    answers = {mode: [status(verifier, token, 'confd.x', tenant=spelling)
                      for spelling in spellings] for mode, verifier in modes.items()}
    assert answers == {mode: [200, 200, 200, 200, 403, 403, 403] for mode in modes}


class SlowSecondCerts:
    """The real ``certs`` at once the first time; later, only once ``release`` is set."""

    def __init__(self, certs_url: str):
        self.certs_url, self.calls = certs_url, 0
        self.arrived, self.release = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        self.calls += 1
        if self.calls > 1:
            self.arrived.set()
            self.release.wait(timeout=30)
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [requests.get(self.certs_url, timeout=10).content]


def test_a_slow_refetch_of_a_stale_key_set_stalls_no_other_request(make_verifier, mint, issuer,
                                                                  mono):
    # Before the fix: once the set was past its max-age, every request waited on the key
    # store's lock for the one thread refetching it, up to the whole timeout, although the
    # token's key was in memory: a slow or black-holed issuer stalled the backend each time.
    peer = SlowSecondCerts(f'{issuer}/oauth2/certs')
    with LiveServer(peer) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs', timeout=(5.0, 60.0))
        token = mint(scope='#')
        assert status(verifier, token) == 200
        mono.now += 301  # past max-age: the next request refetches, slowly
        refetching = threading.Thread(target=status, args=(verifier, token), daemon=True)
        refetching.start()
        assert peer.arrived.wait(timeout=10)
        others = []
        other = threading.Thread(target=lambda: others.append(status(verifier, token)),
                                 daemon=True)
        other.start()
        other.join(timeout=10)  # liveness, not speed: the refetch holds for 30 s
        answered = list(others)
        peer.release.set()
        refetching.join(timeout=10)
    assert answered == [200]


def test_a_key_set_with_a_huge_max_age_is_kept_a_day_not_a_crash(make_verifier, mint, issuer,
                                                                 mono):
    # Before the fix: OverflowError (an int too large for a float) out of verify(), a 500 in
    # the backend, for every token.
    def certs(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Cache-Control', 'max-age=' + '9' * 400)])
        return [requests.get(f'{issuer}/oauth2/certs', timeout=10).content]
    with LiveServer(certs) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs')
        token = mint(scope='#')
        assert status(verifier, token) == 200
        mono.now += 86399
        assert status(verifier, token) == 200 and len(server.requests) == 1
        mono.now += 1
        assert status(verifier, token) == 200 and len(server.requests) == 2
