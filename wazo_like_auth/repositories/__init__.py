"""Data access: functions that take a SQLAlchemy session (or connection) and never commit."""
