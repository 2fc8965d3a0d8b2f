"""``db_uri``: what a PostgreSQL URI of this service is. The configuration checks it when it
is read (check-config refuses what serve would), db.py connects with it. Messages never quote
the URI: it may hold a password."""
from __future__ import annotations

from sqlalchemy import URL, exc, make_url

EXPECTED = 'expected postgresql://user:password@host:port/database'


class DatabaseURIError(ValueError):
    """A db_uri that is not a PostgreSQL URI this service can use."""


def url(uri: str) -> URL:
    """``uri`` with the psycopg2 driver, the one this service ships with. Raises
    DatabaseURIError when ``uri`` is not a PostgreSQL URI.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; users write bare URIs.
    """
    try:
        parsed = make_url(uri)
    except (exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseURIError(f'not a URI: {EXPECTED}') from None
    if parsed.drivername not in ('postgresql', 'postgresql+psycopg2'):
        raise DatabaseURIError(f'{parsed.drivername}:// is not supported: {EXPECTED}')
    return parsed.set(drivername='postgresql+psycopg2')


def checked(uri: str) -> str:
    """``uri`` when libpq can connect with it: a PostgreSQL URI (``url``) whose options it
    knows (``?ssl=true``, a JDBC habit, is not one of them) and whose port is a number; else
    DatabaseURIError, naming the option at fault."""
    parsed = url(uri)
    port = parsed.query.get('port')
    if port is not None and not str(port).isdigit():
        raise DatabaseURIError('the port option must be a number')
    # Imported here: psycopg2's first import is a step of serve's start (stopping.py).
    import psycopg2.extensions
    # As SQLAlchemy hands them to psycopg2: each query option a connection keyword (libpq's
    # own URI reading would turn ssl=true into sslmode=require; the keyword is refused).
    options = {key: ' '.join(value) if isinstance(value, tuple) else value
               for key, value in parsed.query.items()}
    try:
        psycopg2.extensions.parse_dsn(psycopg2.extensions.make_dsn(**options))
    except psycopg2.ProgrammingError as e:  # "invalid connection option "ssl"": no value
        raise DatabaseURIError(' '.join(str(e).split()) or 'not a libpq URI') from None
    return uri
