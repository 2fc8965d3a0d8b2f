"""The ceiling: a bare Flask app whose only route answers 204, served exactly like the service.

``python -m contribs.bench.ceiling --config FILE`` reads the same configuration file format as
``wazo-like-auth serve`` and runs ``wazo_like_auth.server.Server`` with the same granian
settings (workers, blocking threads, keep-alive), so the only difference measured is the
application.

The same server also answers 204 under ``/wsgi/`` with no framework at all: granian's own
ceiling, the Python-server limit. The service answers cached checks before Flask (http/check_fast_path.py), so the
check is compared with both; the prefix test costs the Flask route well under a microsecond.
"""
from __future__ import annotations

import argparse
import sys

from flask import Flask

from wazo_like_auth.config import load_config
from wazo_like_auth.server import Server


def bare_app() -> Flask:
    app = Flask('bench_ceiling')

    @app.route('/0.1/token/<token>', methods=['GET', 'HEAD'])
    def check(token):
        return '', 204

    app.wsgi_app = _BareWsgi(app.wsgi_app)
    return app


class _BareWsgi:
    """204 for every path under /wsgi/, with nothing between granian and the answer."""

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        if environ['PATH_INFO'].startswith('/wsgi/'):
            start_response('204 NO CONTENT', [])
            return []
        return self._app(environ, start_response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m contribs.bench.ceiling')
    parser.add_argument('--config', required=True)
    args = parser.parse_args(argv)
    config = load_config(args.config, environ={})
    try:
        Server(config, app_factory=bare_app).run()
    except SystemExit as e:  # granian exits non-zero when it stops on a failure
        return int(e.code or 0)
    return 0


if __name__ == '__main__':
    sys.exit(main())
