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

Either mode can also follow the service's bus (``push=PushRevocation(...)``, ``push.py``): on
``auth_session_deleted`` the online mode drops the session's cached answers and the JWT mode
refuses the session's tokens, at once; while the bus is unreachable each falls back to its
behaviour above. Needs py-amqp (``pip install wazo-like-auth[verifier-push]``), imported only
when a verifier is made with ``push``.

The package imports nothing of the service but ``wazo_like_auth.acl`` (pure, standard library
only), so a backend does not need the service's dependencies (SQLAlchemy, bcrypt, ...).
"""
from __future__ import annotations

from .guard import AccessDenied, request_token, required_access
from .offline import JwtVerifier
from .online import DEFAULT_TIMEOUT, TokenVerifier
from .push import PushRevocation

__all__ = ['AccessDenied', 'DEFAULT_TIMEOUT', 'JwtVerifier', 'PushRevocation', 'TokenVerifier',
           'request_token', 'required_access']
