"""The time of a failed login does not tell why it failed (spec D6).

An unknown login, a disabled user, a wrong password and an over-long password (over bcrypt's
72 bytes, never truncated) each spend exactly one bcrypt verification at the configured cost
(passwords.py verifies against a dummy hash when there is no usable hash). A skipped
verification would make a kind ~98 % faster; the bounds below catch that with room for noise.

The kinds are taken round-robin, and each login is compared with the mean of its own round
(paired samples): load on a shared machine slows a whole round alike, so it cancels out of the
ratios. Two clocks: the CPU time of this process (the test client runs the request in this
process, bcrypt on its hashing threads), which measures the work done, within 15 %; and the
wall-clock time an attacker sees, within 25 %, as it also carries scheduling noise. A batch of
rounds that misses a bound is measured again, up to MAX_BATCHES times: noise does not repeat,
a skipped verification (a kind ~98 % faster) fails every batch.

Marked ``timing``: the default run includes it; ``pytest -m timing`` runs it alone. Marked
``serial`` too: ``make test`` runs it after the parallel run, on a machine otherwise quiet.
"""
from __future__ import annotations

import statistics
import time

import pytest

from tests.support.apps import running_app
from tests.support.credentials import basic
from wazo_like_auth.passwords import PasswordHasher

ROUNDS = 10  # ~75 ms of CPU per verification: far above the rest of a login
SAMPLES = 15  # rounds per batch
MAX_BATCHES = 3
pytestmark = pytest.mark.serial
# Online-guessing throttling would answer 429, spending no bcrypt, long before the last sample.
UNTHROTTLED = {'login_failures_per_address': 100_000, 'login_failures_per_login': 100_000}


def failed_login(client, username: str, password: str) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds of one login that must fail with 401."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.post('/0.1/token', json={}, headers=basic(username, password))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 401, response.get_data()
    return wall, cpu


def paired_ratios(client, attempts: dict[str, tuple[str, str]]) -> tuple[dict, dict]:
    """Per kind, the median over SAMPLES rounds of its wall-clock and CPU time divided by the
    mean of its round."""
    wall: dict[str, list[float]] = {kind: [] for kind in attempts}
    cpu: dict[str, list[float]] = {kind: [] for kind in attempts}
    for _ in range(SAMPLES):
        times = {kind: failed_login(client, *credentials)
                 for kind, credentials in attempts.items()}
        for clock, ratios in enumerate((wall, cpu)):
            mean = statistics.mean(t[clock] for t in times.values())
            for kind, t in times.items():
                ratios[kind].append(t[clock] / mean)
    return ({kind: statistics.median(r) for kind, r in wall.items()},
            {kind: statistics.median(r) for kind, r in cpu.items()})


def spread(values: dict[str, float]) -> float:
    return (max(values.values()) - min(values.values())) / max(values.values())


def measure(client, attempts: dict[str, tuple[str, str]]) -> tuple[dict, dict]:
    """Paired ratios of the first batch within the bounds, else of the last batch."""
    for credentials in attempts.values():  # warm-up
        failed_login(client, *credentials)
    for _ in range(MAX_BATCHES):
        wall, cpu = paired_ratios(client, attempts)
        if spread(cpu) < 0.15 and spread(wall) < 0.25:
            break
    return wall, cpu


@pytest.mark.timing
def test_failed_logins_take_the_same_time_whatever_the_cause(make_user, make_config, db_uri,
                                                             engine):
    hasher = PasswordHasher(rounds=ROUNDS)
    make_user('alice', password_hash=hasher.hash('s3cret'))
    make_user('bob', password_hash=hasher.hash('s3cret'), enabled=False)
    attempts = {
        'unknown user': ('nobody', 's3cret'),
        'disabled user': ('bob', 's3cret'),
        'wrong password': ('alice', 'wrong'),
        'over-long password': ('alice', 's3cret' + 'x' * 80),
    }
    config = make_config(db_uri=db_uri, password_hash_rounds=ROUNDS, throttle=UNTHROTTLED)
    with running_app(config, engine) as app:
        client = app.test_client()
        # Every kind really runs bcrypt at cost 10 (the ratios alone would not see none does).
        assert min(failed_login(client, *c)[1] for c in attempts.values()) > 0.02
        wall, cpu = measure(client, attempts)
    assert spread(cpu) < 0.15, cpu
    assert spread(wall) < 0.25, wall
