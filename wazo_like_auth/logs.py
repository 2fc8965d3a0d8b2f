"""Logging set-up. Log lines never carry a token (only tokens.redact) nor a password."""
from __future__ import annotations

import logging
import sys

FORMAT = '%(asctime)s [%(process)d] (%(levelname)s) (%(name)s): %(message)s'


def setup_logging(config: dict) -> None:
    handler: logging.Handler
    if config['log_filename']:
        handler = logging.FileHandler(config['log_filename'])
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config['log_level'].upper())
    # alembic narrates every plugin it loads at INFO; only its warnings matter here.
    logging.getLogger('alembic').setLevel(max(logging.WARNING, root.level))
