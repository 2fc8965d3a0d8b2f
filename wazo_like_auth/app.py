"""The application factory: builds every object of the service and wires them together."""
from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import db, mail_wiring
from .acl import AccessCheckCache
from .http import metrics as metrics_http
from .http import request_log, routes
from .http.body_limit import ChunkedBodyLimit
from .http.check_fast_path import CheckFastPath
from .http.api import Api
from .http.errors import envelope, handle_error
from .http.forwarded_warning import ForwardedForWarning
from .config import hash_concurrency, token_secret
from .metrics import Metrics
from .oauth2 import wiring as oauth2_wiring
from .oidc import wiring as oidc_wiring
from .passwords import PasswordHasher
from .services.authorization import Authorizer
from .services.cleanup import ExpiredTokenCleaner
from .services.configuration import ConfigService
from .services.groups import GroupService
from .services.policies import PolicyService
from .services.refresh_tokens import RefreshTokenService
from .services.sessions import SessionService
from .services.status import StatusService
from .services.tenants import TenantService
from .services.throttle import CheckGuard, LoginThrottle, ThrottleSettings
from .services.tokens import TokenService, TokenSettings
from .services.users import UserService
from .services.local_revocation import evict_on_local_revocation
from .services.validation_cache import RevocationListener, ValidationCache
from .services.validation import TokenChecker

MAX_TARGET_LENGTH = 16 * 1024


def create_app(config: dict, *, engine: Engine | None = None,
               hasher: PasswordHasher | None = None, background: bool = False) -> Flask:
    """A WSGI application for a validated ``config`` (see config.load_config).

    ``background`` starts the periodic jobs (expired-token purge); the server sets it.
    """
    app = Flask('wazo_like_auth')
    app.config['MAX_CONTENT_LENGTH'] = config['rest_api']['max_body_size']
    app.json.sort_keys = False
    engine = engine or db.make_engine(config)
    services = build_services(config, engine, hasher or PasswordHasher(
        rounds=config['password_hash_rounds'], concurrency=hash_concurrency(config)))
    app.extensions['wazo_like_auth'] = services
    if config['validation_cache']:
        services['revocation_listener'].start()
    if background:
        services['cleaner'].start()
        services['mail_sender'].start()
    request_log.install(app, successful_checks=config['access_log']['successful_checks'])
    observe = None
    if services['metrics'] is not None:
        observe = metrics_http.install(app, metrics=services['metrics'],
                                       cache=services['validation_cache'], engine=engine,
                                       allowed_networks=config['metrics']['allowed_networks'])
    api = Api(app, catch_all_404s=True)
    routes.register(api, services)
    app.register_error_handler(HTTPException, handle_error)
    app.register_error_handler(Exception, handle_error)
    _wrap(app, config, services['token_checker'], observe)
    return app


def _wrap(app: Flask, config: dict, checker: TokenChecker, observe) -> None:
    """The WSGI layers in front of Flask, innermost first."""
    # Cached successful checks skip Flask; not when every successful check must be logged.
    if config['validation_cache'] and not config['access_log']['successful_checks']:
        app.wsgi_app = CheckFastPath(app.wsgi_app, checker, observe)
    num_proxies = config['rest_api']['num_proxies']
    if num_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=num_proxies, x_proto=num_proxies)
    else:
        app.wsgi_app = ForwardedForWarning(app.wsgi_app)
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, config['rest_api']['max_body_size'])
    app.wsgi_app = _TargetLimit(app.wsgi_app, MAX_TARGET_LENGTH)


def build_services(config: dict, engine: Engine, hasher: PasswordHasher) -> dict[str, Any]:
    sessions = db.make_sessionmaker(engine)
    refresh_tokens = RefreshTokenService(sessions=sessions, secret=token_secret(config))
    throttling = throttle_settings(config)
    metrics = Metrics() if config['metrics']['enabled'] else None
    login_throttle = LoginThrottle(sessions=sessions, settings=throttling)
    cache = ValidationCache(max_size=config['validation_cache_size'])
    evict_on_local_revocation(sessions, cache)
    # One budget of unknown tokens per address for every way of presenting a token.
    guard = CheckGuard(throttling)
    checker = TokenChecker(engine=engine, access_checks=AccessCheckCache(), cache=cache,
                           guard=guard)
    services = {
        'engine': engine,
        'sessions': sessions,
        'hasher': hasher,
        'authorizer': Authorizer(engine=engine, checker=checker),
        'token_service': TokenService(
            sessions=sessions, hasher=hasher, settings=token_settings(config),
            refresh_tokens=refresh_tokens, throttle=login_throttle),
        'token_checker': checker,
        'check_guard': guard,
        'validation_cache': cache,
        'revocation_listener': RevocationListener(dsn=listener_dsn(engine), cache=cache),
        'refresh_token_service': refresh_tokens,
        'session_service': SessionService(sessions=sessions),
        'policy_service': PolicyService(sessions=sessions),
        'group_service': GroupService(sessions=sessions),
        'tenant_service': TenantService(sessions=sessions),
        'user_service': UserService(sessions=sessions, hasher=hasher, throttle=login_throttle),
        'status_service': StatusService(engine=engine),
        'config_service': ConfigService(config=config, sessions=sessions),
        'metrics': metrics,
        'cleaner': ExpiredTokenCleaner(engine=engine,
                                       interval=config['token_cleanup_interval'],
                                       batch_size=config['token_cleanup_batch_size'],
                                       on_purged=metrics.purged.inc if metrics else None,
                                       also=[login_throttle.purge]),
    }
    services.update(oauth2_wiring.build(config, services, throttling))
    services.update(oidc_wiring.build(config, services, throttling))
    services.update(mail_wiring.build(config, engine=engine, sessions=sessions, hasher=hasher,
                                      authorizer=services['authorizer']))
    return services


def token_settings(config: dict) -> TokenSettings:
    return TokenSettings(default_lifetime=config['default_token_lifetime'],
                         xivo_uuid=config['uuid'],
                         default_user_policy=config['default_user_policy'],
                         max_user_sessions=config['max_user_concurrent_sessions'])


def throttle_settings(config: dict) -> ThrottleSettings:
    t = config['throttle']
    return ThrottleSettings(
        per_address=t['login_failures_per_address'], per_login=t['login_failures_per_login'],
        window=t['login_window'], known_address_days=t['known_address_days'],
        refresh_per_address=t['refresh_failures_per_address'],
        checks_per_minute=t['unknown_token_checks_per_minute'],
        trusted_networks=tuple(t['trusted_networks']))


def shutdown(app: Flask) -> None:
    """Stop the background threads of an app (tests build many apps in one process)."""
    services = app.extensions['wazo_like_auth']
    services['revocation_listener'].stop()
    services['cleaner'].stop()
    services['mail_sender'].stop()


def listener_dsn(engine: Engine) -> dict[str, Any]:
    """psycopg2 connection arguments for the engine's database."""
    args = engine.url.translate_connect_args(username='user', database='dbname')
    return {**args, **engine.url.query}


class _TargetLimit:
    """Answers 414 in the envelope when the path and query string are too long to be ours."""

    def __init__(self, app, limit: int):
        self._app = app
        self._limit = limit

    def __call__(self, environ, start_response):
        target = len(environ.get('PATH_INFO', '')) + len(environ.get('QUERY_STRING', ''))
        if target <= self._limit:
            return self._app(environ, start_response)
        body = json.dumps(envelope(414, 'uri-too-long', 'Request target too long')).encode()
        start_response('414 URI Too Long', [('Content-Type', 'application/json'),
                                            ('Content-Length', str(len(body)))])
        return [body]
