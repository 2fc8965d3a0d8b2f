"""gunicorn's threaded worker, with the requests gunicorn itself refuses answered in our
envelope (spec D4) instead of its HTML page.

gunicorn refuses some requests before the application sees them: a request line that is not
HTTP (raw non-ASCII bytes in the path), a request line over 1 MiB (414), a header line over
``limit_request_field_size`` or more than ``limit_request_fields`` headers (431), a header value
holding NUL or CR (400), a malformed chunked body (400). Every such answer goes through
``gunicorn.util.write_error``; this worker replaces that one function in its own process, so
the status and reason stay gunicorn's and only the body changes. The message is the reason
phrase alone: gunicorn's detail text can quote the request line, which may carry a token
(``/token/{t}``); for the same reason every line of gunicorn's error log (a refused request
line, "Error handling request <uri>", their tracebacks) has its tokens redacted and its control
characters escaped, as our own log lines do.
"""
from __future__ import annotations

import json
import logging
import os

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from . import tokens
from .http.errors import envelope
from .logs import escape

_ERROR_IDS = {400: 'invalid-request', 403: 'forbidden', 414: 'uri-too-long',
              417: 'expectation-failed', 431: 'request-header-fields-too-large',
              500: 'internal-error', 501: 'not-implemented'}


def write_envelope(sock, status: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's contract (a complete response, then gunicorn closes the
    connection), with the envelope as the body. ``mesg`` is left out on purpose: gunicorn
    puts the offending request text there, and a request line may carry a token."""
    body = json.dumps(envelope(status, _ERROR_IDS.get(status, 'http-error'), reason)).encode()
    head = (f'HTTP/1.1 {status} {reason}\r\nConnection: close\r\n'
            f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n')
    util.write_nonblock(sock, head.encode('latin-1') + body)


class EnvelopeThreadWorker(ThreadWorker):
    """The ``gthread`` worker, answering protocol-level refusals in the envelope."""

    def init_process(self):
        # Runs in the worker process only, before it serves anything; gunicorn's workers
        # call util.write_error through the module, so this reaches every refusal.
        util.write_error = write_envelope
        self.log.error_log.addFilter(redact_record)
        super().init_process()

    def accept(self, listener):
        # Every worker polls the shared listening socket, and all wake for a new connection.
        # Without a yield, the first one awake takes a whole burst (a client pool connecting
        # at once) and serves it on one core while the others idle; yielding after each accept
        # lets the other woken workers take their turn.
        super().accept(listener)
        os.sched_yield()


def redact_record(record: logging.LogRecord) -> bool:
    """A filter of gunicorn's error log: its lines quote request lines and URIs whole
    ("Invalid request from ...", "Error handling request ..."), which may carry a token."""
    record.msg, record.args = escape(tokens.redact_all(record.getMessage())), None
    if record.exc_info and not record.exc_text:
        record.exc_text = tokens.redact_all(logging.Formatter().formatException(record.exc_info))
    return True
