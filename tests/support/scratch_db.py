"""A database of its own for a migration test (``scratch``), and the steps on it."""
from __future__ import annotations

import uuid

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from wazo_like_auth import db


@pytest.fixture
def scratch(postgres):
    """An empty database on the session's server; dropped after."""
    name = f'migr_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(postgres.url()), isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE {name}'))
    engine = create_engine(db.url(postgres.url().rsplit('/', 1)[0] + f'/{name}'))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE {name}'))
        admin.dispose()


def migrate(engine, action, revision: str) -> None:
    cfg = Config(str(db.MIGRATIONS / 'alembic.ini'))
    cfg.set_main_option('script_location', str(db.MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes['connection'] = connection
        action(cfg, revision)


def columns(engine, table: str) -> set[str]:
    return {column['name'] for column in inspect(engine).get_columns(table)}
