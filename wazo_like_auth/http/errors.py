"""The one place where exceptions become HTTP answers (spec D4).

Every 4xx/5xx body is the same envelope, including routing errors and framework errors:
``{"message", "error_id", "details", "timestamp", "reason": [message], "status_code"}``.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Response, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .. import tokens
from ..exceptions import DatabaseUnavailable, InvalidData, ServiceError
from ..logs import get_logger
from ..services import concurrency

logger = get_logger(__name__)

_HTTP_ERROR_IDS = {
    400: 'invalid-data', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found',
    405: 'method-not-allowed', 413: 'payload-too-large', 414: 'uri-too-long',
    415: 'unsupported-media-type', 429: 'too-many-requests',
}


def envelope(status: int, error_id: str, message: str,
             details: dict[str, Any] | None = None,
             resource: str | None = None) -> dict[str, Any]:
    body = {
        'message': message,
        'error_id': error_id,
        'details': details or {},
        'timestamp': time.time(),
        'reason': [message],
        'status_code': status,
    }
    if resource:
        body['resource'] = resource
    return body


def error_response(status: int, error_id: str, message: str,
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None,
                   resource: str | None = None) -> Response:
    body = json.dumps(envelope(status, error_id, message, details, resource))
    response = Response(body, status=status, mimetype='application/json')
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_error(error: BaseException) -> Response:
    """Map any exception to the envelope; unknown ones are logged and answered 500."""
    if isinstance(error, ServiceError):
        resource = error.resource
        if resource is None and error.error_id == InvalidData.error_id:
            resource = _body_resource()
        return error_response(error.status_code, error.error_id, error.message, error.details,
                              error.headers, resource)
    if isinstance(error, ValidationError):
        return error_response(400, InvalidData.error_id, 'Invalid data',
                              _details(error.messages), resource=_body_resource())
    meant = database_error_meaning(error)
    if meant is not None:
        return error_response(meant.status_code, meant.error_id, meant.message,
                              meant.details, meant.headers, meant.resource)
    if isinstance(error, HTTPException):
        status = error.code or 500
        headers = {}
        if status == 405 and error.valid_methods:
            headers['Allow'] = ', '.join(error.valid_methods)
        return error_response(status, _HTTP_ERROR_IDS.get(status, 'http-error'),
                              error.description or error.name, headers=headers)
    logger.exception('Unexpected error on %s %s', request.method, _logged_path())
    return error_response(500, 'internal-error', 'Internal Server Error')


def database_error_meaning(error: BaseException) -> ServiceError | None:
    """What a database error means to the caller, logged: a race lost past the service's
    checks (404, 409, 503 concurrent-change: services/concurrency.py), or the database
    unavailable (503); None for any other error."""
    raced = concurrency.service_error_of(error)
    if raced is not None:
        logger.warning('Concurrent change on %s %s: %s answered %d %s', request.method,
                       _logged_path(), type(getattr(error, 'orig', error)).__name__,
                       raced.status_code, raced.error_id)
        return raced
    if _database_down(error):
        _log_database_error(error)
        return DatabaseUnavailable()
    return None


def _log_database_error(error: BaseException) -> None:
    if isinstance(error, PoolTimeout):
        # Not necessarily an outage: every connection stayed busy (overload, slow statements).
        # Said so, an operator looks at the load and db_pool_size, not only at PostgreSQL.
        logger.warning('No free database connection in time on %s %s: every connection of '
                       "this worker's pool (db_pool_size) stayed busy for db_connect_timeout",
                       request.method, _logged_path())
    else:
        logger.warning('Database unavailable on %s %s: %s', request.method, _logged_path(),
                       type(error).__name__)


def log_unhandled(exc_info) -> None:
    """Log an exception no error handler saw (one raised by an after_request hook, after the
    answer was made), in place of Flask's own line, which quotes the raw path: the token of
    /token/{t}, and whatever a client put in it."""
    logger.error('Unexpected error on %s %s', request.method, _logged_path(), exc_info=exc_info)


def _body_resource() -> str | None:
    """The ``resource`` wazo-auth names in an invalid-data error of this endpoint (admin spec
    §0.4): ``emails`` for e-mail lists, else ``users``, ``tenants`` or ``groups`` by the
    endpoint's family; None elsewhere (policies, clients, tokens: no resource there)."""
    rule = request.url_rule.rule if request.url_rule else ''
    if rule.endswith('/emails'):
        return 'emails'
    family = rule.split('/0.1/', 1)[-1].split('/', 1)[0]
    return family if family in ('users', 'tenants', 'groups') else None


def _logged_path() -> str:
    # Token checks and revocations carry the token in the path (design rule 9).
    return tokens.redact_all(request.path)


def _details(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {'_schema': messages}


def _database_down(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
