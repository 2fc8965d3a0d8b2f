"""Request parameters of the OAuth 2.0 endpoints (RFC 6749 §3.1, §3.2)."""
from __future__ import annotations

from collections.abc import Mapping

from .errors import InvalidRequest


def required(form: Mapping[str, str], name: str) -> str:
    """The value of parameter ``name``; InvalidRequest when it is missing or empty."""
    value = form.get(name)
    if not value:
        raise InvalidRequest(f'Missing parameter: {name}')
    return value
