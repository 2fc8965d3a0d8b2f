"""GET /metrics: Prometheus text format whose counters follow the traffic."""
from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from tests.support.credentials import basic


def _samples(client) -> dict[tuple, float]:
    response = client.get('/metrics')
    assert response.status_code == 200
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_with_logins_checks_and_revocations(client, make_user):
    make_user(acl=['confd.#'])
    before = _samples(client)
    token = client.post('/0.1/token', json={}, headers=basic('alice', 's3cret')) \
        .get_json()['data']['token']
    client.post('/0.1/token', json={}, headers=basic('alice', 'wrong'))
    client.head(f'/0.1/token/{token}')
    client.head(f'/0.1/token/{token}?scope=other')
    client.head(f'/0.1/token/{uuid.uuid4()}')
    client.delete(f'/0.1/token/{token}')
    after = _samples(client)

    def moved(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)
    assert moved('wazo_auth_logins_total', outcome='ok', kind='password') == 1
    assert moved('wazo_auth_logins_total', outcome='failed', kind='password') == 1
    assert moved('wazo_auth_token_checks_total', result='204') == 1
    assert moved('wazo_auth_token_checks_total', result='403') == 1
    assert moved('wazo_auth_token_checks_total', result='404') == 1
    assert moved('wazo_auth_revocations_total', route='/token/<token>') == 1
    assert moved('wazo_auth_request_duration_seconds_count',
                 method='HEAD', route='/token/<token>') == 3


def test_metrics_are_refused_outside_the_allowed_networks(client):
    response = client.get('/metrics', environ_base={'REMOTE_ADDR': '203.0.113.9'})
    assert response.status_code == 403
    assert response.get_json()['error_id'] == 'forbidden'


def test_metrics_are_open_to_loopback_through_a_dual_stack_listener(client):
    """A scraper on 127.0.0.1 seen by a service listening on `::` (an IPv4-mapped address)
    is in the allowed loopback network; another IPv4 client that way is not."""
    loopback = client.get('/metrics', environ_base={'REMOTE_ADDR': '::ffff:127.0.0.1'})
    outside = client.get('/metrics', environ_base={'REMOTE_ADDR': '::ffff:203.0.113.9'})
    assert (loopback.status_code, outside.status_code) == (200, 403)


def test_a_cached_check_answered_by_the_full_path_counts_one_cache_hit(client, make_user, clock):
    make_user(acl=['confd.#'])
    token = client.post('/0.1/token', json={'expiration': 600},
                        headers=basic('alice', 's3cret')).get_json()['data']['token']
    assert client.head(f'/0.1/token/{token}').status_code == 204  # cached now
    hits = 'wazo_auth_validation_cache_hits_total'
    before = _value(_samples(client), hits)
    # A refused scope: the fast path finds the row but leaves the answer to the full check.
    assert client.head(f'/0.1/token/{token}?scope=auth.tenants.read').status_code == 403
    clock.advance(601)  # expired: the same, with a 404
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert _value(_samples(client), hits) - before == 2  # one each (4 before)
