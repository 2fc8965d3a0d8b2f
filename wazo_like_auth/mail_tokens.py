"""Values of the tokens sent by mail (password reset, e-mail confirmation).

A mail token is 256 bits: HMAC-SHA256(mail key, row uuid), written base64url without padding
(43 characters). The mail key is derived from the server secret for this use only, so a mail
token never equals any other kind of token, and the mail outbox can carry the row uuid instead
of the value: the database never holds a usable token (spec D3). Tokens are looked up by the
SHA-256 of their value. The different shape (not UUID form) keeps them out of the access-token
paths: presented as an access token anywhere else, a mail token is simply unknown.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

_VALUE_RE = re.compile(r'^[A-Za-z0-9_-]{43}$')


def mail_key(server_secret: bytes) -> bytes:
    return hmac.new(server_secret, b'wazo-like-auth mail tokens', hashlib.sha256).digest()


def derive(key: bytes, token_uuid: uuid.UUID) -> str:
    raw = hmac.new(key, token_uuid.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def digest(value: str) -> bytes | None:
    """What the database stores; None when ``value`` cannot be a mail token."""
    if len(value) != 43 or not _VALUE_RE.match(value):
        return None
    return hashlib.sha256(value.encode('ascii')).digest()


def password_fingerprint(password_hash: str | None) -> bytes:
    """What a reset token remembers of the password it was issued against."""
    return hashlib.sha256((password_hash or '').encode('utf-8')).digest()
