"""Request bodies: JSON whatever the Content-Type, as wazo-auth reads them (force)."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from ..exceptions import InvalidData


def json_object(*, falsy_is_empty: bool = True) -> dict[str, Any]:
    """The body as a JSON object. Raises InvalidData for an empty, non-UTF-8, invalid or
    non-object body, and for a body holding a lone UTF-16 surrogate (``"\\udfff"``) in any
    string or key. A JSON ``null`` reads as ``{}``, and so does any falsy value (``false``,
    ``0``, ``""``, ``[]``) with ``falsy_is_empty``: what the administration API does (admin
    spec §0.2); the token API reads only ``null`` so (token spec §1.1)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidData('A JSON body is required')
    try:
        value = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidData('The body is not valid JSON') from None
    if not _is_unicode(value):
        raise InvalidData('The body holds a string that is not valid Unicode (a lone '
                          'surrogate)')
    if value is None or (falsy_is_empty and not value):
        return {}
    if not isinstance(value, dict):
        raise InvalidData('The body must be a JSON object',
                          details={'_schema': ['Invalid input type.']})
    return value


def _is_unicode(value: Any) -> bool:
    """False when a string of ``value`` holds a lone surrogate: JSON's ``\\uXXXX`` escapes can
    write one, Python keeps it, and neither PostgreSQL nor a UTF-8 log file can hold it (a 500
    at the first INSERT). Checked once here, for every JSON body of the service."""
    try:
        json.dumps(value, ensure_ascii=False).encode('utf-8')
    except (UnicodeEncodeError, RecursionError):
        return False
    return True
