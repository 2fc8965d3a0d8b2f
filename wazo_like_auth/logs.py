"""Logging set-up, and the loggers of this package. Log lines never carry a token (only
tokens.redact) nor a password.

``log_format: plain`` (default) or ``json`` (one object per line); to stderr, or to
``log_filename`` when set.

Messages hold values from requests (logins, user agents, paths, addresses): both formatters
escape control characters in the message and the access fields (``\n`` → ``\\n``), so a
request can never write a line that looks like another log line (log forging). In the plain
format every line of a traceback is indented (and escaped), so no traceback line reads as a
log line either.

Every module logs through ``get_logger(__name__)``, whose records already hold their
arguments escaped: a record is safe before any formatter sees it, whatever handler renders it
(pytest's, or a host application's for the client library and the verifier, which run in other
processes with handlers that are not ours).
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from .tokens import redact_all

FORMAT = '%(asctime)s [%(process)d] (%(levelname)s) (%(name)s): %(message)s'
# Fields the access log adds to its records (http/request_log.py).
ACCESS_FIELDS = ('request_id', 'remote_addr', 'token', 'status', 'duration_ms', 'method', 'route')


# C0 and C1 control characters, DEL, the Unicode line and paragraph separators (what a
# terminal, a log viewer or a line-based collector may take as the end of a line or obey), and
# lone surrogates (which a UTF-8 log file cannot hold: the line would be lost).
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_NAMED = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def escape(value: object) -> str:
    """``value`` as text with every control character written as an escape (``\\n``,
    ``\\x1b``, ``\\u2028``): one line, nothing a terminal would interpret."""
    return _CONTROL.sub(_escaped, str(value))


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f'\\x{ord(char):02x}' if ord(char) < 0x100 else f'\\u{ord(char):04x}'


def get_logger(name: str) -> EscapingLogger:
    """The logger of a module of this package: ``logging.getLogger(name)``, its records'
    arguments escaped."""
    return EscapingLogger(logging.getLogger(name), None)


class EscapingLogger(logging.LoggerAdapter):
    """Writes every argument of a message that is not a number, the message itself, and the
    text fields of ``extra``, escaped (``escape``) into the record: its rendered message is
    one line with no control character, whatever a request put in a login, a user agent, a
    forwarded address, a client_id or an exception message. Numbers stay numbers (``%d``,
    ``%.1f``); an escaped argument renders as the original would (``%s`` and ``%r``).

    An adapter, because neither alternative covers exactly this package: a filter on the
    ``wazo_like_auth`` logger sees only the records made by that logger itself, not by its
    children; a record factory is process-wide (a host application's records too)."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
            args = ({key: _safe(value) for key, value in args[0].items()},)
        else:
            args = tuple(_safe(arg) for arg in args)
        if kwargs.get('extra'):
            kwargs['extra'] = {key: escape(value) if isinstance(value, str) else value
                               for key, value in kwargs['extra'].items()}
        # The record names the caller's module and line, not this method's.
        kwargs['stacklevel'] = kwargs.get('stacklevel', 1) + 1
        self.logger.log(level, escape(msg) if isinstance(msg, str) else _Escaped(msg), *args,
                        **kwargs)


class _Escaped:
    """An argument rendered escaped, by ``%s`` as by ``%r``, and cut after MAX_ARGUMENT
    characters: a request value (a login of nearly rest_api.max_body_size) is no log line of
    a megabyte, as often as a client cares to send it."""
    __slots__ = ('value',)

    def __init__(self, value: Any):
        self.value = value

    def __str__(self) -> str:
        return escape(_cut(str(self.value)))

    def __repr__(self) -> str:
        return escape(_cut(repr(self.value)))


MAX_ARGUMENT = 2048


def _cut(text: str) -> str:
    if len(text) <= MAX_ARGUMENT:
        return text
    return f'{text[:MAX_ARGUMENT]}... ({len(text) - MAX_ARGUMENT} more characters)'


def _safe(arg: Any) -> Any:
    return arg if isinstance(arg, (int, float)) else _Escaped(arg)


def _escaped_message(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` whose message is formatted and escaped."""
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = escape(record.getMessage()), None
    return copy


class PlainFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(_escaped_message(record))
        extras = [f'{name}={escape(getattr(record, name))}' for name in ACCESS_FIELDS
                  if name in ('request_id', 'remote_addr', 'token') and getattr(record, name, '')]
        if not extras:
            return line
        first, newline, rest = line.partition('\n')
        return f'{first} {" ".join(extras)}{newline}{rest}'

    def formatException(self, ei) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    # A traceback quotes exception messages, which may quote request values (a driver's
    # error quoting what it was given): each of its lines indented, and escaped (an ANSI
    # escape in a value would otherwise reach the terminal or viewer reading the log).
    return '\n'.join('    ' + escape(line) for line in _redacted(text).splitlines())


def _redacted(traceback: str) -> str:
    # An exception message may quote a value it was given: a token where a uuid was expected
    # (psycopg2's "invalid input syntax for type uuid"), a path or a query string. Tracebacks
    # are rare and not for counting users, so every token-shaped part (uuids included) goes.
    return redact_all(traceback)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {'time': self.formatTime(record), 'level': record.levelname,
                 'logger': record.name, 'process': record.process,
                 'message': escape(record.getMessage())}
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS
                      if hasattr(record, name)})
        if record.exc_info:
            entry['exception'] = _redacted(self.formatException(record.exc_info))
        return json.dumps(entry)


def setup_logging(config: dict) -> None:
    handler: logging.Handler
    if config['log_filename']:
        handler = logging.FileHandler(config['log_filename'])
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if config['log_format'] == 'json' else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config['log_level'].upper())
    # alembic narrates every plugin it loads at INFO; only its warnings matter here.
    logging.getLogger('alembic').setLevel(max(logging.WARNING, root.level))


@contextlib.contextmanager
def restored() -> Iterator[None]:
    """Within, ``setup_logging`` may replace the root logger's handlers and levels; on the way
    out the handlers and levels found on entry are back, and every handler installed meanwhile
    is closed. Whoever calls a command in-process (a test, a script embedding the CLI) keeps
    its own logging, and no handler is left writing to a stream its owner has closed since (a
    test's captured stderr: "--- Logging error ---" at the next log line)."""
    root, alembic = logging.getLogger(), logging.getLogger('alembic')
    handlers, levels = root.handlers[:], (root.level, alembic.level)
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        alembic.setLevel(levels[1])
