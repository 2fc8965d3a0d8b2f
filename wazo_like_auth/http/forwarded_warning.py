"""A warning, once per process, when requests come through a proxy the configuration ignores.

With ``rest_api.num_proxies: 0`` (the default) the client address is the TCP peer. Behind a
reverse proxy that is the proxy's own address for every client: the login and refresh-token
throttles then count all clients together (one attacker locks everyone out), and the
unknown-token throttle never applies (loopback is a trusted network). A proxy announces itself
with ``X-Forwarded-For``; the first request carrying it makes this layer say so in the log.
"""
from __future__ import annotations

import threading

from ..logs import get_logger

logger = get_logger(__name__)

MESSAGE = ('requests carry X-Forwarded-For but rest_api.num_proxies is 0: every client is seen '
           'with the address of the proxy (%s), so the login throttles count all clients '
           'together and the unknown-token throttle does not apply to loopback; behind a '
           'reverse proxy such as contribs/nginx/wazo-like-auth.conf, set rest_api.num_proxies '
           'to the number of proxies in front (1 behind that nginx)')


class ForwardedForWarning:
    """WSGI layer, installed only when num_proxies is 0: logs MESSAGE on the first request
    with an ``X-Forwarded-For`` header, then only passes requests through."""

    def __init__(self, app):
        self._app = app
        self._warned = False
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not self._warned and 'HTTP_X_FORWARDED_FOR' in environ:
            self._warn(environ.get('REMOTE_ADDR') or '')
        return self._app(environ, start_response)

    def _warn(self, peer: str) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        # The header's value is not logged: a client may write anything there.
        logger.warning(MESSAGE, peer)
