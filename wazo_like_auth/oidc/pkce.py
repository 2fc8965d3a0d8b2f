"""Proof Key for Code Exchange (RFC 7636). Only ``S256`` is accepted: ``plain`` gives no
protection against a code intercepted with its challenge (§7.2), and OAuth 2.1 drops it."""
from __future__ import annotations

import hashlib
import hmac
import re

from joserfc.util import urlsafe_b64encode

S256 = 'S256'
# §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER_RE = re.compile(r'^[A-Za-z0-9._~-]{43,128}\Z')
# A S256 challenge is the unpadded base64url of 32 bytes: 43 characters.
_CHALLENGE_RE = re.compile(r'^[A-Za-z0-9_-]{43}\Z')


def challenge_error(challenge: str | None, method: str | None) -> str | None:
    """Why an authorization request's PKCE parameters are refused, or None."""
    if challenge is None:
        return 'code_challenge is required' if method else None
    if (method or 'plain') != S256:
        return 'code_challenge_method must be S256'
    if not _CHALLENGE_RE.match(challenge):
        return 'code_challenge must be the base64url SHA-256 of the verifier (43 characters)'
    return None


def s256(verifier: str) -> str:
    """The S256 challenge of a verifier (§4.2)."""
    return urlsafe_b64encode(hashlib.sha256(verifier.encode('ascii')).digest()).decode()


def verifies(verifier: str | None, challenge: str) -> bool:
    """Whether ``verifier`` matches the S256 ``challenge`` (constant time)."""
    if not verifier or not _VERIFIER_RE.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
