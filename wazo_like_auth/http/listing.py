"""List parameters shared by every list endpoint (wazo-token-api §3.2, admin spec §0.5).

``limit``, ``offset``, ``order``, ``direction``, ``search``, ``recurse`` and the resource's strict
filters, parsed once here; invalid values answer 400 ``invalid-list-param`` naming the parameter.
"""
from __future__ import annotations

from collections.abc import Sequence

from flask import request

from ..exceptions import InvalidListParam
from ..services.listing import ListQuery

_TRUE = {'true', '1', 'yes', 'on', 't', 'y'}
_FALSE = {'false', '0', 'no', 'off', 'f', 'n'}


def list_query(*, sort_columns: Sequence[str], default_order: str | None,
               filters: Sequence[str] = (), default_direction: str = 'asc') -> ListQuery:
    """The ListQuery of the current request's query string."""
    args = request.args
    return ListQuery(
        limit=_natural(args, 'limit'),
        offset=_natural(args, 'offset') or 0,
        order=_choice(args, 'order', sort_columns, default_order),
        direction=_choice(args, 'direction', ('asc', 'desc'), default_direction),
        search=text_param(args, 'search') or None,
        recurse=boolean(args, 'recurse', False),
        filters={name: text_param(args, name) for name in filters if name in args},
    )


def text_param(args, name: str) -> str | None:
    """A free-text parameter; PostgreSQL cannot compare text holding NUL (a 500 otherwise)."""
    value = args.get(name)
    if value is not None and '\x00' in value:
        raise invalid_param(name, 'Not a valid text string.', 'type')
    return value


def boolean(args, name: str, default: bool) -> bool:
    value = args.get(name)
    if value is None or value == '':
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise invalid_param(name, 'Not a valid boolean.', 'type')


def _natural(args, name: str) -> int | None:
    value = args.get(name)
    if value is None or value == '':
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise invalid_param(name, 'Must be an integer greater than or equal to 0.', 'range')
    return int(value)


def _choice(args, name: str, choices: Sequence[str], default: str | None) -> str | None:
    value = args.get(name)
    if value is None or value == '':
        return default
    if value not in choices:
        raise invalid_param(name, f'Must be one of: {", ".join(choices)}.', 'enum')
    return value


def invalid_param(name: str, message: str, constraint_id: str) -> InvalidListParam:
    """The 400 ``invalid-list-param`` answer for parameter ``name``."""
    return InvalidListParam(f'Invalid value for {name}: {message}', details={
        name: [{'message': message, 'constraint_id': constraint_id}]})
