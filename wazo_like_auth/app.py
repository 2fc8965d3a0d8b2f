"""The application factory: the HTTP service over the services of composition.py."""
from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .clock import Clock, utc_now
from .composition import Services, build_services
from .http import metrics as metrics_http
from .http import cors, request_log, routes
from .http.api import Api
from .http.body_limit import BodyReader, readers_of
from .http.check_fast_path import CheckFastPath
from .http.errors import envelope, handle_error, log_unhandled
from .http.forwarded_warning import ForwardedForWarning
from .passwords import PasswordHasher
from .services.validation import TokenChecker

MAX_TARGET_LENGTH = 16 * 1024
# A host name (RFC 1035: 255 octets), a colon and a port.
MAX_HOST_LENGTH = 255 + 6


def create_app(config: dict, *, engine: Engine | None = None,
               hasher: PasswordHasher | None = None, background: bool = False,
               clock: Clock = utc_now) -> Flask:
    """A WSGI application for a validated ``config`` (see config.load_config).

    ``background`` starts the periodic jobs (expired-token purge, mail and event delivery);
    the server sets it.
    ``clock`` is what token checks and the device flow take as "now" (tests move it).
    """
    app = _Flask('wazo_like_auth')
    app.config['MAX_CONTENT_LENGTH'] = config['rest_api']['max_body_size']
    app.json.sort_keys = False
    services = build_services(config, engine=engine, hasher=hasher, clock=clock)
    app.extensions['wazo_like_auth'] = services
    if config['validation_cache']:
        services.revocation_listener.start()
    if background:
        services.cleaner.start()
        services.mail.sender.start()
        services.event_publisher.start()
    request_log.install(app, successful_checks=config['access_log']['successful_checks'])
    cors_settings = cors.CorsSettings.of(config)
    cors.install(app, cors_settings)
    observe = None
    if services.metrics is not None:
        observe = metrics_http.install(app, metrics=services.metrics,
                                       cache=services.validation_cache, engine=services.engine,
                                       allowed_networks=config['metrics']['allowed_networks'],
                                       background=background)
    api = Api(app, catch_all_404s=True)
    routes.register(api, services)
    app.register_error_handler(HTTPException, handle_error)
    app.register_error_handler(Exception, handle_error)
    _wrap(app, config, services.token_checker, observe, cors_settings.enabled)
    return app


class _Flask(Flask):
    def log_exception(self, exc_info) -> None:
        log_unhandled(exc_info)  # Flask's own line quotes the raw path (a token)


def services_of(app: Flask) -> Services:
    """The services an app built by create_app serves with."""
    return app.extensions['wazo_like_auth']


def _wrap(app: Flask, config: dict, checker: TokenChecker, observe, cors: bool) -> None:
    """The WSGI layers in front of Flask, innermost first."""
    rest = config['rest_api']
    app.wsgi_app = BodyReader(app.wsgi_app, rest['max_body_size'], readers_of(rest['threads']))
    app.wsgi_app = _TargetLimit(app.wsgi_app, MAX_TARGET_LENGTH, cross_origin=cors)
    num_proxies = rest['num_proxies']
    if not num_proxies:
        app.wsgi_app = ForwardedForWarning(app.wsgi_app)
    # Cached successful checks skip Flask and the layers above (none concerns them: a check
    # has no body, and a target too long for us holds no token); not when every successful
    # check must be logged. Behind ProxyFix, which gives it the client's address.
    if config['validation_cache'] and not config['access_log']['successful_checks']:
        app.wsgi_app = CheckFastPath(app.wsgi_app, checker, observe, cross_origin=cors)
    if num_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=num_proxies, x_proto=num_proxies)


def shutdown(app: Flask) -> None:
    """Stop the background threads of an app (tests build many apps in one process)."""
    services = services_of(app)
    services.revocation_listener.stop()
    services.cleaner.stop()
    services.mail.sender.stop()
    services.event_publisher.stop()
    if services.metrics is not None:
        services.metrics.stop_sync()


class _TargetLimit:
    """Answers in the envelope, before Flask, a request whose target is too long to be ours
    (414) or whose Host header is not a host name and port (400, see _bad_host)."""

    def __init__(self, app, limit: int, *, cross_origin: bool = False):
        """``cross_origin``: CORS is on (http/cors.py)."""
        self._app = app
        self._limit = limit
        self._cross_origin = cross_origin

    def __call__(self, environ, start_response):
        target = len(environ.get('PATH_INFO', '')) + len(environ.get('QUERY_STRING', ''))
        if target > self._limit:
            return self._refuse(environ, start_response, '414 URI Too Long',
                                envelope(414, 'uri-too-long', 'Request target too long'))
        if _bad_host(environ.get('HTTP_HOST', '')):
            return self._refuse(environ, start_response, '400 BAD REQUEST',
                                envelope(400, 'invalid-host', 'Invalid Host header'))
        return self._app(environ, start_response)

    def _refuse(self, environ, start_response, status: str, error: dict):
        body = json.dumps(error).encode()
        headers = [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))]
        if self._cross_origin and cors.without_endpoint_readable(environ.get('PATH_INFO', '')):
            headers.append(cors.ANY_ORIGIN)
        request_log.answered_early(environ, int(status[:3]), headers)
        start_response(status, headers)
        return [body]


def _bad_host(host: str) -> bool:
    """Whether a Host header is refused: longer than a host name and port (without
    ``public_url`` the Host is the issuer, which device codes store), or one Flask cannot
    route with (werkzeug encodes its name to IDNA: a label over 63 characters, or an empty
    one, raised while the error of it was being answered: a 500), or one werkzeug cannot
    build the request's URL with (it decodes an ASCII name, lowered, from IDNA: a label
    ``xn--`` that is no punycode raised from ``request.host_url``, the issuer: a 500)."""
    if len(host) > MAX_HOST_LENGTH:
        return True
    name = host.partition(':')[0]
    try:
        name.encode('idna')
        if name.isascii():
            name.lower().encode('ascii').decode('idna')  # as werkzeug: lowered
    except UnicodeError:
        return True
    return False
