"""What the database says when a concurrent request won a race past a service's checks, as
the service errors a caller can act on (http/errors.py answers them).

The services check before they write (the tenant exists, the policy exists, the name is
free), and lock where order matters; between a check and the write, another transaction may
still delete what is referenced or take what is unique. The database then has the last word:
- a foreign key whose referenced row is gone: the 404 of that row (a user, a policy...);
- a unique constraint no service mapped itself: 409;
- a deadlock or a serialization failure: nothing was written, and the same request sent again
  runs against the state the other transaction left (503 with Retry-After).
"""
from __future__ import annotations

import contextlib
import re

from sqlalchemy.exc import DBAPIError, IntegrityError

from ..exceptions import (Conflict, ConcurrentChange, ServiceError, UnknownClient,
                          UnknownGroup, UnknownPolicy, UnknownTenant, UnknownUser)

FOREIGN_KEY_VIOLATION = '23503'
UNIQUE_VIOLATION = '23505'
RETRY_CLASS = '40'  # transaction rollback: 40001 serialization failure, 40P01 deadlock
# PostgreSQL's detail of a foreign key violation by an insert or update:
# 'Key (tenant_uuid)=(...) is not present in table "tenant".'
_MISSING = re.compile(r'is not present in table "([a-z_]+)"')
_GONE = {'tenant': UnknownTenant, 'auth_user': UnknownUser, 'auth_policy': UnknownPolicy,
         'auth_group': UnknownGroup, 'auth_client': UnknownClient}


@contextlib.contextmanager
def unique_violations_as(error: ServiceError):
    """Raise ``error`` for a unique violation: a concurrent write won the race past our
    checks, and the database constraint had the last word (any other violation goes on, to
    ``service_error_of``)."""
    try:
        yield
    except IntegrityError as e:
        if getattr(e.orig, 'pgcode', '') == UNIQUE_VIOLATION:
            raise error from None
        raise


def service_error_of(error: BaseException) -> ServiceError | None:
    """The service error a database error of a race stands for, or None for the others."""
    if not isinstance(error, DBAPIError):
        return None
    code = getattr(error.orig, 'pgcode', None) or ''
    if code.startswith(RETRY_CLASS):
        return ConcurrentChange(headers={'Retry-After': '1'})
    if not isinstance(error, IntegrityError):
        return None
    if code == UNIQUE_VIOLATION:
        return Conflict()
    if code == FOREIGN_KEY_VIOLATION:
        detail = getattr(getattr(error.orig, 'diag', None), 'message_detail', None) or ''
        missing = _MISSING.search(detail)
        gone = _GONE.get(missing.group(1)) if missing else None
        return gone(details={}) if gone else Conflict()
    return None
