"""End-to-end fixtures: the session PostgreSQL of the integration tests, reused as is."""
from tests.integration.conftest import db_uri, engine, postgres  # noqa: F401
