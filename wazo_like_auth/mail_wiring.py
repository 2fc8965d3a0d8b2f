"""Builds the mail flows (password reset, e-mail confirmation, registration) and their sender
from the configuration and the core services (called by composition.build_services)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from . import mail_tokens
from .config_secret import token_secret
from .mail.messages import MailComposer
from .mail_settings import MailSettings
from .passwords import PasswordHasher
from .services.authorization import Authorizer
from .services.email_confirmation import EmailConfirmationService
from .services.mail_budget import MailRequestBudget
from .services.mail_sender import MailSender
from .services.password_reset import REQUEST_KIND, PasswordResetService
from .services.registration import RegistrationService


@dataclass(frozen=True)
class Mail:
    """The mail flows of Services (services.mail)."""
    settings: MailSettings
    sender: MailSender
    password_reset: PasswordResetService
    email_confirmation: EmailConfirmationService
    registration: RegistrationService
    reset_page_csrf_key: bytes  # the reset page's CSRF key, derived from the token secret


def build(config: dict, *, engine: Engine, sessions: sessionmaker, hasher: PasswordHasher,
          authorizer: Authorizer) -> Mail:
    settings = MailSettings.from_config(config)
    key = mail_tokens.mail_key(token_secret(config))
    budget = MailRequestBudget(window=settings.request_window)
    composer = MailComposer(templates_dir=settings.templates_dir,
                            from_address=settings.smtp.from_address,
                            from_name=settings.smtp.from_name)
    notify = _Deferred()
    common = dict(sessions=sessions, budget=budget, settings=settings, notify=notify)
    resets = PasswordResetService(hasher=hasher, authorizer=authorizer, key=key, **common)
    confirmations = EmailConfirmationService(authorizer=authorizer, key=key, **common)
    registrations = RegistrationService(hasher=hasher, confirmations=confirmations, **common)
    sender = MailSender(engine=engine, sessions=sessions, settings=settings, composer=composer,
                        key=key, resolvers={REQUEST_KIND: resets.resolve},
                        on_rejected=registrations.forget)
    notify.target = sender.notify
    return Mail(settings=settings, sender=sender, password_reset=resets,
                email_confirmation=confirmations, registration=registrations,
                # Key separation: the reset page's CSRF key is derived with its own label.
                reset_page_csrf_key=hmac.new(token_secret(config), b'password-reset-page-csrf',
                                             hashlib.sha256).digest())


class _Deferred:
    """``notify`` for the services, bound to the sender once it exists."""
    target = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()
