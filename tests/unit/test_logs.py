"""Log lines: request values escaped, tokens redacted in paths (issue 12 items 6 and 8)."""
from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

from wazo_like_auth import logs, tokens
from wazo_like_auth.cli import main
from wazo_like_auth.logs import JsonFormatter, PlainFormatter, escape, get_logger
from wazo_like_auth.server import redact_record

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
        raise ValueError('bad \x1b[31mvalue\n2026-12-06 06:00:00,000 [1] (INFO) forged')
    except ValueError:
        record = _record('Unexpected error', exc_info=sys.exc_info())
    written = PlainFormatter().format(record)
    first, *rest = written.split('\n')
    assert first.endswith('Unexpected error')
    assert rest and all(line.startswith('    ') for line in rest)
    assert '\x1b' not in written and 'bad \\x1b[31mvalue' in written


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
# The loggers of the package: records escaped before any formatter (issue: log audit).

class _Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _logged(call) -> logging.LogRecord:
    logger = get_logger('wazo_like_auth.test.escaping')
    kept = _Kept()
    logger.logger.addHandler(kept)
    logger.logger.setLevel(logging.DEBUG)
    try:
        call(logger)
    finally:
        logger.logger.removeHandler(kept)
    [record] = kept.records
    return record


def test_package_loggers_escape_arguments_and_extra_fields_in_the_record():
    record = _logged(lambda log: log.info(
        'login %s from %r: %d tries in %.1f s', 'a\r\nforged\x1b[31m', 'b\nc', 3, 1.25,
        extra={'remote_addr': '10.0.0.1\nforged', 'status': 401}))
    assert record.getMessage() == \
        "login a\\r\\nforged\\x1b[31m from 'b\\nc': 3 tries in 1.2 s"
    assert record.remote_addr == '10.0.0.1\\nforged' and record.status == 401


def test_package_loggers_escape_exceptions_and_name_the_calling_line():
    error = ValueError('bad "x\nforged"')
    record = _logged(lambda log: log.warning('failed (%s)', error))
    assert record.getMessage() == 'failed (bad "x\\nforged")'
    assert record.pathname == __file__ and record.funcName == '<lambda>'


def test_every_module_logs_through_the_escaping_loggers():
    package = Path(logs.__file__).parent
    direct = [str(path.relative_to(package)) for path in package.rglob('*.py')
              if 'logging.getLogger(__name__)' in path.read_text()
              or "logging.getLogger('wazo_like_auth" in path.read_text()]
    assert direct == []


def test_redact_all_redacts_the_values_of_secret_query_parameters():
    line = ('GET /0.1/users/password/reset/page?user_uuid=u&token=AbC-_9x HTTP/1.1 '
            '/cb?code=Zz9_-q&state=s&code_verifier=v1 grant_type=x&client_secret=S3&'
            'password=p%20w&id_token_hint=h.i.j&device_code=D&refresh_token=R&mycode=kept')
    redacted = tokens.redact_all(line)
    for secret in ('AbC-_9x', 'Zz9_-q', 'v1&', 'S3', 'p%20w', 'h.i.j', 'D&', 'R&'):
        assert secret not in redacted
    assert 'token=XXXXXXXX' in redacted and 'code=XXXXXXXX&state=s' in redacted
    assert 'user_uuid=u&' in redacted and 'mycode=kept' in redacted


def test_tracebacks_show_tokens_redacted_in_both_formats():
    try:
        raise ValueError(f'invalid input syntax for type uuid: "{TOKEN}" in /x?code=s3cr3t')
    except ValueError:
        record = _record('Unexpected error', exc_info=sys.exc_info())
    for formatter in (PlainFormatter(), JsonFormatter()):
        record.exc_text = None
        written = formatter.format(record)
        assert TOKEN not in written and 's3cr3t' not in written
        assert tokens.redact(TOKEN) in written


def test_the_shipped_nginx_snippet_logs_no_request_line_of_ours():
    # nginx writes the raw request target (a token in a check path, a link's ?token=, an
    # ID token) in its access log, and in its error log when it cannot reach the service.
    snippet = (Path(logs.__file__).parents[1] / 'contribs/nginx/wazo-like-auth.conf').read_text()
    blocks = snippet.split('location ')[1:]
    assert len(blocks) == 3
    for block in blocks:
        body = block[:block.index('}')]
        assert 'access_log off;' in body and ' crit;' in body.split('error_log', 1)[1], block
