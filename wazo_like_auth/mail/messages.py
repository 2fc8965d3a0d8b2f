"""Mail templates and message composition.

Templates are files named ``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html``; a file of
the same name in ``mail.templates_dir`` replaces the packaged one (each file on its own). They
are Jinja2: the HTML one is autoescaped, the text ones are not (no HTML in them). The packaged
defaults are short and language-neutral in form: no locale-dependent dates (expiry as UTC
``YYYY-MM-DD HH:MM``), the link on a line of its own; operators translate them by overriding
the files. With ``mail.templates_dir`` set, the configuration check reads and renders them
all (``check_templates``).

A recipient with an ASCII local part and an international domain is written with the domain's
ASCII form (``_ascii_domain``): the same mailbox, and the message then needs no SMTPUTF8, which
many relays lack (refused for good, the mail was lost and a registration undone).

Header injection is impossible by construction: headers are set through ``email.headerregistry``
(an ``Address`` for each party), the display name and subject are stripped of every control
character before use, and the library refuses any header value still holding CR or LF. No text
of ours opens an RFC 2047 encoded word (``=?utf-8?b?...?=``): Python's email package (before
3.11.10 and 3.12.5) decodes one while writing the header, line breaks included, so a username
or an address holding one wrote headers (a Bcc, a whole body) into the mail. The display name
and subject have their ``=?`` broken as ``= ?``; an address holding one is refused.
"""
from __future__ import annotations

import email.policy
import email.utils
import re
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

DEFAULT_TEMPLATES = Path(__file__).parent / 'templates'
KINDS = ('password_reset', 'email_confirmation')
SUFFIXES = ('.subject.txt', '.txt', '.html')
MAX_DISPLAY_NAME = 100
MAX_SUBJECT = 200
# What a mail's templates are rendered with (services/mail_sender.py), for the check.
_SAMPLE = {'link': 'https://auth.example.com/0.1/x', 'address': 'someone@example.com',
           'expires_at': '2030-01-01 00:00'}


class BadRecipient(ValueError):
    """The recipient address cannot be written in a message (never deliverable)."""


class TemplateProblem(ValueError):
    """A mail template that cannot be read, parsed or rendered; the message names its file."""


def _environment(templates_dir: str | None) -> jinja2.Environment:
    """Sandboxed: a template reaches no attribute of Python's internals, and a range over
    100,000 items fails (in check_templates, at start-up) instead of rendering for ever."""
    loaders = [jinja2.FileSystemLoader(templates_dir)] if templates_dir else []
    loaders.append(jinja2.FileSystemLoader(DEFAULT_TEMPLATES))
    return SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=('html',),
                                            default_for_string=False, default=False))


def check_templates(templates_dir: str | None) -> None:
    """Read and render every template as a mail would (with and without a username): a
    broken override stops start-up instead of every mail of its kind. Raises TemplateProblem
    naming the first one that fails (its file, the line of a syntax error)."""
    env = _environment(templates_dir)
    for name in (kind + suffix for kind in KINDS for suffix in SUFFIXES):
        try:
            template = env.get_template(name)
            for username in ('someone', None):
                template.render({**_SAMPLE, 'username': username})
        except jinja2.TemplateSyntaxError as e:
            raise TemplateProblem(f'{e.filename or name}, line {e.lineno}: {e.message}') \
                from None
        except OSError as e:
            raise TemplateProblem(f'{e.filename or name}: {e.strerror}') from None
        except UnicodeDecodeError:
            raise TemplateProblem(f'{_file_of(templates_dir, name)}: not UTF-8 text') from None
        except Exception as e:  # an unknown variable, a filter failing on the sample...
            raise TemplateProblem(f'{_file_of(templates_dir, name)}: cannot be used: '
                                  f'{type(e).__name__}: {e}') from None


def _file_of(templates_dir: str | None, name: str) -> Path:
    """The file template ``name`` is read from: the override, else the packaged one."""
    override = Path(templates_dir or '') / name
    return override if templates_dir and override.is_file() else DEFAULT_TEMPLATES / name


class MailComposer:
    def __init__(self, *, templates_dir: str | None, from_address: str, from_name: str | None):
        self._env = _environment(templates_dir)
        self._sender = Address(display_name=clean_display_name(from_name or ''),
                               addr_spec=from_address)
        self._domain = from_address.rpartition('@')[2]

    def compose(self, kind: str, recipient: str, display_name: str | None,
                context: dict[str, Any]) -> EmailMessage:
        """The message of ``kind`` to ``recipient``; raises BadRecipient for an address that
        no message can carry."""
        message = EmailMessage(policy=email.policy.SMTP)
        subject = self._env.get_template(kind + '.subject.txt').render(context)
        message['Subject'] = clean_header_text(subject)[:MAX_SUBJECT]
        message['From'] = self._sender
        message['To'] = _address(recipient, display_name)
        message['Date'] = email.utils.formatdate(usegmt=True)
        message['Message-ID'] = email.utils.make_msgid(domain=self._domain)
        message['Auto-Submitted'] = 'auto-generated'  # RFC 3834: no auto-replies to us
        message.set_content(self._env.get_template(kind + '.txt').render(context))
        message.add_alternative(self._env.get_template(kind + '.html').render(context),
                                subtype='html')
        return message


def _address(recipient: str, display_name: str | None) -> Address:
    local, at, domain = recipient.rpartition('@')
    if not at or not local or not domain or any(unicodedata.category(c)[0] in 'CZ'
                                                 for c in recipient if c != ' ') \
            or ' ' in recipient or '=?' in recipient:  # an encoded word: see the module doc
        raise BadRecipient('not a deliverable address')
    if len(local) > 1 and local[0] == local[-1] == '"':
        # A quoted local part ("john.smith") names its unquoted mailbox; Address quotes a
        # username again where it must, so given as typed it was quoted twice: another box.
        local = re.sub(r'\\(.)', r'\1', local[1:-1])
    try:
        return Address(display_name=clean_display_name(display_name or ''),
                       username=local, domain=_ascii_domain(local, domain))
    except (ValueError, IndexError, TypeError) as e:
        raise BadRecipient(str(e)) from None


def _ascii_domain(local: str, domain: str) -> str:
    """``domain`` in its ASCII form (``xn--`` labels) when ``local`` is ASCII and the
    conversion is exact, else as it is. Exact: converted back it is ``domain`` (case and
    Unicode normalization aside). The stdlib's IDNA 2003 maps some characters to others (ß to
    ss, final sigma to sigma): another domain, which must never get the mail; such a domain
    keeps needing a relay with SMTPUTF8."""
    if domain.isascii() or not local.isascii():
        return domain
    try:
        ascii_domain = domain.encode('idna').decode('ascii')
        back = ascii_domain.encode('ascii').decode('idna')
    except UnicodeError:  # not a valid IDNA 2003 name (too long, a newer character...)
        return domain
    same = unicodedata.normalize('NFC', domain.lower()) == unicodedata.normalize('NFC', back)
    return ascii_domain if same else domain


def clean_display_name(value: str) -> str:
    """A display name safe in a header: control and format characters (CR, LF, NUL, bidi
    overrides...) become spaces, whitespace collapses, length is bounded."""
    return clean_header_text(value)[:MAX_DISPLAY_NAME]


def clean_header_text(value: str) -> str:
    """``value`` on one line, fit for a header: control and format characters become spaces,
    whitespace collapses, and no encoded word opens (``=?`` becomes ``= ?``; module doc)."""
    cleaned = ''.join(' ' if unicodedata.category(c) in ('Cc', 'Cf', 'Zl', 'Zp') else c
                      for c in value)
    return ' '.join(cleaned.split()).replace('=?', '= ?')
