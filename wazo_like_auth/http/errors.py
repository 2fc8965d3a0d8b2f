"""The one place where exceptions become HTTP answers (spec D4).

Every 4xx/5xx body is the same envelope, including routing errors and framework errors:
``{"message", "error_id", "details", "timestamp", "reason": [message], "status_code"}``.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .. import tokens
from ..exceptions import DatabaseUnavailable, InvalidData, ServiceError

logger = logging.getLogger(__name__)

_HTTP_ERROR_IDS = {
    400: 'invalid-data', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found',
    405: 'method-not-allowed', 413: 'payload-too-large', 414: 'uri-too-long',
    415: 'unsupported-media-type', 429: 'too-many-requests',
}


def envelope(status: int, error_id: str, message: str,
             details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        'message': message,
        'error_id': error_id,
        'details': details or {},
        'timestamp': time.time(),
        'reason': [message],
        'status_code': status,
    }


def error_response(status: int, error_id: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(envelope(status, error_id, message, details))
    response = Response(body, status=status, mimetype='application/json')
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_error(error: BaseException) -> Response:
    """Map any exception to the envelope; unknown ones are logged and answered 500."""
    if isinstance(error, ServiceError):
        return error_response(error.status_code, error.error_id, error.message, error.details,
                              error.headers)
    if isinstance(error, ValidationError):
        return error_response(400, InvalidData.error_id, 'Invalid data',
                              _details(error.messages))
    if _database_down(error):
        logger.warning('Database unavailable on %s %s: %s', request.method, _logged_path(),
                       type(error).__name__)
        error = DatabaseUnavailable()
        return error_response(error.status_code, error.error_id, error.message)
    if isinstance(error, HTTPException):
        status = error.code or 500
        headers = {}
        if status == 405 and error.valid_methods:
            headers['Allow'] = ', '.join(error.valid_methods)
        return error_response(status, _HTTP_ERROR_IDS.get(status, 'http-error'),
                              error.description or error.name, headers=headers)
    logger.exception('Unexpected error on %s %s', request.method, _logged_path())
    return error_response(500, 'internal-error', 'Internal Server Error')


def _logged_path() -> str:
    # Token checks and revocations carry the token in the path (design rule 9).
    return tokens.redact_all(request.path)


def _details(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {'_schema': messages}


def _database_down(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
