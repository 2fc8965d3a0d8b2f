"""Slugs derived from names (admin spec §3.3, §4.2), free of I/O: callers say what is taken."""
from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable

POLICY_SLUG_RE = r'^[a-zA-Z0-9_-]+\Z'  # \Z: a trailing newline is not a slug
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
_RANDOM_TRIES = 20


def derive(name: str | None, is_free: Callable[[str], bool], *, max_length: int = 80,
           forbidden: str = r'[^a-zA-Z0-9_-]') -> str:
    """``name`` without its ``forbidden`` characters, cut to ``max_length``, when that is free;
    otherwise random lower-case letters and digits (3 of them, more if 3 keep colliding).

    Never returns an empty slug.
    """
    candidate = re.sub(forbidden, '', name or '')[:max_length]
    if candidate and is_free(candidate):
        return candidate
    length = 3
    while True:
        for _ in range(_RANDOM_TRIES):
            candidate = ''.join(secrets.choice(_RANDOM_ALPHABET) for _ in range(length))
            if is_free(candidate):
                return candidate
        if length >= max_length:
            raise RuntimeError('no free slug found')
        length += 1
