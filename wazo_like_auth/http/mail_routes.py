"""URL map of the mail flows: password reset, e-mail confirmation, registration."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import email_confirmation as ec
from .api import PREFIXES, Api
from .password_reset import PasswordReset
from .pages import readable_errors
from .password_reset_page import PasswordResetPages
from .registration import Register

if TYPE_CHECKING:
    from ..composition import Services


def register(api: Api, services: Services) -> None:
    confirmations = services.mail.email_confirmation
    api.route(PasswordReset, '/users/password/reset', resets=services.mail.password_reset)
    api.route(ec.ConfirmationRequest, '/users/<uuid:user_uuid>/emails/<uuid:email_uuid>/confirm',
              authorizer=services.authorizer, confirmations=confirmations)
    # Any segment, not <uuid:...>: a mangled link's GET gets the readable page, not JSON.
    api.route(ec.EmailConfirm, '/emails/<email_uuid>/confirm', confirmations=confirmations)
    api.route(Register, '/users/register', registrations=services.mail.registration,
              enabled=services.mail.settings.registration_enabled)
    pages = PasswordResetPages(resets=services.mail.password_reset,
                               csrf_key=services.mail.reset_page_csrf_key)
    for prefix in PREFIXES:  # the page of a mailed reset link
        api.app.add_url_rule(f'{prefix}/users/password/reset/page', f'reset_page{prefix}',
                             readable_errors(pages.show), methods=['GET'])
        api.app.add_url_rule(f'{prefix}/users/password/reset/page', f'reset_submit{prefix}',
                             readable_errors(pages.submit), methods=['POST'])
