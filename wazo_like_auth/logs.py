"""Logging set-up. Log lines never carry a token (only tokens.redact) nor a password.

``log_format: plain`` (default) or ``json`` (one object per line); to stderr, or to
``log_filename`` when set.
"""
from __future__ import annotations

import json
import logging
import sys

FORMAT = '%(asctime)s [%(process)d] (%(levelname)s) (%(name)s): %(message)s'
# Fields the access log adds to its records (http/request_log.py).
ACCESS_FIELDS = ('request_id', 'remote_addr', 'token', 'status', 'duration_ms', 'method', 'route')


class PlainFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f'{name}={getattr(record, name)}' for name in ACCESS_FIELDS
                  if name in ('request_id', 'remote_addr', 'token') and getattr(record, name, '')]
        return f'{line} {" ".join(extras)}' if extras else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {'time': self.formatTime(record), 'level': record.levelname,
                 'logger': record.name, 'process': record.process,
                 'message': record.getMessage()}
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS
                      if hasattr(record, name)})
        if record.exc_info:
            entry['exception'] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(config: dict) -> None:
    handler: logging.Handler
    if config['log_filename']:
        handler = logging.FileHandler(config['log_filename'])
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if config['log_format'] == 'json' else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config['log_level'].upper())
    # alembic narrates every plugin it loads at INFO; only its warnings matter here.
    logging.getLogger('alembic').setLevel(max(logging.WARNING, root.level))
