"""The parsed form of list parameters, and how a query applies them (``paginate``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (Boolean, DateTime, Select, String, and_, cast, func, inspect, or_,
                        select)
from sqlalchemy.orm import Session

from ..clock import as_utc
from ..exceptions import InvalidListParam


@dataclass(frozen=True)
class ListQuery:
    limit: int | None = None
    offset: int = 0
    order: str | None = None
    direction: str = 'asc'
    search: str | None = None
    recurse: bool = False
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    total: int
    filtered: int
    items: list[Any]

    def as_dict(self) -> dict[str, Any]:
        return {'total': self.total, 'filtered': self.filtered, 'items': self.items}


@dataclass(frozen=True)
class Condition:
    """A strict filter that is not a plain column (membership, EXISTS...): ``build`` turns the
    raw query value into the WHERE clause. Use it as a value of ``paginate``'s ``columns``."""
    build: Callable[[Any], Any]


def search_pattern(search: str) -> str:
    """Words of ``search`` in order, anything between: ``%w1%w2%`` (LIKE-escaped)."""
    words = [w.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
             for w in search.split()]
    return '%' + '%'.join(words) + '%'


def paginate(db: Session, base: Select, query: ListQuery, *, columns: Mapping[str, Any],
             searchable: Sequence[str] = ()) -> tuple[int, int, list[Any]]:
    """Run ``base`` with the list parameters: (total, filtered, rows).

    ``columns`` maps every sortable and filterable name to its column; strict filters compare
    the column's text form with the raw query value; search is a case-insensitive substring
    match over ``searchable``.
    """
    total = db.scalar(select(func.count()).select_from(base.subquery()))
    conditions = [_strict(name, columns[name], value) for name, value in query.filters.items()]
    if query.search and searchable:
        pattern = search_pattern(query.search)
        conditions.append(or_(*(cast(columns[name], String).ilike(pattern)
                                for name in searchable)))
    if conditions:
        filtered_query = base.where(and_(*conditions))
        filtered = db.scalar(select(func.count()).select_from(filtered_query.subquery()))
    else:  # no filter: the same count again would be a statement for nothing
        filtered_query, filtered = base, total
    order = []
    if query.order:
        column = columns[query.order]
        order.append(column.desc() if query.direction == 'desc' else column.asc())
    filtered_query = filtered_query.order_by(*order, *_tiebreak(base))
    filtered_query = filtered_query.offset(query.offset)
    if query.limit is not None:
        filtered_query = filtered_query.limit(query.limit)
    return total, filtered, list(db.execute(filtered_query))


def _tiebreak(base: Select) -> list[Any]:
    """The primary key of the first entity ``base`` selects: rows equal on the requested
    order (many sessions with the same ``mobile``) then keep one order on every page, so that
    the pages of a list show each row once; with no order requested, it is the order."""
    entity = base.column_descriptions[0].get('entity')
    return list(inspect(entity).primary_key) if entity is not None else []


def _strict(name: str, column: Any, value: str) -> Any:
    """Exact match of a column with a raw query-string value; booleans read as booleans, and
    anything else given for a boolean is a 400 (admin spec §0.4: bad booleans)."""
    if isinstance(column, Condition):
        return column.build(value)
    if isinstance(column.type, Boolean):
        lowered = value.lower()
        if lowered in ('true', '1', 'yes', 'on', 't', 'y'):
            return column.is_(True)
        if lowered in ('false', '0', 'no', 'off', 'f', 'n'):
            return column.is_(False)
        raise InvalidListParam(f'Invalid value for {name}: Not a valid boolean.', details={
            name: [{'message': 'Not a valid boolean.', 'constraint_id': 'type'}]})
    if isinstance(column.type, DateTime):  # as listed (ISO 8601), compared as a time
        try:
            moment = as_utc(dt.datetime.fromisoformat(value))
        except (ValueError, OverflowError):
            raise InvalidListParam(f'Invalid value for {name}: Not a valid datetime.', details={
                name: [{'message': 'Not a valid datetime.', 'constraint_id': 'type'}]}) from None
        return column == moment
    return cast(column, String) == value
