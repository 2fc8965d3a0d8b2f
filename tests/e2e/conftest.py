"""End-to-end tests use the session PostgreSQL of tests/support/database.py as is."""
