"""Token verification for backend services that trust wazo-like-auth (Flask, flask-restful).

Two modes, one decorator (``required_acl``) and one refusal envelope:

- ``TokenVerifier`` (online, ``online.py``): asks the service for every token (opaque or JWT),
  with a short positive cache. A revoked token is refused at once (beyond ``cache_ttl``).
  Needs ``flask`` and ``requests``.
- ``JwtVerifier`` (offline, ``offline.py``): verifies RFC 9068 JWT access tokens with the
  issuer's published keys, with no call per request; optionally polls the revocation feed
  (``revocations.py``), so a revoked token is accepted until the next poll. Also needs
  ``joserfc`` (``pip install wazo-like-auth[verifier-jwt]``), imported only when a
  ``JwtVerifier`` is made.

The package imports nothing of the service but ``wazo_like_auth.acl`` (pure, standard library
only), so a backend does not need the service's dependencies (SQLAlchemy, bcrypt, ...).
"""
from __future__ import annotations

from .guard import AccessDenied, request_token, required_access
from .offline import JwtVerifier
from .online import DEFAULT_TIMEOUT, TokenVerifier

__all__ = ['AccessDenied', 'DEFAULT_TIMEOUT', 'JwtVerifier', 'TokenVerifier', 'request_token',
           'required_access']
