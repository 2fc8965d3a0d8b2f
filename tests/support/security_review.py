"""Helpers of the security-review regression tests: the real log output of the service (the
``service_log`` fixture: a plugin), and an OAuth 2.0 client registered through the admin API."""
from __future__ import annotations

import logging

import pytest

from wazo_like_auth.logs import restored, setup_logging

# A plain log line as logs.FORMAT writes it: "2026-12-06 06:00:00,000 [pid] (LEVEL) (name): ".
PLAIN_LINE = r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[\d+\] \((DEBUG|INFO|WARNING|ERROR)\) '


@pytest.fixture
def service_log(tmp_path):
    """``start(log_format)`` routes logging through logs.setup_logging (the production set-up)
    to a file and returns a function reading that file's lines; logging is restored after."""
    def start(log_format: str = 'plain', level: str = 'info'):
        path = tmp_path / f'service-{log_format}.log'
        setup_logging({'log_filename': str(path), 'log_format': log_format,
                       'log_level': level})

        def lines() -> list[str]:
            for handler in logging.getLogger().handlers:
                handler.flush()
            return path.read_text(encoding='utf-8').splitlines()
        return lines
    with restored():
        yield start


def register_client(admin, client_id: str, grant_types: list[str]) -> str:
    """Register a confidential client through POST /clients; returns its secret."""
    created = admin.ok('POST', '/clients', json={'client_id': client_id,
                                                 'grant_types': grant_types})
    return created['client_secret']
