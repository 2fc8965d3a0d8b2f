"""gunicorn's threaded worker, with the requests gunicorn itself refuses answered in our
envelope (spec D4) instead of its HTML page.

gunicorn refuses some requests before the application sees them: a request line that is not
HTTP (raw non-ASCII bytes in the path), a request line over 1 MiB (414), a header line over
``limit_request_field_size`` or more than ``limit_request_fields`` headers (431), a header value
holding NUL or CR (400), a malformed chunked body (400). Every such answer goes through
``gunicorn.util.write_error``; this worker replaces that one function in its own process, so
the status and reason stay gunicorn's and only the body changes. The message is the reason
phrase alone: gunicorn's detail text can quote the request line, which may carry a token
(``/token/{t}``); for the same reason a refused request line is logged with tokens redacted.
"""
from __future__ import annotations

import json
import os
import re

from gunicorn import util
from gunicorn.http.errors import InvalidRequestLine
from gunicorn.workers.gthread import ThreadWorker

from . import tokens
from .http.errors import envelope

_TOKEN_FORM = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                         r'[0-9a-fA-F]{12}')

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
        super().init_process()

    def accept(self, listener):
        # Every worker polls the shared listening socket, and all wake for a new connection.
        # Without a yield, the first one awake takes a whole burst (a client pool connecting
        # at once) and serves it on one core while the others idle; yielding after each accept
        # lets the other woken workers take their turn.
        super().accept(listener)
        os.sched_yield()

    def handle_error(self, req, client, addr, exc):
        # gunicorn logs a refused request line whole (WARNING "Invalid request from ...").
        if isinstance(exc, InvalidRequestLine) and isinstance(exc.req, str):
            exc = InvalidRequestLine(_TOKEN_FORM.sub(lambda m: tokens.redact(m.group()),
                                                     exc.req))
        super().handle_error(req, client, addr, exc)
