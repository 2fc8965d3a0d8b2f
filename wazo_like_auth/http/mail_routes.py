"""URL map of the mail flows: password reset, e-mail confirmation, registration."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import email_confirmation as ec
from .api import Api
from .password_reset import PasswordReset
from .registration import Register

if TYPE_CHECKING:
    from ..composition import Services


def register(api: Api, services: Services) -> None:
    confirmations = services.mail.email_confirmation
    api.route(PasswordReset, '/users/password/reset', resets=services.mail.password_reset)
    api.route(ec.ConfirmationRequest, '/users/<uuid:user_uuid>/emails/<uuid:email_uuid>/confirm',
              authorizer=services.authorizer, confirmations=confirmations)
    api.route(ec.EmailConfirm, '/emails/<uuid:email_uuid>/confirm', confirmations=confirmations)
    api.route(Register, '/users/register', registrations=services.mail.registration,
              enabled=services.mail.settings.registration_enabled)
