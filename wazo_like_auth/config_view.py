"""What the configuration shows of itself (GET /config, logs): every secret masked."""
from __future__ import annotations

import copy
import re
import urllib.parse
from typing import Any

SECRET_KEYS = ('token_secret', 'bootstrap_user_password')
# public_view masks every key naming a secret, at any depth (clients[].client_secret...), so a
# secret added later is hidden by default. rest_api.private_key is a file path, not a secret.
# A name ending in secret/password (not password_hash_rounds).
_SECRET_NAME = re.compile(r'(secret|password|passwd|credentials?)$', re.IGNORECASE)
MASK = '********'


def public_view(config: dict) -> dict:
    """The configuration with every secret masked, for GET /config and logs.

    Masked: ``SECRET_KEYS``, any key naming a secret at any depth, the password of ``db_uri``
    and its secret query parameters (libpq reads ``?password=`` too), the password of
    ``amqp.uri``.
    """
    shown = _masked(config)
    if shown.get('db_uri'):
        shown['db_uri'] = _safe_db_uri(shown['db_uri'])
    if isinstance(shown.get('amqp'), dict) and shown['amqp'].get('uri'):
        shown['amqp']['uri'] = _safe_amqp_uri(shown['amqp']['uri'])
    return shown


def _masked(value: Any, key: str = '') -> Any:
    if value and (key in SECRET_KEYS or _SECRET_NAME.search(key)):
        return MASK
    if isinstance(value, dict):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return copy.deepcopy(value)


def _safe_amqp_uri(value: str) -> str:
    """The broker URI with its password masked."""
    parts = urllib.parse.urlsplit(value)
    if parts.password is None:
        return value
    netloc = f'{parts.username or ""}:{MASK}@{parts.netloc.rpartition("@")[2]}'
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _safe_db_uri(value: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        url = make_url(value)
    except Exception:  # not a URL at all: nothing of it can be shown safely
        return MASK
    query = {k: MASK if _SECRET_NAME.search(k) else v for k, v in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)
