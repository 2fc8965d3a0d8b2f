"""URL map of the mail flows: password reset, e-mail confirmation, registration."""
from __future__ import annotations

from typing import Any

from . import email_confirmation as ec
from .api import PREFIXES, Api
from .password_reset import PasswordReset
from .pages import readable_errors
from .password_reset_page import PasswordResetPages
from .registration import Register


def register(api: Api, services: dict[str, Any]) -> None:
    confirmations = services['email_confirmation_service']
    api.route(PasswordReset, '/users/password/reset', resets=services['password_reset_service'])
    api.route(ec.ConfirmationRequest, '/users/<uuid:user_uuid>/emails/<uuid:email_uuid>/confirm',
              authorizer=services['authorizer'], confirmations=confirmations)
    api.route(ec.EmailConfirm, '/emails/<uuid:email_uuid>/confirm', confirmations=confirmations)
    api.route(Register, '/users/register', registrations=services['registration_service'],
              enabled=services['mail_settings'].registration_enabled)
    pages = PasswordResetPages(resets=services['password_reset_service'],
                               csrf_key=services['password_reset_csrf_key'])
    for prefix in PREFIXES:  # the page of a mailed reset link
        api.app.add_url_rule(f'{prefix}/users/password/reset/page', f'reset_page{prefix}',
                             readable_errors(pages.show), methods=['GET'])
        api.app.add_url_rule(f'{prefix}/users/password/reset/page', f'reset_submit{prefix}',
                             readable_errors(pages.submit), methods=['POST'])
