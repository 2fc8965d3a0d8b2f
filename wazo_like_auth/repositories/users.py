"""User lookups for login and ACL assembly."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Email, GroupPolicy, Policy, User, UserGroup, UserPolicy


def find_enabled_by_login(session: Session, login: str) -> User | None:
    """The enabled user whose confirmed e-mail, else whose username, equals ``login``
    case-insensitively (wazo-token-api §1.2 step 5)."""
    lowered = login.lower()
    by_email = (select(User).join(Email, Email.user_uuid == User.uuid)
                .where(func.lower(Email.address) == lowered, Email.confirmed.is_(True),
                       User.enabled.is_(True)))
    user = session.scalars(by_email).first()
    if user is not None:
        return user
    by_username = select(User).where(func.lower(User.username) == lowered,
                                     User.enabled.is_(True))
    return session.scalars(by_username).first()


def get(session: Session, user_uuid: uuid.UUID) -> User | None:
    return session.get(User, user_uuid)


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(func.lower(User.username) == username.lower())).first()


def token_acl(session: Session, user_uuid: uuid.UUID, default_policy: str | None) -> list[str]:
    """The ACL a new token gets: default policy, then the user's groups' policies, then the
    user's own policies (wazo-token-api §1.3 step 3). Plain concatenation, order kept."""
    acl: list[str] = []
    if default_policy:
        default = session.scalars(select(Policy.acl).where(Policy.name == default_policy)
                                  .order_by(Policy.config_managed.desc()).limit(1)).first()
        acl.extend(default or [])
    groups = (select(Policy.acl).join(GroupPolicy, GroupPolicy.policy_uuid == Policy.uuid)
              .join(UserGroup, UserGroup.group_uuid == GroupPolicy.group_uuid)
              .where(UserGroup.user_uuid == user_uuid).order_by(Policy.name))
    own = (select(Policy.acl).join(UserPolicy, UserPolicy.policy_uuid == Policy.uuid)
           .where(UserPolicy.user_uuid == user_uuid).order_by(Policy.name))
    for query in (groups, own):
        for policy_acl in session.scalars(query):
            acl.extend(policy_acl)
    return acl
