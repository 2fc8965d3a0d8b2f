"""Review of round 5's server changes (tenant moves and deletes revoking what clients hold,
consent-free clients needing '#', device flow, pages' Retry-After, networks, config bounds):
each test failed on the code it was written against."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import requests

from tests.integration.test_client_delete_races import (finished, in_background, parked,
                                                        waiting_on_a_lock)
from tests.integration.test_review_lifecycle import exchanged_without_secret
from tests.support.apps import running_app
from tests.support.device_flow import Person, start
from tests.support.oidc import (REDIRECT, callback_params, realm,  # noqa: F401 (fixture)
                                register_client, submit)
from tests.support.polling import wait_until
from tests.support.tenant_trees import client_above_a_branch
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'v' * 50
ELSEWHERE = 'https://elsewhere.example.net/cb'


def _authorize(api, redirect_uri=REDIRECT, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': redirect_uri, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(query)


# -- a remembered consent makes a consenting client sign its user in silently -----------------

def test_a_lesser_admin_cannot_send_a_consented_users_code_to_a_new_redirect_uri(
        api, admin_token, make_user, realm):
    """A client with require_consent asks once, then remembers the answer
    (services.oidc_clients.needs_consent): for a user who consented, it signs in without a
    page, as a consent-free client does. Giving a consent-free client a new redirect URI needs
    '#' (README, round 5); giving one to a consenting client does not, so an administrator
    holding auth.# adds its own URI and receives, with no page shown, the code of the
    privileged user who consented to the operator's application, then exchanges it (public
    client, its own PKCE verifier) for that user's token."""
    make_user('boss', 's3cret', acl=['#'], tenant_uuid=realm['uuid'])
    make_user('acme-admin', 's3cret', acl=['auth.#'], tenant_uuid=realm['uuid'])
    created = register_client(api, admin_token, realm['uuid'], public=True,
                              require_consent=True)
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    page = submit(browser, page, username='boss', password='s3cret')
    assert 'code' in callback_params(submit(browser, page, button='approve'))

    lesser = api.login('acme-admin', 's3cret')
    body = {key: created[key] for key in ('client_id', 'name', 'grant_types',
                                          'post_logout_redirect_uris', 'require_consent')}
    api.admin('PUT', f"/clients/{created['uuid']}", lesser,
              json={**body, 'redirect_uris': [REDIRECT, ELSEWHERE]})

    answer = browser.get(_authorize(api, redirect_uri=ELSEWHERE), timeout=10,
                         allow_redirects=False)

    location = answer.headers.get('Location', '')
    assert not (answer.status_code == 302 and location.startswith(ELSEWHERE)
                and 'code=' in urlsplit(location).query), location


# -- a grant in flight during a move --------------------------------------------------------

def test_a_password_grant_in_flight_during_a_move_leaves_no_secretless_refresh_token(
        api, engine, make_user, make_client, admin_token, top_tenant):
    """A move revokes what the clients of the tenants no longer above the moved tenant hold
    for its users (services.tenants._let_go), so that a confidential client's refresh token
    is not exchanged without its secret at POST /token. A password grant that checked
    ``governs`` before the move and commits after it is not seen: the move takes no lock a
    grant holds (the client is held by grants, locked for update only by DELETE /clients).
    Parked on its session's insert (the tenant row's key lock, after ``governs`` passed), the
    grant's refresh token is uncommitted while _let_go looks, and is left to the moved user,
    redeemable with no secret at POST /token."""
    _, branch, client_secret = client_above_a_branch(api, admin_token, make_user, make_client)
    form = {'grant_type': 'password', 'username': 'dave', 'password': 's3cret',
            'scope': 'offline_access'}
    with parked(engine, 'tenant', 'uuid', branch):
        grant = in_background(lambda: requests.post(
            api.token_url(), data=form, auth=('backend', client_secret), timeout=30))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        moved = in_background(lambda: api.admin(
            'PUT', f'/tenants/{branch}/parent/{top_tenant}', admin_token))
        moved['thread'].join(1)
    assert finished(moved).status_code == 204
    granted = finished(grant)
    assert granted.status_code == 200, granted.text

    exchanged = exchanged_without_secret(api, granted.json()['refresh_token'])

    assert exchanged.status_code == 401, exchanged.text


# -- networks.within: an IPv4-mapped network an operator configured -------------------------

def test_an_ipv4_mapped_network_configured_for_a_dual_stack_listener_still_matches(
        make_config, db_uri, engine):
    """Behind a service listening on `::`, an IPv4 scraper is seen as ::ffff:a.b.c.d; before
    round 5, the way to allow it was a network of that form (``::ffff:10.0.0.0/104``), which
    ``ipaddress`` accepts and the configuration check lets through. networks.within now
    compares such an address as its IPv4 address only, so the network the operator wrote
    matches nothing any more: the scraper gets 403 (and a trusted_networks entry of that form
    is throttled) after an upgrade, with no word of it at start-up."""
    config = make_config(db_uri=db_uri, metrics={'allowed_networks': ['::ffff:10.0.0.0/104']})
    with running_app(config, engine) as app:
        answer = app.test_client().get('/metrics',
                                       environ_base={'REMOTE_ADDR': '::ffff:10.1.2.3'})

    assert answer.status_code == 200, answer.get_json()


# -- the device page throttled on wrong user codes ---------------------------------------------

def test_a_device_page_throttled_on_wrong_user_codes_says_when_to_retry(api, make_client,
                                                                        make_user):
    """Round 5 made a throttled verification page answer Retry-After and say the wait
    (http/pages.py with_retry_after, throttled_message). The page's other throttle, wrong user
    codes per address (oauth2.device_max_failures per device_failure_window,
    DeviceFlow._pending), still raises VerificationFailed('throttled', 429) with no wait:
    429 with no Retry-After, and "wait a few minutes" whatever is left of the window."""
    make_client('tv', public=True, name='Living room TV')
    make_user('alice', 's3cret')
    started, person = start(api), Person()
    for _ in range(10):  # device_max_failures
        wrong = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret',
                               user_code='BCDF-GHJK')
        assert wrong.status_code == 400

    refused = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')

    assert refused.status_code == 429 and 'Too many failed attempts' in refused.text
    assert 0 < int(refused.headers.get('Retry-After', 0)) <= 600
