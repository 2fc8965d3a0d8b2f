"""Push revocation: a verifier forgets a session as soon as the service announces its end on
the bus (``auth_session_deleted``, shared/spec/wazo-events.md), instead of waiting for its
cache to expire (online mode) or for the next poll of the revocation feed (JWT mode).

Optional: needs py-amqp (``pip install wazo-like-auth[verifier-push]``), imported only when a
verifier is made with ``push=``.

    push = PushRevocation('amqp://guest:guest@rabbitmq:5672/')   # exchange xivo, type topic
    verifier = TokenVerifier(auth_url, cache_ttl=5.0, push=push, push_cache_ttl=300.0)
    verifier = JwtVerifier(issuer, 'confd', push=push)

Contract of the subscription (``SessionEndings``):
- one daemon thread per process, started by the verifier on its first verification (a forked
  worker starts its own and never touches its parent's connection);
- it declares the exchange as the service does (durable), a server-named exclusive auto-delete
  queue, and binds it with the routing key ``auth.sessions.*.deleted`` (topic exchange) or the
  header ``name: auth_session_deleted`` (headers exchange); a fanout exchange needs no binding
  key (other events are ignored); a direct exchange cannot be bound to every session: refused;
- each ``auth_session_deleted`` message calls ``on_ended(session_uuid)``; anything else (another
  event, a body that is not such an event's JSON, a ``data.uuid`` that is not a UUID) is ignored
  with a DEBUG line, and the thread goes on;
- ``live`` is true while the queue is bound and consumed in this process. Events published
  while no queue was bound are lost to this verifier, so ``on_subscribed()`` is called each time
  the subscription (re)starts, before ``live`` turns true: what was learnt before must go;
- when the broker is unreachable, refuses a declaration, or falls silent (heartbeats every
  ``heartbeat`` seconds), ``live`` turns false, one WARNING is logged per outage (host and port,
  never a password nor a token), and it connects again after a backoff doubling from
  ``retry_initial_delay`` up to ``retry_max_delay`` seconds; INFO once subscribed again;
- ``stop()`` ends the thread for good and closes its connection.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from ..bus.address import BrokerAddress
from ..logs import get_logger
from .background import ProcessThread

logger = get_logger(__name__)

EVENT = 'auth_session_deleted'
ROUTING_KEY = 'auth.sessions.*.deleted'
EXCHANGE_TYPES = ('topic', 'headers', 'fanout')
_MISSING = ('push revocation in wazo_like_auth.verifier needs py-amqp: '
            'pip install "wazo-like-auth[verifier-push]"')


@dataclass(frozen=True)
class PushRevocation:
    """Where the service publishes its events (its ``amqp:`` section), and how to follow them.
    Raises ValueError for a URI or exchange type it cannot use."""
    uri: str = 'amqp://guest:guest@localhost:5672/'
    exchange_name: str = 'xivo'
    exchange_type: str = 'topic'
    heartbeat: float = 10.0
    connect_timeout: float = 5.0
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0

    def __post_init__(self) -> None:
        BrokerAddress.from_uri(self.uri)
        if not self.exchange_name or len(self.exchange_name) > 255:
            raise ValueError('exchange_name must be 1 to 255 characters')
        if self.exchange_type not in EXCHANGE_TYPES:
            raise ValueError(f'exchange_type must be one of {", ".join(EXCHANGE_TYPES)}: '
                             'a direct exchange cannot be bound to every session')
        if self.heartbeat < 0 or min(self.connect_timeout, self.retry_initial_delay,
                                     self.retry_max_delay) <= 0:
            raise ValueError('heartbeat must be >= 0, timeouts and delays > 0 (seconds)')


def load() -> ModuleType:
    """py-amqp; ImportError saying which extra to install."""
    try:
        import amqp
    except ImportError as error:
        raise ImportError(_MISSING) from error
    return amqp


class SessionEndings:
    """The subscription to ``auth_session_deleted``; see the module docstring."""

    def __init__(self, settings: PushRevocation, *, on_ended: Callable[[str], None],
                 on_subscribed: Callable[[], None]):
        self._amqp = load()
        self._settings, self._address = settings, BrokerAddress.from_uri(settings.uri)
        self._on_ended, self._on_subscribed = on_ended, on_subscribed
        self._worker = ProcessThread(self._run, 'wazo-like-auth-push-revocation')
        self._live_in: int | None = None  # the process whose thread is subscribed
        self._outage = False

    @property
    def live(self) -> bool:
        """True while this process's queue is bound and consumed."""
        return self._live_in == os.getpid()

    def start(self) -> None:
        """Subscribe in this process, if not already (a forked worker starts its own thread)
        and not stopped."""
        self._worker.start(before=self._unsubscribed)

    def _unsubscribed(self) -> None:
        self._live_in = None

    def stop(self) -> None:
        """Stop for good: the thread closes its connection and ends."""
        self._worker.stop()

    def _run(self, stop: threading.Event) -> None:
        delay = self._settings.retry_initial_delay
        while not stop.is_set():
            connection = None
            try:
                connection = self._connect()
                self._subscribe(connection)
                delay = self._settings.retry_initial_delay
                self._consume(connection, stop)
            except (self._amqp.exceptions.AMQPError, OSError) as error:
                self._lost(f'{type(error).__name__}: {error}')
            except Exception:  # noqa: BLE001 - a dead subscriber would never drop a session
                logger.exception('push revocation: unexpected failure; subscribing again')
                self._lost('unexpected failure')
            finally:
                self._live_in = None
                _close(connection, graceful=stop.is_set())
            if stop.wait(delay):
                return
            delay = min(delay * 2, self._settings.retry_max_delay)

    def _connect(self):
        a, s = self._address, self._settings
        connection = self._amqp.Connection(
            f'{a.host}:{a.port}', userid=a.userid, password=a.password,
            virtual_host=a.virtual_host, ssl=a.tls(), connect_timeout=s.connect_timeout,
            read_timeout=s.connect_timeout, write_timeout=s.connect_timeout,
            heartbeat=s.heartbeat,
            client_properties={'connection_name': 'wazo-like-auth verifier push revocation'})
        try:
            connection.connect()
        except BaseException:
            _close(connection, graceful=False)
            raise
        return connection

    def _subscribe(self, connection) -> None:
        s = self._settings
        channel = connection.channel()
        channel.exchange_declare(s.exchange_name, s.exchange_type, durable=True,
                                 auto_delete=False)
        queue, _, _ = channel.queue_declare('', exclusive=True, auto_delete=True)
        headers = s.exchange_type == 'headers'
        channel.queue_bind(queue, s.exchange_name,
                           routing_key=ROUTING_KEY if s.exchange_type == 'topic' else '',
                           arguments={'x-match': 'all', 'name': EVENT} if headers else None)
        channel.basic_consume(queue, callback=self._on_message, no_ack=True)
        self._on_subscribed()  # before live: events missed while unbound are forgotten
        self._live_in = os.getpid()
        a = self._address
        if self._outage:
            logger.info('push revocation: subscribed again to %s:%d', a.host, a.port)
        self._outage = False

    def _consume(self, connection, stop: threading.Event) -> None:
        # Short waits: stop() is noticed within a second, heartbeats are sent and checked.
        tick = min(1.0, self._settings.heartbeat / 4) if self._settings.heartbeat else 1.0
        while not stop.is_set():
            try:
                connection.drain_events(timeout=tick)
            except socket.timeout:
                pass
            connection.heartbeat_tick()

    def _lost(self, reason: str) -> None:
        self._live_in = None
        a = self._address
        if self._outage:
            logger.debug('push revocation: %s:%d still unreachable (%s)', a.host, a.port, reason)
            return
        self._outage = True
        logger.warning('push revocation: the bus at %s:%d is unreachable (%s); the verifier '
                       'falls back to its normal behaviour until it is back', a.host, a.port,
                       reason)

    def _on_message(self, message) -> None:
        try:
            session = ended_session(message.body, message.properties.get('application_headers'))
            if session is None:
                logger.debug('push revocation: ignored a message that is no session end')
                return
            self._on_ended(session)
        except Exception:  # noqa: BLE001 - one bad message must not end the subscription
            logger.exception('push revocation: failed to handle a message; going on')


def ended_session(body: Any, headers: Any) -> str | None:
    """The session uuid of an ``auth_session_deleted`` message (``body`` as bytes or text,
    AMQP ``headers``), or None for any other message."""
    if isinstance(headers, dict) and headers.get('name') not in (None, EVENT):
        return None
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode('utf-8')
        except UnicodeDecodeError:
            return None
    try:
        document = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get('name') != EVENT \
            or not isinstance(document.get('data'), dict):
        return None
    value = document['data'].get('uuid')
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        return None


def _close(connection, *, graceful: bool) -> None:
    if connection is None:
        return
    try:
        if graceful:
            connection.close()
        else:
            connection.collect()  # the socket goes, no closing handshake
    except Exception:  # noqa: BLE001 - already broken: nothing more to release
        try:
            connection.collect()
        except Exception:  # noqa: BLE001
            pass
