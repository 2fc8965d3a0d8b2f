"""SMTP delivery with the stdlib: one connection per batch, failures sorted.

``TemporaryFailure`` (connection refused or lost, timeouts, 4xx answers, authentication or
sender refused — things an operator or time fixes): the mail is retried later.
``PermanentFailure`` (5xx for the recipient or the message, no SMTPUTF8 for an international
address): retrying cannot help; the mail is dropped.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from ..mail_settings import SmtpSettings


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class SmtpConnection:
    """A context manager around an open, authenticated SMTP session."""

    def __init__(self, settings: SmtpSettings):
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        s = self._settings
        try:
            if s.security == 'tls':
                self._smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                              context=self._tls())
            else:
                self._smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == 'starttls':
                    self._smtp.starttls(context=self._tls())
            if s.username:
                self._smtp.login(s.username, s.password)
        except (OSError, smtplib.SMTPException) as e:
            self._close()
            raise TemporaryFailure(_describe(e)) from None
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def send(self, message: EmailMessage) -> None:
        assert self._smtp is not None
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise (PermanentFailure if all(c >= 500 for c in codes) else TemporaryFailure)(
                f'recipient refused ({", ".join(map(str, codes))})') from None
        except smtplib.SMTPNotSupportedError as e:
            raise PermanentFailure(_describe(e)) from None
        except smtplib.SMTPDataError as e:
            raise (PermanentFailure if e.smtp_code >= 500 else TemporaryFailure)(
                _describe(e)) from None
        except (OSError, smtplib.SMTPException) as e:
            raise TemporaryFailure(_describe(e)) from None
        if refused:  # one recipient per message: not reached, but never silently lost
            raise PermanentFailure('recipient refused')

    def _tls(self) -> ssl.SSLContext:
        """Certificate and host name always verified, against ``ca_file`` when given."""
        return ssl.create_default_context(cafile=self._settings.ca_file)

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _describe(error: Exception) -> str:
    """The failure for a log line: the class and SMTP code, never the server's text (which
    may echo the recipient address)."""
    code = getattr(error, 'smtp_code', None)
    return f'{type(error).__name__}' + (f' {code}' if code else '')
