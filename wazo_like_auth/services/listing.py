"""What list endpoints parse their parameters into (ListQuery) and answer (Page); the query
machinery that applies them is repositories/listing.py."""
from __future__ import annotations

from ..repositories.listing import ListQuery, Page

__all__ = ['ListQuery', 'Page']
