"""Plain-value views of tokens as the API shows them (wazo-token-api §1.4)."""
from __future__ import annotations

import datetime as dt
from typing import Any


def local_time(moment: dt.datetime | None) -> str | None:
    """Server local time, naive ISO-8601; microseconds omitted when zero (wazo-auth's format)."""
    return moment.astimezone().replace(tzinfo=None).isoformat() if moment else None


def utc_time(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f') if moment else None


def token_view(value: str, row: Any) -> dict[str, Any]:
    """The token dict of POST /token and GET /token/{t}; ``row`` has the token columns."""
    return {
        'token': value,
        'auth_id': row.auth_id,
        'xivo_user_uuid': row.pbx_user_uuid,
        'xivo_uuid': row.xivo_uuid,
        'issued_at': local_time(row.issued_at),
        'expires_at': local_time(row.expires_at),
        'utc_issued_at': utc_time(row.issued_at),
        'utc_expires_at': utc_time(row.expires_at),
        'acl': list(row.acl),
        'metadata': row.metadata,
        'session_uuid': str(row.session_uuid),
        'remote_addr': row.remote_addr,
        'user_agent': row.user_agent,
    }
