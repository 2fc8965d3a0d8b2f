"""Edges of the token API and its neighbours: pages of lists sorted on a column with ties, a
refresh-token login naming another backend, the unknown-token budget of an IPv6 client."""
from __future__ import annotations

import uuid

import pytest

from tests.integration.test_security_review_throttles import throttled_app  # noqa: F401
from tests.support.offline_access import (
    assert_error, auth, offline_login, refresh_token_of, token_of)


@pytest.fixture
def admin(client, make_user):
    make_user('admin', acl=['auth.#'])
    return auth(token_of(client, 'admin'))


def _pages(client, headers, path: str, key, size: int = 5) -> list:
    """Every item of ``path`` read page by page (limit/offset), in the order served."""
    total = client.get(path, headers=headers).get_json()['total']
    items = []
    for offset in range(0, total, size):
        page = client.get(f'{path}&limit={size}&offset={offset}', headers=headers)
        assert page.status_code == 200, page.get_json()
        items += [key(item) for item in page.get_json()['items']]
    return items


def test_paging_sessions_ordered_by_mobile_shows_each_session_once(client, admin, make_user):
    for i in range(4):
        make_user(f'user{i}')
        for _ in range(8):
            token_of(client, f'user{i}')
    everyone = [s['uuid'] for s in client.get('/0.1/sessions', headers=admin).get_json()['items']]

    paged = _pages(client, admin, '/0.1/sessions?order=mobile', key=lambda s: s['uuid'])

    # order=mobile ties on nearly every row: without a unique tie-breaker PostgreSQL returns
    # the rows of equal keys in another order for each LIMIT/OFFSET, so pages overlap.
    assert sorted(paged) == sorted(everyone)


@pytest.mark.parametrize('order', ['mobile', 'client_id'])
def test_paging_refresh_tokens_by_a_non_unique_column_shows_each_once(client, admin, make_user,
                                                                      order):
    for i in range(4):
        make_user(f'user{i}')
        for j in range(8):
            assert offline_login(client, f'user{i}', f'app{j}').status_code == 200
    everyone = [(t['user_uuid'], t['client_id'])
                for t in client.get('/0.1/tokens', headers=admin).get_json()['items']]

    paged = _pages(client, admin, f'/0.1/tokens?order={order}',
                   key=lambda t: (t['user_uuid'], t['client_id']))

    assert sorted(paged) == sorted(everyone)


def test_refresh_token_login_with_another_backend_fails(client, make_user):
    """README and api.yml: a `backend` other than `wazo_user` fails the login (spec D7);
    the password path refuses it, the refresh-token path did not look."""
    make_user('alice')
    refresh = refresh_token_of(client, 'alice', 'my-app')

    response = client.post('/0.1/token', json={'refresh_token': refresh, 'client_id': 'my-app',
                                               'backend': 'ldap_user'})

    assert_error(response, 401, 'authentication-failed')


ATTACKER_NET = '2001:db8:66:1::'


def test_unknown_token_checks_from_one_ipv6_network_share_a_budget(throttled_app):  # noqa: F811
    """The unknown-token budget counted exact addresses: a scanner holding a /64 (as every
    IPv6 client does) took a fresh address per guess and was never refused, while the
    login and refresh budgets count that /64 as one client."""
    app = throttled_app(unknown_token_checks_per_minute=3, trusted_networks=[])
    statuses = [app.test_client().head(f'/0.1/token/{uuid.uuid4()}',
                                       environ_base={'REMOTE_ADDR': f'{ATTACKER_NET}{host:x}'})
                .status_code for host in range(1, 7)]

    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429, 429]
