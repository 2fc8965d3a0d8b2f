"""A certificate of its own CA for 127.0.0.1, for the tests' TLS peers (an SMTP relay, an
HTTPS proxy or service)."""
from __future__ import annotations

import ssl
import subprocess

import pytest


@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (it is its own CA), and its key."""
    folder = tmp_path_factory.mktemp('tls')
    cert, key = folder / 'cert.pem', folder / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)], check=True, capture_output=True)
    return cert, key


def server_context(certificate) -> ssl.SSLContext:
    """A server-side TLS context presenting ``certificate`` (the fixture's pair)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context
