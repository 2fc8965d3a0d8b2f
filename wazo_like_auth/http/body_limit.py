"""The body-size limit for bodies sent without Content-Length (chunked transfer encoding).

With a Content-Length over ``rest_api.max_body_size`` werkzeug answers 413 before reading
anything. A chunked body has no length up front, and werkzeug then silently *truncates* it at
the limit: the application would parse the first MiB of a bigger body (a 400 for invalid JSON
at best, a different document at worst). This middleware reads such a body up to one byte
past the limit before the application runs: over the limit is 413 in the envelope; within it,
the application gets the body with its Content-Length, as if the client had sent one.
"""
from __future__ import annotations

import io
import json

from .errors import envelope


class ChunkedBodyLimit:
    def __init__(self, app, limit: int):
        self._app = app
        self._limit = limit

    def __call__(self, environ, start_response):
        chunked = 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()
        # wsgi.input_terminated: the server ends the stream at the last chunk (granian does).
        if not chunked or not environ.get('wsgi.input_terminated'):
            return self._app(environ, start_response)
        body = _read_at_most(environ['wsgi.input'], self._limit + 1)
        if len(body) > self._limit:
            # Read (and drop) a bounded rest: closing with unread data makes TCP reset the
            # connection, and the client may never see the 413 of a body slightly too big.
            _discard(environ['wsgi.input'], self._limit)
            return _too_large(start_response)
        environ['wsgi.input'] = io.BytesIO(body)
        environ['CONTENT_LENGTH'] = str(len(body))
        return self._app(environ, start_response)


def _read_at_most(stream, size: int) -> bytes:
    parts, remaining = [], size
    while remaining > 0:
        part = stream.read(min(remaining, 64 * 1024))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b''.join(parts)


def _discard(stream, size: int) -> None:
    while size > 0 and (part := stream.read(min(size, 64 * 1024))):
        size -= len(part)


def _too_large(start_response):
    body = json.dumps(envelope(413, 'payload-too-large', 'Request body too large')).encode()
    start_response('413 Request Entity Too Large', [
        ('Content-Type', 'application/json'), ('Content-Length', str(len(body))),
        ('Connection', 'close')])
    return [body]
