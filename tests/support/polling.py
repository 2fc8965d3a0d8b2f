"""The one polling loop of the tests."""
from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01):
    """Call ``predicate`` until it returns a true value, and return that value; after
    ``timeout`` seconds, return its last (false) value."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)
    return value
