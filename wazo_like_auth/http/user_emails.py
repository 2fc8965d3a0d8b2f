"""A user's e-mail addresses (admin spec §1.9): replaced as a whole list."""
from __future__ import annotations

from ..exceptions import UnknownUser
from ..services.grants import Grants
from .admin_schemas import AdminEmailsSchema, EmailsSchema
from .auth import required_acl
from .body import json_object
from .users import UserResource, reach


class UserEmails(UserResource):
    """The user's own view: addresses and which is main; ``confirmed`` is not its to set."""

    @required_acl('auth.users.{user_uuid}.emails.update')
    def put(self, user_uuid, auth):
        body = EmailsSchema().load(json_object())
        return self._users.replace_emails(reach(auth, user_uuid), user_uuid, body['emails'],
                                          ensure_grantable=_grants(auth, user_uuid))


class AdminUserEmails(UserResource):
    """An administrator may also say whether each address is confirmed."""

    @required_acl('auth.admin.users.{user_uuid}.emails.update')
    def put(self, user_uuid, auth):
        body = AdminEmailsSchema().load(json_object())
        return self._users.replace_emails(reach(auth, user_uuid), user_uuid, body['emails'],
                                          ensure_grantable=_grants(auth, user_uuid))


class MyEmails(UserResource):
    """PUT /users/me/emails: UserEmails for the token's own user."""

    @required_acl('auth.users.me.emails.update')
    def put(self, auth):
        if auth.user_uuid is None:
            raise UnknownUser(details={'uuid': 'me'})
        body = EmailsSchema().load(json_object())
        return self._users.replace_emails(None, auth.user_uuid, body['emails'])


def _grants(auth, user_uuid):
    """For another user's addresses, the guard of what the caller may hand out: a new or
    newly confirmed address would receive that user's confirmation link or password resets."""
    return None if auth.user_uuid == user_uuid else Grants.of(auth).ensure_may_add
