"""Everything the service logs, captured at DEBUG, and the checks that no secret and no raw
control character from a request is in it.

``capture_all_logs()`` puts a handler on the root logger at DEBUG (and DEBUG on the loggers
of the libraries the service runs on: SQLAlchemy's engine and pool, werkzeug, granian), so
every record of any logger of the process reaches it; each record is kept as its rendered
message and as both of the service's formatters write it (plain and JSON, tracebacks
included). Restored on exit.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from wazo_like_auth.logs import JsonFormatter, PlainFormatter

# The loggers of the library parts the service runs on, at DEBUG: their records are the
# service's log too (SQLAlchemy's engine logs statements at INFO and result rows at DEBUG).
LIBRARY_LOGGERS = ('sqlalchemy', 'sqlalchemy.engine', 'sqlalchemy.engine.Engine',
                   'sqlalchemy.pool', 'werkzeug', '_granian', 'granian.access', 'alembic')
# The test's own side (its HTTP clients, its SMTP server): what a client or a test server
# logs is not the service's log (urllib3 logs every URL it requests, tokens in paths
# included).
NOT_THE_SERVICE = ('urllib3', 'requests', 'authlib', 'oauthlib', 'requests_oauthlib',
                   'mail.log', 'asyncio', 'charset_normalizer')


@dataclass
class Entry:
    name: str
    message: str  # record.getMessage(): what any handler of the record renders
    plain: str    # logs.PlainFormatter's line (traceback indented below)
    json: str     # logs.JsonFormatter's line


@dataclass
class Captured:
    entries: list[Entry] = field(default_factory=list)

    def text(self) -> str:
        return '\n'.join(part for e in self.entries for part in (e.message, e.plain, e.json))

    def messages(self) -> list[str]:
        return [e.message for e in self.entries]


class _Keep(logging.Handler):
    """Renders each record when it is emitted (its arguments may change afterwards)."""

    def __init__(self, captured: Captured):
        super().__init__(logging.DEBUG)
        self._captured = captured
        self._plain, self._json = PlainFormatter(), JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split('.')[0] in NOT_THE_SERVICE:
            return
        self._captured.entries.append(Entry(record.name, record.getMessage(),
                                            self._plain.format(record),
                                            self._json.format(record)))


@contextlib.contextmanager
def capture_all_logs() -> Iterator[Captured]:
    captured = Captured()
    handler = _Keep(captured)
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    saved = (root.level, [logger.level for logger in loggers])
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for logger, level in zip(loggers, saved[1]):
            logger.setLevel(level)


# A long secret is also looked for piece by piece: every run of this many characters from it
# (at every fourth position), so that a truncated secret is found too. The redacted form of
# a token keeps its last 8 characters: shorter than a piece.
PIECE = 16


def written_forms(secret: str) -> set[str]:
    """The ways a secret could be written in a log line: as is, upper- and lower-case,
    without dashes, JSON-escaped, URL-encoded (as in a logged query string or form body);
    for a long one, each piece of PIECE characters of those (any 19 characters in a row of
    it contain one)."""
    whole = {secret, secret.upper(), secret.lower(), secret.replace('-', ''),
             json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=''),
             urllib.parse.quote_plus(secret)}
    forms = set(whole)
    for form in whole:
        if len(form) >= PIECE + 4:
            starts = [*range(0, len(form) - PIECE, 4), len(form) - PIECE]
            forms.update(form[start:start + PIECE] for start in starts)
    return {form for form in forms if len(form) >= 6}


def assert_no_secret(captured: Captured, secrets: Iterable[str]) -> None:
    text = captured.text()
    leaks = [f'{secret!r} logged as {form!r} in {_lines_with(captured, form)}'
             for secret in secrets for form in sorted(written_forms(secret)) if form in text]
    assert not leaks, '\n'.join(leaks)


def assert_no_secret_in(text: str, secrets: Iterable[str]) -> None:
    leaks = [f'{secret!r} as {form!r}' for secret in secrets
             for form in sorted(written_forms(secret)) if form in text]
    assert not leaks, leaks


# What a request value may bring: a line break followed by our marker, and an ANSI escape.
FORGED_BREAK = re.compile(r'[\r\n\x0b\x0c\x85\u2028\u2029]FORGED')


def assert_no_raw_control(captured: Captured) -> None:
    """No rendered message holds a line break before ``FORGED`` (how the hostile values of
    the test start a forged line) nor an escape character; no written line either (plain:
    a traceback's lines are indented; JSON: one object on one line)."""
    problems = []
    for entry in captured.entries:
        for rendered in (entry.message, entry.plain, entry.json):
            if FORGED_BREAK.search(rendered) or '\x1b' in rendered:
                problems.append(f'{entry.name}: {rendered!r}')
        first, *rest = entry.plain.split('\n')
        if '\n' in entry.json or '\r' in entry.plain or \
                not all(line.startswith('    ') for line in rest):
            problems.append(f'{entry.name}: not one line: {entry.plain!r}')
    assert not problems, '\n'.join(problems)


def _lines_with(captured: Captured, form: str) -> str:
    return repr([e.plain for e in captured.entries if form in e.plain or form in e.message
                 or form in e.json][:3])
