"""Logging set-up. Log lines never carry a token (only tokens.redact) nor a password.

``log_format: plain`` (default) or ``json`` (one object per line); to stderr, or to
``log_filename`` when set.

Messages hold values from requests (logins, user agents, paths, addresses): both formatters
escape control characters in the message and the access fields (``\n`` → ``\\n``), so a
request can never write a line that looks like another log line (log forging). In the plain
format every line of a traceback is indented, so no traceback line reads as a log line either.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator

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
    # A traceback quotes exception messages, which may quote request values.
    return '\n'.join('    ' + line for line in text.splitlines())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {'time': self.formatTime(record), 'level': record.levelname,
                 'logger': record.name, 'process': record.process,
                 'message': escape(record.getMessage())}
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS
                      if hasattr(record, name)})
        if record.exc_info:
            entry['exception'] = self.formatException(record.exc_info)
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
