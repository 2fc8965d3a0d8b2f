"""Driving the token check's fast path (http/check_fast_path.py) as a WSGI callable."""
from __future__ import annotations

import io


class Behind:
    """The WSGI application behind the fast path: answers 299 and remembers it was asked."""

    def __init__(self):
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response('299 BEHIND', [])
        return [b'']


def ask(app, path, method='HEAD', query='', remote='192.0.2.10'):
    """(status, headers, body) of one request to the WSGI callable ``app``."""
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': query,
               'REMOTE_ADDR': remote, 'wsgi.input': io.BytesIO()}
    seen = {}
    body = b''.join(app(environ, lambda status, headers: seen.update(s=status, h=headers)))
    return seen['s'], dict(seen['h']), body
