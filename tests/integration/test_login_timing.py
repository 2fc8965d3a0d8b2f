"""The time of a failed login does not tell why it failed (spec D6).

An unknown login, a disabled user, a wrong password and an over-long password (over bcrypt's
72 bytes, never truncated) each spend exactly one bcrypt verification at the configured cost
(passwords.py verifies against a dummy hash when there is no usable hash). A skipped
verification would make a kind ~98 % faster; the bounds below catch that with room for noise.

The kinds are taken round-robin and compared by medians, so load on the machine affects them
alike. Two clocks: the CPU time of this process (the test client runs the request in this
process, bcrypt on its hashing threads), which measures the work done and is immune to
scheduling, within 15 %; and the
wall-clock time an attacker sees, within 25 %, as it also carries the scheduling noise of a
loaded test machine.
"""
from __future__ import annotations

import statistics
import time

from tests.integration.apps import running_app
from tests.integration.conftest import basic
from wazo_like_auth.passwords import PasswordHasher

ROUNDS = 10  # ~75 ms of CPU per verification: far above the rest of a login
SAMPLES = 15
# Online-guessing throttling would answer 429, spending no bcrypt, long before the last sample.
UNTHROTTLED = {'login_failures_per_address': 100_000, 'login_failures_per_login': 100_000}


def failed_login(client, username: str, password: str) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds of one login that must fail with 401."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.post('/0.1/token', json={}, headers=basic(username, password))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 401, response.get_data()
    return wall, cpu


def medians(client, attempts: dict[str, tuple[str, str]]) -> tuple[dict, dict]:
    """Median wall-clock and CPU time per kind, after one warm-up round."""
    for username, password in attempts.values():
        failed_login(client, username, password)
    samples: dict[str, list[tuple[float, float]]] = {kind: [] for kind in attempts}
    for _ in range(SAMPLES):
        for kind, (username, password) in attempts.items():
            samples[kind].append(failed_login(client, username, password))
    wall = {kind: statistics.median(s[0] for s in values) for kind, values in samples.items()}
    cpu = {kind: statistics.median(s[1] for s in values) for kind, values in samples.items()}
    return wall, cpu


def spread(values: dict[str, float]) -> float:
    return (max(values.values()) - min(values.values())) / max(values.values())


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
        wall, cpu = medians(app.test_client(), attempts)
    assert min(cpu.values()) > 0.02, cpu  # every kind really ran bcrypt at cost 10
    assert spread(cpu) < 0.15, cpu
    assert spread(wall) < 0.25, wall
