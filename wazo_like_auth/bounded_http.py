"""HTTP answers read whole within a deadline.

``requests``' read timeout bounds each wait for the next bytes, not the whole answer: a server,
or a proxy before it, that sends one byte a second keeps a plain ``get`` for ever. Whoever
must give up in time (the offline verifier's key set and revocation feed fetches, the client
library's calls to the service) asks with ``stream=True`` and reads the body here.
"""
from __future__ import annotations

import time
from typing import Any

_CHUNK = 16 * 1024


class FetchFailed(Exception):
    """The answer did not arrive whole in time, was too large, or broke off; the message says
    which (no value of the answer)."""


def budget(timeout: Any) -> float:
    """The whole time a request may take: its connect + read timeouts (requests'
    ``timeout``, one number or a pair); infinite when the caller asked for no limit."""
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if any(part is None for part in parts):
        return float('inf')
    return float(sum(parts))


def body_of(response: Any, deadline: float, max_bytes: int) -> bytes:
    """The (decoded) body of a ``requests`` response made with ``stream=True``, at most
    ``max_bytes``, read by short reads that each return what has arrived (``read1``), until
    ``deadline`` (a ``time.monotonic()`` value); raises FetchFailed."""
    raw = response.raw
    read = getattr(raw, 'read1', None) or raw.read  # read1: urllib3 2.3 and later
    body = bytearray()
    while True:
        try:
            chunk = read(_CHUNK, decode_content=True)
        except Exception as error:  # noqa: BLE001 - urllib3's (timeout, reset, bad encoding)
            raise FetchFailed(type(error).__name__) from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FetchFailed(f'over {max_bytes} bytes')
        if time.monotonic() > deadline:
            raise FetchFailed('too slow')
