"""Which user a login string names, for the login throttle and the login trail
(services/throttle.py, services/login_trail.py)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Email, User
from .login_match import login_passes, typed_first

_OWNER = (User.uuid, User.tenant_uuid, User.enabled)


def owner(session: Session, login: str) -> Any:
    """The user a login with ``login`` tries, as a row (uuid, tenant_uuid, enabled, then the
    login it matched): the enabled user with that confirmed e-mail, else the enabled user with
    that username, case-insensitively (the rule of users.find_enabled_by_login); else a
    disabled user it names (one more query, only then); else None."""
    for matches, same in login_passes(login):
        by_email = (select(*_OWNER, Email.address).join(Email, Email.user_uuid == User.uuid)
                    .where(matches(Email.address), Email.confirmed.is_(True)))
        by_username = select(*_OWNER, User.username).where(matches(User.username))
        for query, column in ((by_email, Email.address), (by_username, User.username)):
            enabled = query.where(User.enabled.is_(True)) \
                .order_by(typed_first(column, login), User.uuid)
            found = next((row for row in session.execute(enabled) if same(row[-1])), None)
            if found is not None:
                return found
    disabled = by_email.union_all(by_username)
    return next((row for row in session.execute(disabled) if same(row[-1])), None)


def user(session: Session, user_uuid: uuid.UUID) -> Any:
    """User ``user_uuid`` as a row (uuid, tenant_uuid, enabled), or None."""
    return session.execute(select(*_OWNER).where(User.uuid == user_uuid)).first()
