"""Review of the brute-force protection and the login paths (round 4): what the login
throttle, the unknown-token budget and the pages answer to an attacker and to an operator."""
from __future__ import annotations

import uuid

import requests

from tests.integration.test_review_oidc import _authorize
from tests.support.device_flow import Person, start
from tests.integration.test_security_review_throttles import throttled_app  # noqa: F401
from tests.support.oidc import realm, register_client, submit  # noqa: F401

# What a backend service on 127.0.0.1 is to a service listening on `::` (rest_api.listen, a
# documented value): Linux sockets on `::` are dual-stack, and granian gives the IPv4 peer as
# an IPv4-mapped IPv6 address.
LOOPBACK_ON_DUAL_STACK = '::ffff:127.0.0.1'


def test_loopback_through_a_dual_stack_listener_is_a_trusted_network(throttled_app):
    """trusted_networks (loopback by default) are never throttled on token checks; the
    backend services' unknown tokens counted and refused with 429 once over budget."""
    app = throttled_app(unknown_token_checks_per_minute=3)
    client = app.test_client()
    answers = [client.head(f'/0.1/token/{uuid.uuid4()}',
                           environ_base={'REMOTE_ADDR': LOOPBACK_ON_DUAL_STACK}).status_code
               for _ in range(6)]

    assert answers == [404] * 6


def test_a_throttled_sign_in_page_says_when_to_retry(api, admin_token, make_user, realm):
    """The sign-in page goes through the login throttle of POST /token, whose 429 carries
    Retry-After (README, Security: Online guessing)."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    for _ in range(5):
        page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
        assert submit(browser, page, username='alice', password='guess').status_code == 401

    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    refused = submit(browser, page, username='alice', password='s3cret')

    assert refused.status_code == 429 and 'Too many failed attempts' in refused.text
    assert 0 < int(refused.headers.get('Retry-After', 0)) <= 900


def test_a_throttled_device_verification_page_says_when_to_retry(api, make_client, make_user):
    """Its wrong passwords go through the same login throttle: the same 429 with Retry-After."""
    make_client('tv', public=True, name='Living room TV')
    make_user('alice', 's3cret')
    started, person = start(api), Person()
    for _ in range(5):
        wrong = person.sign_in(started['verification_uri_complete'], 'alice', 'guess')
        assert wrong.status_code == 401

    refused = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')

    assert refused.status_code == 429 and 'Too many failed attempts' in refused.text
    assert 0 < int(refused.headers.get('Retry-After', 0)) <= 900

