"""Prepared statements of the hot paths (prepared.py): same rows as the plain statement, and
prepared again on a connection that replaced a lost one."""
from __future__ import annotations

import pytest
from sqlalchemy import bindparam, literal, literal_column, select, text

from wazo_like_auth import db
from wazo_like_auth.models import Tenant
from wazo_like_auth.prepared import PreparedQuery


def _statement():
    return select(Tenant.uuid, Tenant.name, literal_column('7').label('seven')) \
        .where(Tenant.uuid == bindparam('tenant')).where(Tenant.uuid == bindparam('tenant'))


def test_prepared_rows_are_the_plain_statements_rows(engine, top_tenant):
    query = PreparedQuery('test_same_rows', _statement())
    with engine.connect() as conn:
        plain = conn.execute(_statement(), {'tenant': top_tenant}).all()
        for _ in range(7):  # past the executions after which PostgreSQL keeps a generic plan
            prepared = query.execute(conn, {'tenant': top_tenant}).all()
            assert [tuple(r) for r in prepared] == [tuple(r) for r in plain]
        assert prepared[0].seven == 7 and prepared[0].uuid == top_tenant


def test_a_replaced_connection_prepares_again(config, engine, top_tenant):
    query = PreparedQuery('test_reconnect', _statement())
    service = db.make_engine(config, pool_size=1)  # the service's: liveness check on checkout
    with service.connect() as conn:
        assert query.execute(conn, {'tenant': top_tenant}).first() is not None
        backend = conn.execute(text('SELECT pg_backend_pid()')).scalar()
    with engine.connect() as other:
        # With a timeout, the call returns once the backend has exited (it closed the socket).
        other.execute(text('SELECT pg_terminate_backend(:pid, 5000)'), {'pid': backend})
    with service.connect() as conn:  # the pool finds it closed, connects anew
        assert conn.execute(text('SELECT pg_backend_pid()')).scalar() != backend
        assert query.execute(conn, {'tenant': top_tenant}).first().uuid == top_tenant
    service.dispose()


def test_a_value_bound_in_the_statement_is_refused():
    # PostgreSQL would type it from context (text, for a bare literal): inline it instead.
    with pytest.raises(ValueError):
        PreparedQuery('test_literal', select(literal(7)))


@pytest.mark.parametrize('name', ['', 'Upper', 'semi;colon', 'x' * 64])
def test_statement_names_are_plain_identifiers(name):
    with pytest.raises(ValueError):
        PreparedQuery(name, _statement())
