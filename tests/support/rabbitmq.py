"""A throw-away RabbitMQ for the tests, and a Wazo-style consumer of its events.

``RabbitMQ`` runs Debian's ``rabbitmq-server`` (package ``rabbitmq-server``, installed by
``.ci/install-deps``) as an unprivileged user (as root through ``setpriv``, as the embedded
PostgreSQL does), on free ports of 127.0.0.1, with everything of its own in a temporary
directory: node name, Erlang cookie (``HOME``), Mnesia data, logs, its own ``epmd`` on its
own port, no plugin. So nothing collides with a system broker or another test run, and
``stop``/``start`` keep its durable exchanges, queues and persistent messages, as a real
restart does. Tests skip, saying why, when the server is not installed.

``BusConsumer`` consumes with kombu, the library Wazo's consumers use (wazo-bus): a durable
queue bound to the exchange, messages decoded by their content type.
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import amqp
import kombu
import pytest
from kombu.exceptions import OperationalError

from wazo_like_auth import embedded_db
from tests.support.ports import free_port

SERVER = Path('/usr/lib/rabbitmq/bin/rabbitmq-server')
EPMD = shutil.which('epmd') or '/usr/lib/erlang/bin/epmd'
START_TIMEOUT = 60
_names = itertools.count()


def unavailable_reason() -> str | None:
    """Why no RabbitMQ can run here, or None."""
    if not SERVER.exists():
        return ('rabbitmq-server is not installed (apt-get install rabbitmq-server; '
                '.ci/install-deps does it)')
    if not Path(EPMD).exists():
        return 'epmd (erlang-base) is not installed'
    return None


class RabbitMQ:
    """A broker on ``uri`` (guest/guest on 127.0.0.1), started at construction."""

    def __init__(self):
        self._base = Path(tempfile.mkdtemp(prefix='wla-rabbitmq-'))
        self.port, self._dist_port, self._epmd_port = free_port(), free_port(), free_port()
        self.node = f'wla{os.getpid()}n{next(_names)}@localhost'
        self.uri = f'amqp://guest:guest@127.0.0.1:{self.port}/'
        self._write_config()
        embedded_db.hand_over(self._base)
        self._epmd = self._spawn([EPMD, '-port', str(self._epmd_port), '-address',
                                  '127.0.0.1'], 'epmd.log')
        self._server: subprocess.Popen | None = None
        try:
            self.start()
        except BaseException:  # no fixture will close it: its epmd would live on, holding a port
            self.close()
            raise

    def _write_config(self) -> None:
        (self._base / 'rabbitmq.conf').write_text(
            f'listeners.tcp.1 = 127.0.0.1:{self.port}\n'
            'log.console = false\nlog.file.level = warning\n'
            'disk_free_limit.absolute = 50MB\n')
        (self._base / 'enabled_plugins').write_text('[].\n')

    def _environment(self) -> dict[str, str]:
        base = str(self._base)
        return {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8',
            'HOME': base,  # the Erlang cookie
            'RABBITMQ_NODENAME': self.node, 'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port), 'RABBITMQ_DIST_PORT': str(self._dist_port),
            'ERL_EPMD_PORT': str(self._epmd_port), 'ERL_EPMD_ADDRESS': '127.0.0.1',
            'RABBITMQ_MNESIA_BASE': f'{base}/mnesia', 'RABBITMQ_LOG_BASE': f'{base}/log',
            'RABBITMQ_CONFIG_FILE': f'{base}/rabbitmq.conf',
            'RABBITMQ_ENABLED_PLUGINS_FILE': f'{base}/enabled_plugins',
            'RABBITMQ_PID_FILE': f'{base}/rabbitmq.pid', 'RABBITMQ_CONF_ENV_FILE': '/dev/null',
            # The script execs the Erlang VM itself: SIGTERM reaches the broker.
            'RUNNING_UNDER_SYSTEMD': 'true',
        }

    def _spawn(self, argv: list[str], log: str) -> subprocess.Popen:
        output = open(self._base / log, 'ab')
        try:
            return subprocess.Popen(embedded_db.command(*argv), env=self._environment(),
                                    cwd=self._base, stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            output.close()

    def start(self) -> None:
        """Start the broker and wait until it accepts AMQP connections."""
        self._server = self._spawn([str(SERVER)], 'server.log')
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f'rabbitmq-server did not start:\n{self.log_tail()}')
            time.sleep(0.2)

    def _answers(self) -> bool:
        """Whether this broker accepts AMQP connections: another one answering on its port
        is not it (its cluster name, the node name of its first node, says whose it is)."""
        connection = amqp.Connection(f'127.0.0.1:{self.port}', connect_timeout=1)
        try:
            connection.connect()
            name = str(connection.server_properties.get('cluster_name', ''))
            connection.close()
        except Exception:
            return False
        return name.split('@')[0] == self.node.split('@')[0]

    def stop(self, kill: bool = False) -> None:
        """Stop the broker: gracefully, or at once with ``kill`` (a crash)."""
        server, self._server = self._server, None
        if server is None:
            return
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._epmd.poll() is None:
            self._epmd.terminate()
            self._epmd.wait(10)
        shutil.rmtree(self._base, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self._base / 'server.log'
        text = path.read_text(errors='replace') if path.exists() else ''
        return '\n'.join(text.splitlines()[-lines:])


@dataclass
class Received:
    """One message as a consumer sees it."""
    routing_key: str
    headers: dict[str, Any]
    body: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)


class BusConsumer:
    """A durable queue bound to ``exchange`` with ``binding`` (topic), drained on demand;
    survives broker restarts (reconnects, the queue keeps what arrived meanwhile)."""

    def __init__(self, uri: str, exchange: str = 'xivo', binding: str = '#'):
        self._uri = uri
        self._exchange = kombu.Exchange(exchange, 'topic', durable=True)
        self._queue = kombu.Queue(f'wla-test-{uuid.uuid4().hex[:8]}', self._exchange,
                                  routing_key=binding, durable=True, auto_delete=False)
        self.messages: list[Received] = []
        self._connection: kombu.Connection | None = None
        self._consumer = None
        self._connect()

    def _connect(self) -> None:
        """Connect and consume, or raise leaving no connection: a connection whose consumer
        was never set up (the broker slow to answer, under load) drained nothing for ever,
        each drain timing out as if the queue were empty."""
        connection = kombu.Connection(self._uri, connect_timeout=2)
        try:
            channel = connection.channel()
            self._queue(channel).declare()
            consumer = kombu.Consumer(channel, [self._queue], callbacks=[self._on_message],
                                      accept=['json'])
            consumer.consume()
        except Exception:
            connection.release()
            raise
        self._connection, self._consumer = connection, consumer

    def _on_message(self, body, message) -> None:
        props = message.properties
        self.messages.append(Received(
            routing_key=message.delivery_info['routing_key'], headers=dict(message.headers),
            body=body, properties={key: props.get(key) for key in (
                'content_type', 'content_encoding', 'delivery_mode', 'message_id')}))
        message.ack()

    def wait_for(self, predicate, timeout: float = 10.0) -> list[Received]:
        """Drain until ``predicate(messages)`` holds (or ``timeout``); returns the messages.
        The predicate is asked when the queue pauses, or every 50 ms while it flows."""
        deadline = time.monotonic() + timeout
        asked = 0.0
        while True:
            now = time.monotonic()
            if now - asked >= 0.05:
                if predicate(self.messages) or now > deadline:
                    return self.messages
                asked = now
            if self._connection is None:  # the last reconnection failed: try again
                self._reconnect()
                continue
            try:
                self._connection.drain_events(timeout=0.05)
            except TimeoutError:
                asked = 0.0  # nothing more for now: ask at once
            except (OSError, amqp.exceptions.AMQPError, OperationalError):
                self._reconnect()

    def named(self, name: str, **where: Any) -> list[Received]:
        """The messages of event ``name`` whose data has the values ``where``."""
        return [m for m in self.messages if m.headers.get('name') == name and all(
            m.body['data'].get(key) == value for key, value in where.items())]

    def _reconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:
                pass
            self._connection = None
        time.sleep(0.2)
        try:
            self._connect()
        except Exception:  # the broker is still away: the next turn tries again
            pass

    def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._consumer.cancel()
            self._queue(self._connection.channel()).delete()
        except Exception:  # the broker is gone: so is the test's queue, with its data dir
            pass
        finally:
            self._connection.release()


def _broker():
    """A started broker until the fixture ends, or the test skipped saying why."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    broker = RabbitMQ()
    yield broker
    broker.close()


@pytest.fixture(scope='session')
def rabbitmq():
    """The session's broker (tests that stop it use ``own_rabbitmq``)."""
    yield from _broker()


@pytest.fixture
def own_rabbitmq():
    """A broker of the test's own, to stop and restart."""
    yield from _broker()


@pytest.fixture
def consumer(rabbitmq):
    """A consumer of every event on the session broker's ``xivo`` exchange."""
    bus = BusConsumer(rabbitmq.uri)
    yield bus
    bus.close()
