"""The JWT-mode verifier's offline verifications per second on one core (issue 16).

Standalone, in the bench process: a signing key made by the service's own key code
(``wazo_like_auth.oidc.keys``, RS256 by default as the service), its JWK Set served on
127.0.0.1 with the service's Cache-Control, RFC 9068 access tokens signed with it as the
service issues them, then ``JwtVerifier.verify`` (signature, claims and the ACL match, the
decorator's whole work but the HTTP) called in one thread for ``duration`` seconds. The rate is
the verifications divided by that thread's CPU seconds: what one core does, whatever else runs.
"""
from __future__ import annotations

import importlib.metadata
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt

from wazo_like_auth.oidc import keys
from wazo_like_auth.verifier import JwtVerifier

AUDIENCE = 'bench'
ISSUER = 'https://auth.bench.invalid/api/auth/0.1'
REQUIRED = 'confd.users.{}.read'


@dataclass(frozen=True)
class VerifierResult:
    verifications: int
    cpu_seconds: float
    library: str

    @property
    def per_core(self) -> float:
        return self.verifications / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def line(self) -> str:
        return (f'verifier offline verifications per second on one core: {self.per_core:,.0f} '
                f'({self.library}; {self.verifications:,} in {self.cpu_seconds:.2f} CPU s)')


def library(alg: str) -> str:
    versions = {name: importlib.metadata.version(name) for name in ('joserfc', 'cryptography')}
    return f'joserfc {versions["joserfc"]} on cryptography {versions["cryptography"]}, {alg}'


class _Certs(BaseHTTPRequestHandler):
    document = b'{}'

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Cache-Control', 'public, max-age=300')
        self.send_header('Content-Length', str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args):
        pass


def _tokens(alg: str, count: int) -> tuple[bytes, list[tuple[str, str]]]:
    """The JWK Set and ``count`` (token, required access) pairs of distinct users."""
    secret = secrets.token_bytes(32)
    new = keys.generate(alg, keys.encryption_key(secret))
    private = keys.private_key(new.kid, new.private_ciphertext, keys.encryption_key(secret))
    now = int(time.time())
    pairs = []
    for _ in range(count):
        user = str(uuid.uuid4())
        claims = {'iss': ISSUER, 'sub': user, 'aud': [AUDIENCE], 'client_id': 'bench',
                  'exp': now + 3600, 'iat': now, 'jti': secrets.token_urlsafe(16),
                  'scope': 'confd.users.me.read confd.users.me.update',
                  'tenant_uuid': str(uuid.uuid4()), 'session_uuid': str(uuid.uuid4())}
        token = jwt.encode({'alg': alg, 'kid': new.kid, 'typ': 'at+jwt'}, claims, private,
                           algorithms=[alg])
        pairs.append((token, REQUIRED.format(user)))
    return json.dumps(keys.jwks([new.public_jwk])).encode(), pairs


def measure(duration: float, alg: str = keys.DEFAULT_ALGORITHM,
            tokens: int = 100) -> VerifierResult:
    """Verify tokens offline for ``duration`` seconds in this thread (see the docstring)."""
    document, pairs = _tokens(alg, tokens)
    handler = type('Certs', (_Certs,), {'document': document})
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        verifier = JwtVerifier(ISSUER, AUDIENCE,
                               jwks_url=f'http://127.0.0.1:{server.server_port}/certs')
        for token, required in pairs:  # warm-up: the key set and the compiled ACLs
            verifier.verify(token, required)
        count, started, deadline = 0, time.thread_time(), time.monotonic() + duration
        while time.monotonic() < deadline:
            for token, required in pairs:
                verifier.verify(token, required)
            count += len(pairs)
        spent = time.thread_time() - started
    finally:
        server.shutdown()
        server.server_close()
    return VerifierResult(count, spent, library(alg))
