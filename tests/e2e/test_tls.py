"""TLS served directly by granian when rest_api.certificate and rest_api.private_key are set."""
from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import ipaddress
import ssl
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.hardened import ADMIN, settings
from tests.support.served import free_port, serve_command, service, write_config

pytestmark = pytest.mark.e2e


def self_signed(directory) -> tuple[str, str]:
    """(certificate path, key path) for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / 'cert.pem', directory / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def https(port: int, certificate: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f'https://127.0.0.1:{port}{path}', verify=certificate,
                            timeout=10, **kwargs)


def test_https_is_served_with_the_configured_certificate(tmp_path, db_uri, engine):
    certificate, key = self_signed(tmp_path)
    port = free_port()
    config = write_config(tmp_path / 'config.yml', settings(
        db_uri, tmp_path / 'state', port,
        rest_api={'certificate': certificate, 'private_key': key}))
    with service(serve_command('--config', config), port, tmp_path / 'logs') as svc:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.RequestException):
                if https(port, certificate, 'GET', '/0.1/status').status_code == 200:
                    break
            assert time.monotonic() < deadline and svc.process.poll() is None, svc.output()
            time.sleep(0.2)
        login = https(port, certificate, 'POST', '/0.1/token', auth=ADMIN, json={})
        token = login.json()['data']['token']
        assert https(port, certificate, 'HEAD', f'/0.1/token/{token}').status_code == 204
        # TLS 1.2 clients are served too.
        context = ssl.create_default_context(cafile=certificate)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        conn = http.client.HTTPSConnection('127.0.0.1', port, context=context, timeout=10)
        conn.request('GET', '/0.1/status')
        assert conn.getresponse().status == 200
        assert conn.sock.version() == 'TLSv1.2'
        conn.close()
        # Plain HTTP gets no answer.
        with pytest.raises(requests.ConnectionError):
            requests.head(f'http://127.0.0.1:{port}/0.1/status', timeout=5)
        assert svc.terminate() == 0
