"""Review of the last round's fixes (bounded_http's watch of reused connections, the consent
guard of new redirect URIs, ...): each test fails on the code it was written against."""
from __future__ import annotations

import select
import socket
import ssl
import threading
import uuid
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.integration.test_client_delete_races import (finished, in_background, parked,
                                                        waiting_on_a_lock)
from tests.support.jwt_verifier import status
from tests.support.live_server import (EMPTY_JSON, NO_CONTENT, listening, outcome_within,
                                       request_heads)
from tests.support.oidc import (REDIRECT, callback_params, realm,  # noqa: F401 (fixture)
                                register_client, submit)
from tests.support.polling import wait_until
from tests.support.tenant_trees import client_above_a_branch
from tests.support.tls import certificate, server_context  # noqa: F401 (a fixture)
from wazo_like_auth.client import AuthClient, ServiceUnavailable
from wazo_like_auth.oidc.pkce import s256
from wazo_like_auth.verifier import TokenVerifier


# -- a keep-alive connection through an HTTPS proxy, reused by a later exchange ----------------

class _SecondAnswerNeverEnds:
    """An HTTPS peer keeping its connections open: its first answer (204 to HEAD, ``{}``
    else) whole, the second a status line and a header sent a byte every 0.1 s."""

    def __init__(self, context: ssl.SSLContext):
        self._context = context

    def __call__(self, peer: socket.socket, stop: threading.Event) -> None:
        try:
            with self._context.wrap_socket(peer, server_side=True) as tls:
                for answered, head in enumerate(request_heads(tls), 1):
                    if answered == 1:
                        tls.sendall(NO_CONTENT if head.startswith(b'HEAD') else EMPTY_JSON)
                        continue
                    tls.sendall(b'HTTP/1.1 200 OK\r\nX-Pad: ')
                    while not stop.wait(0.1):
                        tls.sendall(b'a')
                    return
        except OSError:
            return


def _https_proxy(context: ssl.SSLContext, target_port: int):
    """An HTTPS proxy: TLS to its clients, a CONNECT answered 200 and tunnelled to
    127.0.0.1:``target_port`` (the client then speaks TLS inside its TLS, urllib3's
    SSLTransport)."""
    def handle(peer: socket.socket, stop: threading.Event) -> None:
        try:
            tls = context.wrap_socket(peer, server_side=True)
            head = b''
            while b'\r\n\r\n' not in head:
                data = tls.recv(65536)
                if not data:
                    return
                head += data
            upstream = socket.create_connection(('127.0.0.1', target_port))
            tls.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            with tls, upstream:
                while not stop.is_set():
                    ready = [tls] if tls.pending() else \
                        select.select([tls, upstream], [], [], 0.1)[0]
                    for side in ready:
                        data = side.recv(65536)
                        if not data:
                            return
                        (upstream if side is tls else tls).sendall(data)
        except (OSError, ssl.SSLError):
            return
    return handle


@pytest.fixture
def through_https_proxy(certificate, monkeypatch):
    """``(auth_url, session)``: an HTTPS auth service whose second answer on a connection
    never ends, reached through an HTTPS proxy with ``session`` (which trusts both)."""
    # This host's environment names the system bundle, which requests prefers to
    # session.verify: unset, the session's own setting is used, as it is by default.
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    context = server_context(certificate)
    with listening(_SecondAnswerNeverEnds(context)) as (service, _):
        port = urlsplit(service).port
        with listening(_https_proxy(context, port)) as (proxy, _):
            session = requests.Session()
            session.verify = str(certificate[0])
            session.proxies = {'https': proxy.replace('http://', 'https://')}
            yield f'https://127.0.0.1:{port}/0.1', session


def test_a_second_check_on_a_kept_connection_through_an_https_proxy_is_503_in_bounded_time(
        through_https_proxy):
    # The watch of an exchange on a connection reused from the pool gets only the
    # connection's socket (bounded_http._Watched.getresponse): _new_conn, where the first
    # exchange's watch got a duplicate of the TCP socket, is not called again. Through an
    # HTTPS proxy that socket is urllib3's SSLTransport (TLS inside TLS), which has no
    # shutdown(): at the deadline _cut raises AttributeError in the watch's timer thread and
    # the read is never ended. The first check is 200; the second waits for ever (every
    # request of the backend that needs a check, one after another).
    auth_url, session = through_https_proxy
    verifier = TokenVerifier(auth_url, cache_ttl=0, timeout=(1.0, 1.0), session=session)
    assert outcome_within(lambda: status(verifier, str(uuid.uuid4())), 10) == [200]
    assert outcome_within(lambda: status(verifier, str(uuid.uuid4())), 10) == [503]


def test_a_client_renewal_on_a_kept_connection_through_an_https_proxy_is_service_unavailable(
        through_https_proxy):
    # Same cause for AuthClient: token(refused=...) first asks the service about the refused
    # token (a HEAD, answered 204), which leaves the connection in the pool; the login that
    # follows on it waits for ever, holding the client's lock: every thread of the
    # application asking for a token waits too.
    auth_url, session = through_https_proxy
    client = AuthClient(auth_url, username='alice', password='s3cret', timeout=(1.0, 1.0),
                        session=session)
    try:
        assert outcome_within(lambda: client.token(refused='some-token'), 10) \
            == [ServiceUnavailable]
    finally:
        client.close()


# -- a new redirect URI on a consenting client, before anyone consented ------------------------

VERIFIER = 'v' * 50
ELSEWHERE = 'https://elsewhere.example.net/cb'


def _authorize(api, redirect_uri=REDIRECT) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': redirect_uri, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256'}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(query)


def test_a_lesser_admin_cannot_add_its_redirect_uri_before_the_users_consent(
        api, admin_token, make_user, realm):
    """The guard of round 5 (services.clients._new_silent_sign_in) asks for '#' when a new
    redirect URI is given to a consenting client only if some consent to it is remembered
    already (oidc_repo.has_consents). A consent is per client, not per redirect URI: an
    administrator holding auth.# adds its own URI to the operator's new application before
    anyone used it, then waits. The privileged user consents on the application's own page,
    at its own URI; from then on a link naming the administrator's URI signs that user in
    with no page shown and sends the code there (public client: the administrator's PKCE
    verifier exchanges it for the user's whole ACL)."""
    make_user('boss', 's3cret', acl=['#'], tenant_uuid=realm['uuid'])
    make_user('acme-admin', 's3cret', acl=['auth.#'], tenant_uuid=realm['uuid'])
    created = register_client(api, admin_token, realm['uuid'], public=True,
                              require_consent=True)
    lesser = api.login('acme-admin', 's3cret')
    body = {key: created[key] for key in ('client_id', 'name', 'grant_types',
                                          'post_logout_redirect_uris', 'require_consent')}
    added = api.admin('PUT', f"/clients/{created['uuid']}", lesser,
                      json={**body, 'redirect_uris': [REDIRECT, ELSEWHERE]})
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    page = submit(browser, page, username='boss', password='s3cret')
    assert 'code' in callback_params(submit(browser, page, button='approve'))

    answer = browser.get(_authorize(api, redirect_uri=ELSEWHERE), timeout=10,
                         allow_redirects=False)

    location = answer.headers.get('Location', '')
    assert not (added.status_code == 200 and answer.status_code == 302
                and location.startswith(ELSEWHERE) and 'code=' in urlsplit(location).query), \
        location


# -- a user created in the moved tenant while the move runs ----------------------------------

def test_a_user_created_during_a_move_gets_no_secretless_refresh_token(
        api, engine, make_user, make_client, admin_token, top_tenant):
    """The move (services.tenants._let_go) locks the users of the moved subtree, then revokes
    what the clients left above hold for them: a grant of one of those users either commits
    first or sees the new tree. A user created in the subtree meanwhile was not locked: its
    grant checked ``governs`` against the tree as it still was and committed a refresh token
    of the confidential client that the move's revocation no longer looked for, redeemed
    after the move at POST /token without the client's secret. Now a new user of a moved
    tenant waits for the move, and its grant then finds the client no longer serving it. The
    move is parked on the refresh token of a user already there (revoke_in locks it after
    the users)."""
    _, branch, secret = client_above_a_branch(api, admin_token, make_user, make_client)

    def grant(username):
        return requests.post(api.token_url(), auth=('backend', secret), timeout=30, data={
            'grant_type': 'password', 'username': username, 'password': 's3cret',
            'scope': 'offline_access'})
    assert grant('dave').status_code == 200
    with parked(engine, 'auth_refresh_token', 'client_id', 'backend'):
        moved = in_background(lambda: api.admin(
            'PUT', f'/tenants/{branch}/parent/{top_tenant}', admin_token))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        created = in_background(lambda: make_user('erin', 's3cret', tenant_uuid=branch))
        created['thread'].join(1)
        assert created['thread'].is_alive()  # the new user waits for the move
    assert finished(moved).status_code == 204
    finished(created)

    granted = grant('erin')

    # The client no longer serves erin: no token, no refresh token to redeem without secret.
    assert (granted.status_code, granted.json().get('error')) == (400, 'invalid_grant'), \
        granted.text
