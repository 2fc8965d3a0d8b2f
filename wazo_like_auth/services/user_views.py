"""How users look in responses (admin spec §1.1), and the names user lists sort and filter
by (§1.4; their columns: repositories/user_listing.py)."""
from __future__ import annotations

from typing import Any

from ..models import Email, User


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


LIST_SORT = ('username', 'firstname', 'lastname')
LIST_FILTERS = ('uuid', 'username', 'firstname', 'lastname', 'purpose', 'email_address',
                'group_uuid', 'policy_uuid', 'policy_slug', 'has_policy_uuid', 'has_policy_slug')
