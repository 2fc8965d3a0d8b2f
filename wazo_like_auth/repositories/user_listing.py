"""The columns user lists sort, filter and search on (admin spec §1.4)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_, select

from ..models import Email, GroupPolicy, Policy, User, UserGroup, UserPolicy
from .listing import Condition


def _has_email(value: str) -> Any:
    return exists().where(Email.user_uuid == User.uuid, Email.address == value)


def _in_group(value: str) -> Any:
    return exists().where(UserGroup.user_uuid == User.uuid,
                          cast(UserGroup.group_uuid, String) == value)


def _policy_filter(column: Any, through_groups: bool, visible: Any) -> Condition:
    """A filter on the user's policies: attached directly, or also through its groups; a
    policy for which ``visible`` is false matches nothing."""
    def build(value: str) -> Any:
        matches = and_(cast(column, String) == value, visible)
        direct = exists().where(UserPolicy.user_uuid == User.uuid,
                                UserPolicy.policy_uuid == Policy.uuid, matches)
        if not through_groups:
            return direct
        grouped = exists().where(UserGroup.user_uuid == User.uuid,
                                 GroupPolicy.group_uuid == UserGroup.group_uuid,
                                 GroupPolicy.policy_uuid == Policy.uuid, matches)
        return or_(direct, grouped)
    return Condition(build)


# Every address of the user in one text, for ``search``.
_ADDRESSES = select(func.string_agg(Email.address, ' ')) \
    .where(Email.user_uuid == User.uuid).correlate(User).scalar_subquery()

LIST_COLUMNS = {
    'username': User.username.collate('C'),
    'firstname': User.firstname.collate('C'),
    'lastname': User.lastname.collate('C'),
    'uuid': User.uuid,
    'purpose': User.purpose,
    'email_address': Condition(_has_email),
    'group_uuid': Condition(_in_group),
    'addresses': _ADDRESSES,
}


POLICY_FILTERS = frozenset({'policy_uuid', 'policy_slug', 'has_policy_uuid', 'has_policy_slug'})


def policy_columns(visible: Any) -> dict[str, Condition]:
    """The ``policy_uuid``/``policy_slug`` (direct) and ``has_policy_uuid``/``has_policy_slug``
    (direct or through a group) filters of ``GET /users``, naming only the policies for which
    ``visible`` (a condition on Policy: the caller's, policies.visible) holds: a policy the
    caller cannot see matches nothing, as an unknown one, so the filter tells neither that it
    exists nor which users hold it."""
    return {'policy_uuid': _policy_filter(Policy.uuid, False, visible),
            'policy_slug': _policy_filter(Policy.slug, False, visible),
            'has_policy_uuid': _policy_filter(Policy.uuid, True, visible),
            'has_policy_slug': _policy_filter(Policy.slug, True, visible)}
LIST_SEARCHABLE = ('firstname', 'lastname', 'username', 'addresses')
