"""Apps built with a configuration of their own, stopped when the test is done."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from flask import Flask

from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.config import load_config


@contextlib.contextmanager
def running_app(config: dict, engine, **options) -> Iterator[Flask]:
    """``create_app(config, engine=engine, **options)``, shut down on exit."""
    app = create_app(config, engine=engine, **options)
    try:
        yield app
    finally:
        shutdown(app)


def page_config(engine, state: Path, **settings) -> dict:
    """The configuration of a module's app serving pages to a browser: the defaults (an
    empty config.yml), ``engine``'s database, ``state`` as state_dir, a fast password hash,
    and ``settings`` over that."""
    empty = state / 'config.yml'
    empty.write_text('{}\n')
    return load_config(config_file=str(empty), environ={}, flags={
        'db_uri': engine.url.render_as_string(hide_password=False), 'state_dir': str(state),
        'password_hash_rounds': 4, 'token_secret': 'e2e-secret-' + 'x' * 40, **settings})
