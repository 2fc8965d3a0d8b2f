"""Which user a login string names, for the login throttle (services/throttle.py)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Email, User


def user_named(session: Session, login: str) -> uuid.UUID | None:
    """The user a login with ``login`` would try: the enabled user with that confirmed
    e-mail, else the enabled user with that username, case-insensitively (the rule of
    users.find_enabled_by_login, reading only the uuid)."""
    lowered = login.lower()
    by_email = (select(User.uuid).join(Email, Email.user_uuid == User.uuid)
                .where(func.lower(Email.address) == lowered, Email.confirmed.is_(True),
                       User.enabled.is_(True)).limit(1))
    found = session.scalar(by_email)
    if found is not None:
        return found
    return session.scalar(select(User.uuid).where(func.lower(User.username) == lowered,
                                                  User.enabled.is_(True)).limit(1))
