"""Token values (spec D2) and their at-rest forms (spec D3).

An access or refresh token is 128 bits from ``secrets`` written as 8-4-4-4-12 lower-case hex.
The version nibble is not forced, so all 128 bits are random (a UUIDv4 keeps only 122).
The database only ever sees ``token_digest(value)``; refresh tokens are additionally re-derivable
from their row id with the server secret, so a repeated offline login can answer the same value
without the value being stored anywhere.

An access token issued to a client with ``access_token_format: jwt`` is a signed JWT (RFC 9068)
instead, known to the database, like the others, by the SHA-256 of the whole string. A JWT is
case-sensitive and is kept as given.
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
# A compact JWS (RFC 7515 §7.1): three base64url segments. Ours are a few hundred characters;
# 16 KiB or more is refused before anything else is done with it.
MAX_JWT_LENGTH = 16 * 1024 - 1
_JWT_RE = re.compile(r'[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+')
# A JWT in a text (a path, a request line): its header starts with '{"', base64url "eyJ".
_JWT_FORM = re.compile(r'eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*')
# A query parameter (or form field) that carries a secret of another shape (an authorization
# or device code, a link token, a client secret: ``secrets.token_urlsafe``), in a logged
# request line: its whole value is replaced.
_SECRET_PARAM = re.compile(
    r'(?i)(?<![A-Za-z0-9_])((?:access_|refresh_|id_)?token(?:_hint)?|code(?:_verifier)?|'
    r'device_code|user_code|client_secret|(?:old_|new_)?password)=[^&\s"\']*')


def _format(raw: bytes) -> str:
    h = raw[:16].hex()
    return f'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}'


def new_token() -> str:
    """A fresh access-token value: 128 random bits in UUID form."""
    return _format(secrets.token_bytes(16))


def normalize_opaque(value: str) -> str | None:
    """The canonical (lower-case) form of an opaque token value (an access token in UUID
    form, or a refresh token), or None if it cannot be one."""
    if len(value) != 36:
        return None
    value = value.lower()
    return value if _TOKEN_RE.match(value) else None


def normalize(value: str) -> str | None:
    """The canonical form of an access-token value: an opaque token lower-cased, a JWT (JWS
    compact form, under 16 KiB) as given; None if it can be neither.

    Only the shape is checked: a JWT is looked up by the digest of the exact string, and only
    strings this service issued have a row, so a forged, tampered, re-signed or expired JWT is
    simply unknown, with no signature verified here (offline verifiers verify it)."""
    if len(value) == 36:
        return normalize_opaque(value)
    if len(value) > MAX_JWT_LENGTH or _JWT_RE.fullmatch(value) is None:
        return None
    return value


def is_jwt(value: str) -> bool:
    """Whether a normalized access-token value is a JWT."""
    return len(value) != 36


def token_digest(value: str) -> bytes:
    """What the database stores and looks tokens up by: SHA-256 of the canonical value."""
    return hashlib.sha256(value.encode('ascii')).digest()


def derive_refresh_token(secret: bytes, row_id: uuid.UUID, generation: int = 0) -> str:
    """The refresh-token value for a row: HMAC-SHA256(server secret, row id), in UUID form;
    after ``generation`` rotations, HMAC-SHA256(server secret, row id + generation)."""
    message = row_id.bytes + (generation.to_bytes(4, 'big') if generation else b'')
    return _format(hmac.new(secret, message, hashlib.sha256).digest())


def redact(value: str) -> str:
    """The only form of a token that may appear in a log line (wazo-auth's convention; for a
    JWT, the last 8 characters of its signature)."""
    return 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + value[-8:] if len(value) >= 8 else 'XXXXXXXX'


def redact_all(text: str) -> str:
    """``text`` (a path, a request line) with every part shaped like a token redacted, and
    the value of every query parameter that carries a secret (``code=``, ``token=``, ...).

    For logs of paths that may carry a token (``/token/{t}``). A token cannot be told from
    another UUID, so user or session uuids in the same text are shortened the same way: their
    last 8 characters stay, enough to tell them apart. JWTs are redacted the same way.
    """
    text = _SECRET_PARAM.sub(r'\1=XXXXXXXX', text)
    text = _JWT_FORM.sub(lambda m: redact(m.group()), text)
    return _TOKEN_FORM.sub(lambda m: redact(m.group()), text)


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode('utf-8')
    if isinstance(b, str):
        b = b.encode('utf-8')
    return hmac.compare_digest(a, b)
