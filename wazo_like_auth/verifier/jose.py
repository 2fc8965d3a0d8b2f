"""The JOSE library of the JWT mode (joserfc), imported on first use so that the online mode
works where it is not installed (``pip install wazo-like-auth[verifier-jwt]`` brings it).

Only asymmetric signature algorithms are ever allowed: a key is used with the one algorithm its
JWK announces (``alg``), or, when it announces none, the one its type implies. ``none`` and
the HMAC algorithms (``HS*``) are never in the list, so a token signed with the public key as
an HMAC secret cannot verify.
"""
from __future__ import annotations

from types import ModuleType

ASYMMETRIC = frozenset({'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
                        'ES256', 'ES384', 'ES512', 'EdDSA'})
# The one algorithm a JWK without ``alg`` may be used with, by (kty, crv).
_IMPLIED = {('RSA', None): 'RS256', ('EC', 'P-256'): 'ES256', ('EC', 'P-384'): 'ES384',
            ('EC', 'P-521'): 'ES512', ('OKP', 'Ed25519'): 'EdDSA'}
_MISSING = ('the JWT mode of wazo_like_auth.verifier needs joserfc: '
            'pip install "wazo-like-auth[verifier-jwt]"')


def load() -> tuple[ModuleType, ModuleType, ModuleType]:
    """joserfc's ``jwk``, ``jws`` and ``errors`` modules; ImportError saying what to install."""
    try:
        from joserfc import errors, jwk, jws
    except ImportError as error:
        raise ImportError(_MISSING) from error
    return jwk, jws, errors


def is_asymmetric(alg: object) -> bool:
    """Whether ``alg`` (any JSON value of a header or JWK) names an allowed algorithm."""
    return isinstance(alg, str) and alg in ASYMMETRIC  # a list or object is unhashable


def algorithm_of(jwk: dict) -> str | None:
    """The algorithm a published key may verify, or None when it may verify nothing here."""
    alg = jwk.get('alg')
    if alg is None:
        kty, crv = jwk.get('kty'), jwk.get('crv')
        if isinstance(kty, str) and (crv is None or isinstance(crv, str)):
            alg = _IMPLIED.get((kty, crv))
    return alg if is_asymmetric(alg) else None
