"""RFC 9068 JWT access tokens for the verifier's tests, minted as the service issues them for
its ``jwt`` clients (issue 16): the service's own active signing key (read through its
SigningKeyService, so the kid is the one its ``certs`` publish), header ``typ: at+jwt`` and
``kid``, claims ``iss``, ``sub``, ``aud``, ``client_id``, ``exp``, ``iat``, ``jti``, ``scope``,
``tenant_uuid``, ``session_uuid`` and ``acl`` when given.

Also the forgeries of the issue's bad-input list, built by hand (a JOSE library refuses to
make most of them): ``alg: none``, HS256 keyed with the public key, a tampered payload.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

from joserfc import jwt


def b64(data: bytes | dict) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(',', ':')).encode()
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def claims(issuer: str, audience: str, *, sub: str | None = None, scope: str = '',
           acl: list[str] | None = None, lifetime: int = 300, now: float | None = None,
           **extra) -> dict:
    """The claims of an access token of ``issuer`` for ``audience``."""
    now = int(time.time() if now is None else now)
    body = {'iss': issuer, 'sub': sub or str(uuid.uuid4()), 'aud': [audience],
            'client_id': 'backend-client', 'exp': now + lifetime, 'iat': now,
            'jti': secrets.token_urlsafe(16), 'scope': scope,
            'tenant_uuid': str(uuid.uuid4()), 'session_uuid': str(uuid.uuid4())}
    if acl is not None:
        body['acl'] = acl
    return {**body, **extra}


def mint(signing_key, body: dict, **header) -> str:
    """``body`` signed by ``signing_key`` (an ActiveKey of the service), as the service
    signs; ``header`` entries override the standard ones."""
    protected = {'alg': signing_key.alg, 'kid': signing_key.kid, 'typ': 'at+jwt', **header}
    protected = {name: value for name, value in protected.items() if value is not None}
    return jwt.encode(protected, body, signing_key.key, algorithms=[protected['alg']])


def unsigned(body: dict, kid: str) -> str:
    """``alg: none``, no signature."""
    return f"{b64({'alg': 'none', 'kid': kid, 'typ': 'at+jwt'})}.{b64(body)}."


def hmac_with_public_key(signing_key, body: dict) -> str:
    """HS256 keyed with the PEM of the service's public key (the algorithm confusion attack)."""
    secret = signing_key.key.as_pem(private=False)
    signing_input = f"{b64({'alg': 'HS256', 'kid': signing_key.kid, 'typ': 'at+jwt'})}." \
                    f"{b64(body)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f'{signing_input}.{b64(mac)}'


def tampered(token: str, **changes) -> str:
    """``token`` with its payload changed and its signature kept."""
    header, payload, signature = token.split('.')
    body = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
    return f'{header}.{b64({**body, **changes})}.{signature}'
