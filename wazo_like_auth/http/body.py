"""Request bodies: JSON whatever the Content-Type, as wazo-auth reads them (force)."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from ..exceptions import InvalidData


def json_object(*, null_is_empty: bool = True) -> dict[str, Any]:
    """The body as a JSON object. Raises InvalidData for an empty, non-UTF-8, invalid or
    non-object body; a JSON ``null`` reads as ``{}``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidData('A JSON body is required')
    try:
        value = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidData('The body is not valid JSON') from None
    if value is None and null_is_empty:
        return {}
    if not isinstance(value, dict):
        raise InvalidData('The body must be a JSON object',
                          details={'_schema': ['Invalid input type.']})
    return value
