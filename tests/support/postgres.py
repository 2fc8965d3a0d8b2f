"""A throw-away PostgreSQL for the tests: testing.postgresql, with the server binaries found and
root privileges dropped exactly as the service's embedded database does."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import testing.postgresql
from sqlalchemy import create_engine

from wazo_like_auth import db, embedded_db
from tests.support.ports import free_port


class Postgresql(testing.postgresql.Postgresql):
    def initialize(self):
        bindir = embedded_db.find_bindir()
        self.settings['initdb'] = str(bindir / 'initdb')
        self.settings['postgres'] = str(bindir / 'postgres')
        super().initialize()

    def initialize_database(self):
        data = os.path.join(self.base_dir, 'data')
        if os.path.exists(os.path.join(data, 'PG_VERSION')):
            return
        embedded_db.hand_over(self.base_dir)
        result = subprocess.run(
            embedded_db.command(self.initdb, '-D', data, '--lc-messages=C', '--locale=C',
                                '-E', 'UTF8', '-U', 'postgres', '-A', 'trust'),
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f'initdb failed: {result.stderr}')

    def get_server_commandline(self):
        return embedded_db.command(
            self.postgres, '-p', str(self.settings['port']), '-D',
            os.path.join(self.base_dir, 'data'), '-k', os.path.join(self.base_dir, 'tmp'),
            '-h', '127.0.0.1', '-F', '-c', 'logging_collector=off', '-c', 'max_connections=300')


class RestartablePostgresql:
    """A PostgreSQL that can be stopped and started again on the same data and port."""

    def __init__(self):
        self._base_dir = tempfile.mkdtemp(prefix='wla-outage-')
        self._port = free_port()
        self._server = self._start()
        self.uri = self._server.url()

    def _start(self):
        return Postgresql(base_dir=self._base_dir, port=self._port)

    def stop(self):
        self._server.stop()

    def restart(self):
        self._server = self._start()

    def close(self):
        self._server.stop()
        shutil.rmtree(self._base_dir, ignore_errors=True)


def migrated_restartable():
    """A RestartablePostgresql with the schema migrated, closed when the fixture using this
    generator ends (``yield from migrated_restartable()``)."""
    pg = RestartablePostgresql()
    engine = create_engine(db.url(pg.uri))
    db.upgrade(engine)
    engine.dispose()
    yield pg
    pg.close()
