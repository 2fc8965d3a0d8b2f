"""Log lines: request values escaped, tokens redacted in paths (issue 12 items 6 and 8)."""
from __future__ import annotations

import io
import json
import logging
import sys

from wazo_like_auth import tokens
from wazo_like_auth.cli import main
from wazo_like_auth.server import redact_record
from wazo_like_auth.logs import JsonFormatter, PlainFormatter, escape

TOKEN = '3f2a9c4e-1b7d-0e5f-f6a8-9b0c1d2e3f4a'


def _record(msg, *args, exc_info=None):
    return logging.LogRecord('wazo_like_auth.test', logging.INFO, __file__, 1, msg, args,
                             exc_info)


def test_escape_writes_every_line_break_and_control_character_as_an_escape():
    assert escape('a\nb\r\tc\x1b[2Jd\x85e\u2028f\udfff') == \
        'a\\nb\\r\\tc\\x1b[2Jd\\x85e\\u2028f\\udfff'
    assert escape('plain café ✓') == 'plain café ✓'


def test_plain_lines_escape_the_message_and_access_fields():
    record = _record('Failed login for "%s"', 'alice\n2026-12-06 (INFO) forged')
    record.remote_addr = '10.0.0.1\r\nforged'
    line = PlainFormatter().format(record)
    assert '\n' not in line and '\r' not in line
    assert 'alice\\n2026-12-06' in line and 'remote_addr=10.0.0.1\\r\\nforged' in line


def test_plain_tracebacks_are_indented_under_their_line():
    try:
        raise ValueError('bad value\n2026-12-06 06:00:00,000 [1] (INFO) forged')
    except ValueError:
        record = _record('Unexpected error', exc_info=sys.exc_info())
    first, *rest = PlainFormatter().format(record).split('\n')
    assert first.endswith('Unexpected error')
    assert rest and all(line.startswith('    ') for line in rest)


def test_json_lines_are_one_object_with_the_message_escaped():
    line = JsonFormatter().format(_record('login %s', 'a\nb\u2028c'))
    assert '\n' not in line
    assert json.loads(line)['message'] == 'login a\\nb\\u2028c'


def test_redact_all_redacts_every_token_shaped_part_in_either_case():
    path = f'/0.1/token/{TOKEN}/scopes/check?x={TOKEN.upper()}'
    redacted = tokens.redact_all(path)
    assert TOKEN not in redacted and TOKEN.upper() not in redacted
    assert redacted.startswith(f'/0.1/token/{tokens.redact(TOKEN)}/scopes/check')


def test_server_log_lines_are_redacted_and_escaped():
    record = _record('Error handling request %s', f'/0.1/token/{TOKEN}\nforged')
    assert redact_record(record)
    assert record.getMessage() == \
        f'Error handling request /0.1/token/{tokens.redact(TOKEN)}\\nforged'


def test_a_command_run_in_process_leaves_logging_as_it_found_it(tmp_path, monkeypatch):
    # A test or a script calls main() with a stderr of its own, then closes it (pytest's
    # capture does): a later log line must not go to that closed stream ("--- Logging error
    # ---"), and the caller's handlers and level are its own again.
    monkeypatch.delenv('WAZO_LIKE_AUTH_DB_URI', raising=False)
    config = tmp_path / 'config.yml'
    config.write_text(f'state_dir: {tmp_path}/state\nlog_level: debug\n')
    root = logging.getLogger()
    before = root.handlers[:], root.level
    captured = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', captured)
    assert main(['upgrade-db', '--config', str(config)]) == 1  # no db_uri: after set-up
    assert 'db_uri' in captured.getvalue()
    captured.close()
    later = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', later)
    logging.getLogger('wazo_like_auth.test').warning('a later line')
    assert 'Logging error' not in later.getvalue()
    assert (root.handlers, root.level) == before
