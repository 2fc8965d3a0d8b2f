"""How users look in responses (admin spec §1.1) and how user lists filter (§1.4)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select

from ..models import Email, GroupPolicy, Policy, User, UserGroup, UserPolicy
from .listing import Condition


def email_view(email: Email) -> dict[str, Any]:
    return {'uuid': str(email.uuid), 'address': email.address, 'main': email.main,
            'confirmed': email.confirmed}


def user_view(user: User, emails: list[Email]) -> dict[str, Any]:
    """The nine keys of every user response and list item; never a password hash."""
    return {
        'uuid': str(user.uuid),
        'username': user.username,
        'firstname': user.firstname,
        'lastname': user.lastname,
        'purpose': user.purpose,
        'emails': [email_view(email) for email in emails],
        'enabled': user.enabled,
        'tenant_uuid': str(user.tenant_uuid),
        'authentication_method': user.authentication_method,
    }


def _has_email(value: str) -> Any:
    return exists().where(Email.user_uuid == User.uuid, Email.address == value)


def _in_group(value: str) -> Any:
    return exists().where(UserGroup.user_uuid == User.uuid,
                          cast(UserGroup.group_uuid, String) == value)


def _policy_filter(column: Any, through_groups: bool) -> Condition:
    """A filter on the user's policies: attached directly, or also through its groups."""
    def build(value: str) -> Any:
        matches = cast(column, String) == value
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
    'policy_uuid': _policy_filter(Policy.uuid, through_groups=False),
    'policy_slug': _policy_filter(Policy.slug, through_groups=False),
    'has_policy_uuid': _policy_filter(Policy.uuid, through_groups=True),
    'has_policy_slug': _policy_filter(Policy.slug, through_groups=True),
    'addresses': _ADDRESSES,
}
LIST_SORT = ('username', 'firstname', 'lastname')
LIST_FILTERS = ('uuid', 'username', 'firstname', 'lastname', 'purpose', 'email_address',
                'group_uuid', 'policy_uuid', 'policy_slug', 'has_policy_uuid', 'has_policy_slug')
LIST_SEARCHABLE = ('firstname', 'lastname', 'username', 'addresses')
