"""The verifier's pure parts: what it may import (a backend installs flask, requests and, for
the JWT mode, joserfc, for push revocation, py-amqp; nothing of the service), the online mode without joserfc, the
algorithms a published key may verify, and the max-age of a key set."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from wazo_like_auth.verifier import jose
from wazo_like_auth.verifier.jwks import DEFAULT_MAX_AGE, MAX_MAX_AGE, max_age

PACKAGE = Path(__file__).resolve().parents[2] / 'wazo_like_auth'
# logs: the escaping logger every module logs through (standard library and tokens only).
ALLOWED = {'flask', 'requests', 'joserfc', 'amqp', 'wazo_like_auth.acl',
           'wazo_like_auth.bus.address', 'wazo_like_auth.logs', 'wazo_like_auth.bounded_http'}


def _imports(path: Path) -> set[str]:
    """Absolute names imported by ``path``; a relative import of the verifier package itself
    counts as nothing, one leaving it as ``wazo_like_auth.<name>``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:
            found.add(f'wazo_like_auth.{node.module}')
    return found


def _outside(names: set[str], allowed: set[str]) -> set[str]:
    return {name for name in names if name != '__future__'
            and name.split('.')[0] not in sys.stdlib_module_names
            and not any(name == a or name.startswith(a + '.') for a in allowed)}


@pytest.mark.parametrize('path', sorted((PACKAGE / 'verifier').glob('*.py')), ids=lambda p: p.name)
def test_the_verifier_imports_only_flask_requests_joserfc_amqp_and_the_acl_rules(path):
    assert _outside(_imports(path), ALLOWED) == set()


@pytest.mark.parametrize('shared', ['acl/__init__.py', 'acl/matching.py', 'acl/granting.py',
                                    'bus/__init__.py', 'bus/address.py', 'logs.py',
                                    'tokens.py'])
def test_what_the_verifier_shares_with_the_service_needs_only_the_standard_library(shared):
    assert _outside(_imports(PACKAGE / shared), set()) == set()


def test_the_deadline_transport_of_the_verifier_and_the_client_needs_only_requests():
    # bounded_http subclasses requests' HTTPAdapter (its watchdog must reach the sockets);
    # only the verifier and the client library use it, and both need requests anyway.
    assert _outside(_imports(PACKAGE / 'bounded_http.py'), {'requests'}) == set()


def test_the_online_mode_works_without_joserfc_and_the_jwt_mode_says_what_to_install():
    script = ('import sys; sys.modules["joserfc"] = None\n'
              'from wazo_like_auth.verifier import JwtVerifier, TokenVerifier\n'
              'TokenVerifier("http://127.0.0.1:9/0.1")\n'
              'try:\n    JwtVerifier("http://127.0.0.1:9", "confd")\n'
              'except ImportError as error:\n    print(error)\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert 'pip install "wazo-like-auth[verifier-jwt]"' in done.stdout


@pytest.mark.parametrize('jwk, alg', [
    ({'kty': 'RSA', 'alg': 'RS256'}, 'RS256'), ({'kty': 'RSA'}, 'RS256'),
    ({'kty': 'EC', 'crv': 'P-256'}, 'ES256'), ({'kty': 'EC', 'alg': 'ES256'}, 'ES256'),
    ({'kty': 'OKP', 'crv': 'Ed25519'}, 'EdDSA'), ({'kty': 'RSA', 'alg': 'PS256'}, 'PS256'),
    ({'kty': 'oct'}, None), ({'kty': 'oct', 'alg': 'HS256'}, None),
    ({'kty': 'RSA', 'alg': 'HS256'}, None), ({'kty': 'RSA', 'alg': 'none'}, None),
    ({'kty': 'EC', 'crv': 'secp256k1'}, None), ({}, None),
])
def test_a_published_key_verifies_one_asymmetric_algorithm_at_most(jwk, alg):
    assert jose.algorithm_of(jwk) == alg


@pytest.mark.parametrize('header, seconds', [
    ('public, max-age=300', 300), ('max-age=0', 0), ('Max-Age="60", public', 60),
    ('no-cache', 0), ('public, no-store, max-age=300', 0), (None, DEFAULT_MAX_AGE),
    ('public', DEFAULT_MAX_AGE), ('max-age=soon', DEFAULT_MAX_AGE), ('max-age=-5', 0),
    ('max-age=999999999', MAX_MAX_AGE), ('max-age=' + '9' * 400, MAX_MAX_AGE),
    ('max-age=' + '9' * 5000, DEFAULT_MAX_AGE),  # beyond int()'s digit limit: not a number
])
def test_the_max_age_of_a_key_set_comes_from_cache_control(header, seconds):
    assert max_age(header) == seconds
