"""The login throttle counts an IPv6 client by its /64, as the device flow and the mail budgets
do: a client holds its whole /64 (SLAAC privacy addresses change daily) and changes addresses
inside it for free."""
from __future__ import annotations

import pytest

from tests.integration.test_security_review_throttles import throttled_app  # noqa: F401
from tests.support.credentials import basic

ATTACKER_NET = '2001:db8:66:1::'
HOME_NET = '2001:db8:77:2::'


def _login(app, address, password, login='alice'):
    return app.test_client().post('/0.1/token', json={}, headers=basic(login, password),
                                  environ_base={'REMOTE_ADDR': address})


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def test_guesses_from_one_ipv6_network_share_the_per_address_budget(throttled_app, alice):
    app = throttled_app(login_failures_per_address=3, login_failures_per_login=100)
    for host in range(1, 4):
        assert _login(app, f'{ATTACKER_NET}{host}', 'guess').status_code == 401

    refused = _login(app, f'{ATTACKER_NET}ffff:4', 's3cret')

    assert refused.status_code == 429 and int(refused.headers['Retry-After']) > 0
    assert _login(app, '2001:db8:66:2::1', 's3cret').status_code == 200  # the next /64


def test_a_person_whose_privacy_address_changed_is_still_known(throttled_app, alice):
    """Under a distributed attack only known addresses may try: the person's network is
    known, though the address inside it is new (a privacy address of the next day)."""
    app = throttled_app(login_failures_per_login=4)
    assert _login(app, f'{HOME_NET}a:1', 's3cret').status_code == 200
    for host in range(1, 5):
        assert _login(app, f'198.51.100.{host}', 'guess').status_code == 401
    assert _login(app, '198.51.100.200', 's3cret').status_code == 429

    assert _login(app, f'{HOME_NET}b:2', 's3cret').status_code == 200


def test_refresh_token_guesses_from_one_ipv6_network_share_a_budget(throttled_app):
    app = throttled_app(refresh_failures_per_address=3)
    body = {'refresh_token': 'a2f1a0c0-0000-4000-8000-000000000000', 'client_id': 'x'}
    answers = [app.test_client().post('/0.1/token', json=body, headers=basic('', ''),
                                      environ_base={'REMOTE_ADDR': f'{ATTACKER_NET}{host}'})
               .status_code for host in range(1, 6)]

    assert answers[:3] == [401, 401, 401] and answers[3:] == [429, 429]
