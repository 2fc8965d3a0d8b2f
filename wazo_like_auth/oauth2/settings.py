"""Validation of the ``clients:`` configuration list (clients declared for unattended setups).

Each item: ``client_id`` (required), ``client_secret`` (required unless ``public``), ``name``,
``grant_types`` (default: ``[client_credentials]`` for confidential clients, the device code
and refresh token grants for public ones), ``acl`` (list of ACL entries), ``policies`` (slugs of
policies of the top tenant), ``public`` (default false), ``redirect_uris`` and
``post_logout_redirect_uris`` (exact-match lists; authorization_code needs a redirect URI),
``require_consent`` (default false: a first-party client), ``access_token_format`` (``opaque``,
the default, or ``jwt``) and ``access_token_audience`` (a string or a list; default: the
issuer URL). Pure: called by config.py.
"""
from __future__ import annotations

from typing import Any

from .clients import (AUTHORIZATION_CODE, CLIENT_CREDENTIALS, DEVICE_CODE, REFRESH_TOKEN,
                      client_id_error, grant_types_error, redirect_uris_error)
from .jwt_access_tokens import audience_error, audience_list, format_error

_KEYS = {'client_id', 'client_secret', 'name', 'grant_types', 'acl', 'policies', 'public',
         'redirect_uris', 'post_logout_redirect_uris', 'require_consent',
         'access_token_format', 'access_token_audience'}


def default_grant_types(public: bool) -> list[str]:
    return [DEVICE_CODE, REFRESH_TOKEN] if public else [CLIENT_CREDENTIALS]


def validate_clients(value: Any) -> list[dict[str, Any]]:
    """The normalised list; raises ValueError naming the item and the field."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError('must be a list of clients')
    seen: set[str] = set()
    result = []
    for index, item in enumerate(value):
        try:
            client = _client(item)
        except ValueError as e:
            raise ValueError(f'[{index}]: {e}') from None
        if client['client_id'] in seen:
            raise ValueError(f'[{index}].client_id: declared twice')
        seen.add(client['client_id'])
        result.append(client)
    return result


def _client(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError('must be a mapping')
    unknown = set(item) - _KEYS
    if unknown:
        raise ValueError(f'unknown keys {sorted(unknown)}')
    error = client_id_error(item.get('client_id'))
    if error:
        raise ValueError(f'client_id: {error}')
    public = item.get('public', False)
    if not isinstance(public, bool):
        raise ValueError('public: must be true or false')
    secret = item.get('client_secret')
    if public and secret is not None:
        raise ValueError('client_secret: a public client has no secret')
    if not public and (not isinstance(secret, str) or len(secret) < 16):
        raise ValueError('client_secret: must be a string of at least 16 characters')
    if not public and len(secret.encode('utf-8')) > 72:
        raise ValueError('client_secret: must be at most 72 bytes in UTF-8')
    grant_types = item.get('grant_types', default_grant_types(public))
    error = grant_types_error(grant_types, public)
    if error:
        raise ValueError(f'grant_types: {error}')
    uris = {key: item.get(key) or [] for key in ('redirect_uris', 'post_logout_redirect_uris')}
    for key, value in uris.items():
        error = redirect_uris_error(value)
        if error:
            raise ValueError(f'{key}: {error}')
    if AUTHORIZATION_CODE in grant_types and not uris['redirect_uris']:
        raise ValueError('redirect_uris: the authorization_code grant needs at least one')
    if not isinstance(item.get('require_consent', False), bool):
        raise ValueError('require_consent: must be true or false')
    return {
        **uris, 'require_consent': item.get('require_consent', False), **_token_format(item),
        'client_id': item['client_id'], 'client_secret': secret, 'public': public,
        'name': _text(item, 'name', item['client_id']), 'grant_types': list(grant_types),
        'acl': _strings(item, 'acl'), 'policies': _strings(item, 'policies'),
    }


def _token_format(item: dict) -> dict[str, Any]:
    token_format = item.get('access_token_format', 'opaque')
    error = format_error(token_format)
    if error:
        raise ValueError(f'access_token_format: {error}')
    audience = item.get('access_token_audience')
    error = audience_error([] if audience is None else audience)
    if error:
        raise ValueError(f'access_token_audience: {error}')
    return {'access_token_format': token_format,
            'access_token_audience': audience_list(audience)}


def _text(item: dict, key: str, default: str) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or '\x00' in value:  # PostgreSQL text holds no NUL
        raise ValueError(f'{key}: must be a string without a NUL character')
    return value


def _strings(item: dict, key: str) -> list[str]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(
            isinstance(v, str) and v and '\x00' not in v for v in value):
        raise ValueError(f'{key}: must be a list of non-empty strings without a NUL character')
    return value
