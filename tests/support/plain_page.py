"""A plain HTML page served on a free port of 127.0.0.1, in a background thread: a place for
the browser to land that is another origin than the service (a relying party's callback, a web
application calling the service cross-origin)."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Response


class PlainPage:
    """Every path answers the same page titled ``title``; ``url`` is its origin with '/'."""

    def __init__(self, title: str, heading: str = ''):
        body = f'<!doctype html><title>{title}</title>' + (f'<h1>{heading}</h1>' if heading else '')
        page = Response(body, mimetype='text/html')
        self._server = make_server('127.0.0.1', 0, page, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f'http://127.0.0.1:{self._server.server_port}'

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._thread.join(timeout=5)
