"""What an operator meets when the host gets in the way: a log file or state directory that
cannot be written, a token_secret file left empty (a full disk), an embedded PostgreSQL that
fails to start. Each is one line naming the culprit, no traceback, nothing left running."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from wazo_like_auth.embedded_db import EmbeddedDatabaseError, EmbeddedPostgres


def test_a_failed_embedded_start_leaves_no_postgresql_running():
    base = Path(tempfile.mkdtemp(prefix='wla-review-ops-'))
    base.chmod(0o711)  # as root the server runs as another user, who must traverse it
    database = EmbeddedPostgres(base / 'postgresql' / 'data')
    try:
        with pytest.raises(EmbeddedDatabaseError):
            database.start(timeout=-1)  # gives up at its first connection attempt
        server = database._process  # the server process it launched, if it is still ours
        assert server is None or server.poll() is not None
    finally:
        if database._process is not None and database._process.poll() is None:
            database._process.kill()
            database._process.wait()
        shutil.rmtree(base, ignore_errors=True)
