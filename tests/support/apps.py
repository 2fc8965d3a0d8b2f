"""Apps built with a configuration of their own, stopped when the test is done."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask

from wazo_like_auth.app import create_app, shutdown


@contextlib.contextmanager
def running_app(config: dict, engine, **options) -> Iterator[Flask]:
    """``create_app(config, engine=engine, **options)``, shut down on exit."""
    app = create_app(config, engine=engine, **options)
    try:
        yield app
    finally:
        shutdown(app)
