"""granian's own log lines reach our log, redacted and escaped like ours."""
from __future__ import annotations

import logging

from wazo_like_auth import tokens
from wazo_like_auth.logs import restored
from wazo_like_auth.server import _setup_logging

TOKEN = '3f2a9c4e-1b7d-0e5f-f6a8-9b0c1d2e3f4a'


def test_granian_lines_are_redacted_and_ours_untouched(tmp_path):
    path = tmp_path / 'service.log'
    with restored():
        _setup_logging({'log_filename': str(path), 'log_format': 'plain', 'log_level': 'info'})
        logging.getLogger('_granian.serve').error('bad request /0.1/token/%s\nforged', TOKEN)
        logging.getLogger('granian.access').info('"GET /0.1/users/password/reset/page'
                                                 '?user_uuid=u&token=L1nkT0ken HTTP/1.1" 200')
        logging.getLogger('wazo_like_auth.test').info('kept as is: %s', 'a-b')
        for handler in logging.getLogger().handlers:
            handler.flush()
    text = path.read_text()
    assert TOKEN not in text and f'/0.1/token/{tokens.redact(TOKEN)}\\nforged' in text
    assert 'L1nkT0ken' not in text and 'token=XXXXXXXX' in text
    assert 'kept as is: a-b' in text and len(text.splitlines()) == 3


def test_granian_thread_count_warning_is_left_out_and_the_rest_of_its_lines_kept(tmp_path):
    # The many threads are on purpose (logins waiting for bcrypt hold one each): granian's
    # warning about them, at every start, would send operators after a mistake there is not.
    path = tmp_path / 'service.log'
    with restored():
        _setup_logging({'log_filename': str(path), 'log_format': 'plain', 'log_level': 'info'})
        logging.getLogger('_granian').warning(
            'Configuration allows spawning up to 64 Python threads, which seems quite high '
            'compared to the number of CPU cores available.')
        logging.getLogger('_granian').info('Spawning worker-1 with PID: 42')
        for handler in logging.getLogger().handlers:
            handler.flush()
    text = path.read_text()
    assert 'quite high' not in text and 'Spawning worker-1 with PID: 42' in text
