"""Token values (spec D2) and their at-rest forms (spec D3).

An access or refresh token is 128 bits from ``secrets`` written as 8-4-4-4-12 lower-case hex.
The version nibble is not forced, so all 128 bits are random (a UUIDv4 keeps only 122).
The database only ever sees ``token_digest(value)``; refresh tokens are additionally re-derivable
from their row id with the server secret, so a repeated offline login can answer the same value
without the value being stored anywhere.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

_TOKEN_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
# A token anywhere in a text, in either case (token paths are matched case-insensitively).
_TOKEN_FORM = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                         r'[0-9a-fA-F]{12}')


def _format(raw: bytes) -> str:
    h = raw[:16].hex()
    return f'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}'


def new_token() -> str:
    """A fresh access-token value: 128 random bits in UUID form."""
    return _format(secrets.token_bytes(16))


def normalize(value: str) -> str | None:
    """The canonical (lower-case) form of a token value, or None if it cannot be a token."""
    if len(value) != 36:
        return None
    value = value.lower()
    return value if _TOKEN_RE.match(value) else None


def token_digest(value: str) -> bytes:
    """What the database stores and looks tokens up by: SHA-256 of the canonical value."""
    return hashlib.sha256(value.encode('ascii')).digest()


def derive_refresh_token(secret: bytes, row_id: uuid.UUID) -> str:
    """The refresh-token value for a row: HMAC-SHA256(server secret, row id), in UUID form."""
    return _format(hmac.new(secret, row_id.bytes, hashlib.sha256).digest())


def redact(value: str) -> str:
    """The only form of a token that may appear in a log line (wazo-auth's convention)."""
    return 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + value[-8:] if len(value) >= 8 else 'XXXXXXXX'


def redact_all(text: str) -> str:
    """``text`` (a path, a request line) with every part shaped like a token redacted.

    For logs of paths that may carry a token (``/token/{t}``). A token cannot be told from
    another UUID, so user or session uuids in the same text are shortened the same way: their
    last 8 characters stay, enough to tell them apart.
    """
    return _TOKEN_FORM.sub(lambda m: redact(m.group()), text)


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode('utf-8')
    if isinstance(b, str):
        b = b.encode('utf-8')
    return hmac.compare_digest(a, b)
