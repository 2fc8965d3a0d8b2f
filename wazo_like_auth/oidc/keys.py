"""JWS signing keys: generation (RS256 by default, ES256), the public JWKS, and the private
part's encryption at rest. Free of I/O; joserfc does every JOSE encoding.

The private JWK is encrypted with AES-256-GCM under a key derived from ``token_secret`` with
HKDF-SHA256 and a label of its own (key separation: the raw secret also derives refresh
tokens). The key id is the authenticated data, so a ciphertext moved onto another row fails
to decrypt. Rotating ``token_secret`` makes stored keys unreadable: they are then skipped and
a new key is made (tokens they signed fail validation, as refresh tokens do).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey, KeySet, RSAKey

ALGORITHMS = ('RS256', 'ES256')
# How long a verifier or HTTP cache may keep the JWK Set of ``certs`` (its Cache-Control):
# a rotated key is published this long before it signs.
CERTS_MAX_AGE = 300
DEFAULT_ALGORITHM = 'RS256'
_LABEL = b'wazo-like-auth oidc signing-key encryption v1'
_NONCE_BYTES = 12


class UnreadableKey(Exception):
    """The stored private key does not decrypt with the current secret."""


@dataclass(frozen=True)
class NewKey:
    """A generated key, in its stored forms."""
    kid: str
    alg: str
    public_jwk: dict
    private_ciphertext: bytes


def encryption_key(token_secret: bytes) -> bytes:
    """The AES-256 key protecting private JWKs, derived from the server secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL) \
        .derive(token_secret)


def generate(alg: str, key: bytes) -> NewKey:
    """A fresh signing key for ``alg`` (RS256: RSA 2048; ES256: P-256)."""
    if alg not in ALGORITHMS:
        raise ValueError(f'unsupported algorithm {alg}; supported: {", ".join(ALGORITHMS)}')
    jwk = RSAKey.generate_key(2048) if alg == 'RS256' else ECKey.generate_key('P-256')
    kid = jwk.thumbprint()
    public = {**jwk.as_dict(private=False), 'kid': kid, 'alg': alg, 'use': 'sig'}
    private = json.dumps(jwk.as_dict(private=True)).encode()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = nonce + AESGCM(key).encrypt(nonce, private, kid.encode())
    return NewKey(kid=kid, alg=alg, public_jwk=public, private_ciphertext=sealed)


def private_key(kid: str, ciphertext: bytes, key: bytes) -> RSAKey | ECKey:
    """The joserfc private key of a stored row; raises UnreadableKey."""
    nonce, sealed = ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:]
    try:
        data = json.loads(AESGCM(key).decrypt(nonce, sealed, kid.encode()))
    except (InvalidTag, ValueError):
        raise UnreadableKey(kid) from None
    data.update(kid=kid)
    return KeySet.import_key_set({'keys': [data]}).keys[0]


def jwks(public_jwks: list[dict]) -> dict:
    """The JWK Set document of ``certs`` (RFC 7517 §5), public members only."""
    return KeySet.import_key_set({'keys': public_jwks}).as_dict(private=False)
