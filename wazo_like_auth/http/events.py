"""GET /events: the audit trail (services/audit_trail.py), a list like the others.

Filters: ``name`` (one name or a comma-separated list, exact), ``user_uuid``, ``login`` (the
login string of login events, any case), ``since`` (inclusive) and ``until`` (exclusive), ISO
8601 times with an offset (``2026-12-06T08:00:00Z``, ``...+01:00``). Newest first by default.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

from flask import request

from ..clock import as_utc
from ..services.audit_trail import SORT_COLUMNS, AuditTrail, EventFilters
from ..services.authorization import Authorizer
from .auth import ProtectedResource, required_acl
from .listing import invalid_param, list_query, text_param

_NAME = re.compile(r'[a-z][a-z0-9_]{0,99}')
MAX_NAMES = 50
# A '+' of an offset that reached us as a space (an unencoded '+' in a query string).
_SPACED_OFFSET = re.compile(r' (\d{2}(:?\d{2})?)$')


class Events(ProtectedResource):
    def __init__(self, *, authorizer: Authorizer, trail: AuditTrail):
        super().__init__(authorizer=authorizer)
        self._trail = trail

    @required_acl('auth.events.read')
    def get(self, auth):
        query = list_query(sort_columns=tuple(SORT_COLUMNS), default_order='occurred_at',
                           default_direction='desc')
        page = self._trail.list(auth.tenant_uuid, auth.visible_tenants(query.recurse), query,
                                event_filters(), reach=auth.visible_tenants())
        return page.as_dict()


def event_filters() -> EventFilters:
    """The filters of the current request; 400 ``invalid-list-param`` naming a bad one."""
    args = request.args
    return EventFilters(names=_names(text_param(args, 'name')),
                        user_uuid=_uuid(text_param(args, 'user_uuid')),
                        login=text_param(args, 'login') or None,
                        since=_time('since', text_param(args, 'since')),
                        until=_time('until', text_param(args, 'until')))


def _names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in value.split(',') if n.strip()))
    if len(names) > MAX_NAMES or not all(_NAME.fullmatch(n) for n in names):
        raise invalid_param('name', f'Event names (a-z, 0-9, _), at most {MAX_NAMES}, '
                                    'separated by commas.', 'type')
    return names


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_param('user_uuid', 'Not a valid UUID.', 'type') from None


def _time(name: str, value: str | None) -> dt.datetime | None:
    """An ISO 8601 time with an offset; a naive time is refused (whose midnight?)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(_SPACED_OFFSET.sub(r'+\1', value.strip()))
        moment = as_utc(moment) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise invalid_param(name, 'Not an ISO 8601 time with an offset '
                                  '(e.g. 2026-12-06T08:00:00Z or 2026-12-06T09:00:00+01:00).',
                            'type')
    return moment
