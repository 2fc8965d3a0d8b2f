"""Migrations 0014 (signing keys published before they sign; the key of each JWT access
token), on a database of its own: existing keys sign from their creation, and the downgrade
gives back the 0012 schema with the keys kept; and 0020 (the keys retired for a leak)."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from tests.support.scratch_db import columns, migrate, scratch  # noqa: F401

KEY = ("INSERT INTO auth_signing_key (kid, alg, public_jwk, private_ciphertext, created_at) "
       "VALUES ('k1', 'RS256', '{}', '\\x00', '2026-01-02T03:04:05Z')")


def test_0014_upgrades_existing_keys_and_downgrades_to_0013(scratch):
    migrate(scratch, command.upgrade, '0013')
    with scratch.begin() as conn:
        conn.execute(text(KEY))

    migrate(scratch, command.upgrade, '0014')

    with scratch.connect() as conn:
        row = conn.execute(text("SELECT created_at, signs_from FROM auth_signing_key")).one()
    assert row.signs_from == row.created_at  # an existing key keeps signing
    assert 'signing_kid' in columns(scratch, 'auth_token')

    migrate(scratch, command.downgrade, '0013')

    assert 'signs_from' not in columns(scratch, 'auth_signing_key')
    assert 'signing_kid' not in columns(scratch, 'auth_token')
    with scratch.connect() as conn:
        assert conn.execute(text('SELECT kid FROM auth_signing_key')).scalars().all() == ['k1']
    migrate(scratch, command.upgrade, 'head')
    assert 'signs_from' in columns(scratch, 'auth_signing_key')


def test_0020_adds_the_retired_keys_and_downgrades_to_0019(scratch):
    migrate(scratch, command.upgrade, '0020')
    with scratch.begin() as conn:
        conn.execute(text("INSERT INTO auth_retired_signing_key VALUES ('k1', now())"))

    migrate(scratch, command.downgrade, '0019')

    assert 'auth_retired_signing_key' not in inspect(scratch).get_table_names()
    migrate(scratch, command.upgrade, 'head')
    assert columns(scratch, 'auth_retired_signing_key') == {'kid', 'retired_at'}
