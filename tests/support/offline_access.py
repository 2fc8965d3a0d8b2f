"""Requests and SQL checks shared by the refresh-token and session tests (issue 3).

Plain functions over a Flask test client or an engine, so the race tests can call them from
threads with one test client each.
"""
from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import text

from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from wazo_like_auth.models import Tenant

PASSWORD = 's3cret'
EMPTY_BASIC = {'Authorization': 'Basic Og=='}  # what wazo clients send with a refresh token


def offline_login(client, username: str, client_id: str, *, mobile: bool = False,
                  headers: dict | None = None, body: dict | None = None):
    """POST /token with access_type offline; mobile adds ``Wazo-Session-Type: mobile``."""
    extra = {'Wazo-Session-Type': 'mobile'} if mobile else {}
    return client.post('/0.1/token',
                       json={'access_type': 'offline', 'client_id': client_id, **(body or {})},
                       headers={**basic(username, PASSWORD), **extra, **(headers or {})})


def refresh_login(client, refresh_token: str, client_id: str, *, headers: dict | None = None,
                  prefix: str = '/0.1'):
    """POST /token with a refresh token, sending the empty Basic credentials wazo clients send."""
    return client.post(f'{prefix}/token',
                       json={'refresh_token': refresh_token, 'client_id': client_id},
                       headers=EMPTY_BASIC if headers is None else headers)


def token_of(client, username: str, **body) -> str:
    response = client.post('/0.1/token', json=body, headers=basic(username, PASSWORD))
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']['token']


def refresh_token_of(client, username: str, client_id: str, *, mobile: bool = False) -> str:
    response = offline_login(client, username, client_id, mobile=mobile)
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']['refresh_token']


def auth(token: str, tenant: uuid.UUID | str | None = None) -> dict[str, str]:
    headers = {'X-Auth-Token': token}
    if tenant is not None:
        headers['Wazo-Tenant'] = str(tenant)
    return headers


def is_valid(client, token: str) -> bool:
    status = client.head(f'/0.1/token/{token}').status_code
    assert status in (204, 404), status
    return status == 204


def assert_error(response, status: int, error_id: str) -> dict:
    """The response is the error envelope of spec D4 with this status and error_id."""
    body = assert_envelope(response, status)
    assert body['error_id'] == error_id, body
    return body


def rows(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def execute(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode('ascii')).digest()


def token_row(engine, token: str):
    """The auth_token row of an access-token value, or None."""
    found = rows(engine, 'SELECT * FROM auth_token WHERE token_hash = :h', h=digest(token))
    return found[0] if found else None


def refresh_rows(engine, user_uuid: uuid.UUID | None = None) -> list:
    if user_uuid is None:
        return rows(engine, 'SELECT * FROM auth_refresh_token ORDER BY created_at')
    return rows(engine, 'SELECT * FROM auth_refresh_token WHERE user_uuid = :u '
                        'ORDER BY created_at', u=user_uuid)


def expire_token(engine, token: str) -> None:
    execute(engine, "UPDATE auth_token SET expires_at = now() - interval '1 minute' "
                    'WHERE token_hash = :h', h=digest(token))


def make_tenant(sessions, parent: uuid.UUID, name: str) -> uuid.UUID:
    """A tenant below ``parent``, created straight in the database."""
    tenant_uuid = uuid.uuid4()
    with sessions.begin() as db:
        db.add(Tenant(uuid=tenant_uuid, parent_uuid=parent, name=name,
                      slug=f'{name}-{tenant_uuid.hex[:8]}'))
    return tenant_uuid
