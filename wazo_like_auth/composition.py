"""The composition root: ``build_services`` builds every long-lived object of the service, once,
into one typed, frozen ``Services``. ``create_app`` (the HTTP service), ``prepare_database``
(``serve`` and ``bootstrap`` of the CLI) and the tests all get their collaborators from it.

Where is X built, and who uses it? ``grep -rn '\\.X\\b'`` (e.g. ``services.token_checker``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from . import db, mail_wiring, oauth_wiring
from .acl import AccessCheckCache
from .bus.settings import BusSettings
from .clock import Clock, utc_now
from .config import hash_concurrency
from .config_secret import token_secret
from .metrics import Metrics
from .oauth2.device import DeviceSettings
from .passwords import PasswordHasher
from .services.access_tokens import AccessTokenFormats
from .services import actors
from .services.audit_trail import AuditTrail, EventRetention
from .services.authorization import Authorizer
from .services.bootstrap import BootstrapService
from .services.cleanup import ExpiredTokenCleaner
from .services.clients import ClientService
from .services.configuration import ConfigService
from .services.device_flow import DeviceFlow
from .services.event_publisher import EventPublisher
from .services.groups import GroupService
from .services.login_requests import TokenSettings
from .services.login_trail import LoginTrail
from .services.oauth_tokens import OAuthTokenService
from .services.policies import PolicyService
from .services.refresh_tokens import RefreshTokenService
from .services.revocation_feed import RevocationFeed
from .services.sessions import SessionService
from .services.startup import StartupService
from .services.status import StatusService
from .services.tenants import TenantService
from .services.throttle import CheckGuard, LoginThrottle, ThrottleSettings
from .services.tokens import TokenService
from .services.users import UserService
from .services.validation import TokenChecker
from .services.local_revocation import evict_on_local_revocation
from .services.validation_cache import RevocationListener, ValidationCache


@dataclass(frozen=True)
class Services:
    """Every long-lived object of one process, built by ``build_services``."""
    engine: Engine
    sessions: sessionmaker
    hasher: PasswordHasher
    clock: Clock
    metrics: Metrics | None
    validation_cache: ValidationCache
    revocation_listener: RevocationListener
    token_checker: TokenChecker
    check_guard: CheckGuard
    authorizer: Authorizer
    token_service: TokenService
    refresh_token_service: RefreshTokenService
    session_service: SessionService
    revocation_feed: RevocationFeed
    audit_trail: AuditTrail
    policy_service: PolicyService
    group_service: GroupService
    tenant_service: TenantService
    user_service: UserService
    status_service: StatusService
    config_service: ConfigService
    client_service: ClientService
    oauth_token_service: OAuthTokenService
    device_flow: DeviceFlow
    oauth2: oauth_wiring.OAuth2
    oidc: oauth_wiring.OIDC
    cleaner: ExpiredTokenCleaner
    event_publisher: EventPublisher
    startup: StartupService
    bootstrap: BootstrapService
    mail: mail_wiring.Mail


def build_services(config: dict, *, engine: Engine | None = None,
                   hasher: PasswordHasher | None = None, clock: Clock = utc_now) -> Services:
    """Build every service for a validated ``config`` (see config.load_config); nothing is
    started (the listener, purge and publisher are threads their owner starts)."""
    engine = engine or db.make_engine(config)
    hasher = hasher or PasswordHasher(rounds=config['password_hash_rounds'],
                                      concurrency=hash_concurrency(config))
    sessions = _sessionmaker(engine)
    throttling = throttle_settings(config)
    metrics = Metrics() if config['metrics']['enabled'] else None
    # One budget of unknown tokens per address for every way of presenting a token.
    guard = CheckGuard(throttling)
    cache, checker = _token_checker(config, engine, sessions, guard, clock)
    refresh_tokens, login_throttle, token_service = _logins(config, engine, sessions, hasher,
                                                             throttling, clock)
    clients = ClientService(sessions=sessions, hasher=hasher)
    formats = AccessTokenFormats(keys=oauth_wiring.signing_keys(config, sessions, clock))
    oauth_tokens, devices = _oauth_grants(config, sessions, hasher, clock, token_service,
                                          refresh_tokens, login_throttle, guard, formats)
    authorizer = Authorizer(engine=engine, checker=checker)
    oidc = oauth_wiring.build_oidc(config, sessions, hasher, clock, token_service, refresh_tokens, oauth_tokens,
                 clients, devices, login_throttle, formats)
    administration = _administration(config, engine, sessions, hasher, login_throttle)
    return Services(
        engine=engine, sessions=sessions, hasher=hasher, clock=clock, metrics=metrics,
        validation_cache=cache, token_checker=checker, check_guard=guard,
        revocation_listener=RevocationListener(dsn=listener_dsn(engine), cache=cache,
                                               timeout=config['db_connect_timeout']),
        authorizer=authorizer,
        token_service=token_service, refresh_token_service=refresh_tokens, **administration,
        client_service=clients, oauth_token_service=oauth_tokens, device_flow=devices,
        oauth2=oauth_wiring.build_oauth2(config, clients, oauth_tokens, devices, oidc.endpoints.grants),
        oidc=oidc,
        **_background(config, engine, metrics,
                      [login_throttle.purge, administration['revocation_feed'].purge,
                       oidc.signins.purge_expired]),
        mail=mail_wiring.build(config, engine=engine, sessions=sessions, hasher=hasher,
                               authorizer=authorizer),
    )


def _sessionmaker(engine: Engine) -> sessionmaker:
    """The sessions of every service; a transaction begun for a request names its caller, so
    the events it writes (triggers and cascades included) say who (services/actors.py)."""
    sessions = db.make_sessionmaker(engine)
    actors.name_actor_at_begin(sessions)
    return sessions


def _logins(config: dict, engine: Engine, sessions: sessionmaker, hasher: PasswordHasher,
            throttling: ThrottleSettings, clock: Clock) -> tuple[RefreshTokenService,
                                                                 LoginThrottle, TokenService]:
    """What every way of logging in shares: refresh tokens, the login throttle (one, so every
    login path counts in the same budget) and the token service."""
    refresh_tokens = RefreshTokenService(sessions=sessions, secret=token_secret(config))
    login_throttle = LoginThrottle(
        sessions=sessions, settings=throttling,
        trail=LoginTrail(publish=config['events']['publish_logins']), clock=clock)
    token_service = TokenService(sessions=sessions, hasher=hasher,
                                 settings=token_settings(config),
                                 refresh_tokens=refresh_tokens, throttle=login_throttle,
                                 engine=engine, clock=clock)
    return refresh_tokens, login_throttle, token_service


def _oauth_grants(config: dict, sessions: sessionmaker, hasher: PasswordHasher, clock: Clock,
                  token_service: TokenService, refresh_tokens: RefreshTokenService,
                  login_throttle: LoginThrottle, guard: CheckGuard,
                  formats: AccessTokenFormats) -> tuple[OAuthTokenService, DeviceFlow]:
    """The tokens of the OAuth 2.0 grants (opaque or JWT, by client: ``formats``)."""
    oauth_tokens = OAuthTokenService(sessions=sessions, token_service=token_service,
                                     refresh_tokens=refresh_tokens,
                                     lifetime=config['default_token_lifetime'],
                                     xivo_uuid=config['uuid'], guard=guard, formats=formats,
                                     clock=clock)
    devices = DeviceFlow(sessions=sessions, hasher=hasher, token_service=token_service,
                         refresh_tokens=refresh_tokens, throttle=login_throttle,
                         settings=DeviceSettings.from_config(config), formats=formats,
                         clock=clock)
    return oauth_tokens, devices


def _administration(config: dict, engine: Engine, sessions: sessionmaker,
                    hasher: PasswordHasher, login_throttle: LoginThrottle) -> dict[str, Any]:
    """The Services fields that need only the database (and the hasher): the administration
    API's use cases, start-up reconciliation and the bootstrap user."""
    return {
        'session_service': SessionService(sessions=sessions),
        'audit_trail': AuditTrail(sessions=sessions),
        'policy_service': PolicyService(sessions=sessions,
                                        default_policy=config['default_user_policy']),
        'group_service': GroupService(sessions=sessions),
        'tenant_service': TenantService(sessions=sessions),
        'user_service': UserService(sessions=sessions, hasher=hasher, throttle=login_throttle),
        'status_service': StatusService(engine=engine),
        'config_service': ConfigService(config=config, sessions=sessions),
        'startup': StartupService(sessions=sessions, default_policies=config['default_policies'],
                                  update_policies=config['update_policy_on_startup']),
        'bootstrap': BootstrapService(sessions=sessions, hasher=hasher),
        'revocation_feed': RevocationFeed(sessions=sessions,
                                          batch_size=config['token_cleanup_batch_size']),
    }


def _token_checker(config: dict, engine: Engine, sessions: sessionmaker, guard: CheckGuard,
                   clock: Clock) -> tuple[ValidationCache, TokenChecker]:
    """The hot path: the per-process validation cache and the checker reading through it."""
    cache = ValidationCache(max_size=config['validation_cache_size'])
    evict_on_local_revocation(sessions, cache)
    return cache, TokenChecker(engine=engine, access_checks=AccessCheckCache(), cache=cache,
                               guard=guard, clock=clock)


def _background(config: dict, engine: Engine, metrics: Metrics | None,
                also: list) -> dict[str, Any]:
    """The Services fields that are threads their owner starts: the purge and the event
    publisher. ``also``: the other purges of the cleaner's cycle (login-failure counters, the
    revocation feed's expired entries, expired sign-ins and authorization codes); the audit
    trail's retention is added here."""
    # Without a bus, events an earlier bus never took are purged like the rest: nothing
    # would ever send them (and, the bus turned on again, they would go months late).
    retention = EventRetention(engine=engine, days=config['events']['retention_days'],
                               batch_size=config['token_cleanup_batch_size'],
                               keep_unpublished=config['amqp']['enabled'])
    cleaner = ExpiredTokenCleaner(engine=engine, interval=config['token_cleanup_interval'],
                                  batch_size=config['token_cleanup_batch_size'],
                                  on_purged=metrics.purged.inc if metrics else None,
                                  also=[*also, retention.purge])
    return {'cleaner': cleaner,
            'event_publisher': EventPublisher(engine=engine,
                                              settings=BusSettings.from_config(config))}


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
        in_flight=t['logins_in_flight'],
        refresh_per_address=t['refresh_failures_per_address'],
        checks_per_minute=t['unknown_token_checks_per_minute'],
        trusted_networks=tuple(t['trusted_networks']))


def listener_dsn(engine: Engine) -> dict[str, Any]:
    """psycopg2 connection arguments for the engine's database, as the engine makes them (a
    db_uri naming several hosts gives psycopg2 host='a,b', not the query's tuple)."""
    return dict(engine.dialect.create_connect_args(engine.url)[1])
