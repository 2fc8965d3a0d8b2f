"""A database of its own for a migration test (``scratch``), and the steps on it."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from alembic.config import Config
from sqlalchemy import Engine, create_engine, inspect, text

from wazo_like_auth import db


@contextlib.contextmanager
def database(postgres, prefix: str, options: str = '') -> Iterator[tuple[str, Engine]]:
    """(uri, engine) of a new database on the session's server, created with ``options``
    (``TEMPLATE template0 LOCALE_PROVIDER icu ...``); dropped after, connections or not."""
    name = f'{prefix}_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(postgres.url()), isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE {name} {options}'))
    uri = postgres.url().rsplit('/', 1)[0] + f'/{name}'
    engine = create_engine(db.url(uri))
    try:
        yield uri, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE {name} WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch(postgres):
    """An empty database on the session's server; dropped after."""
    with database(postgres, 'migr') as (_, engine):
        yield engine


def migrate(engine, action, revision: str) -> None:
    cfg = Config(str(db.MIGRATIONS / 'alembic.ini'))
    cfg.set_main_option('script_location', str(db.MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes['connection'] = connection
        action(cfg, revision)


def columns(engine, table: str) -> set[str]:
    return {column['name'] for column in inspect(engine).get_columns(table)}
