"""Publishing to RabbitMQ with publisher confirms (py-amqp, the AMQP client under kombu).

A batch is written to the channel without waiting, then every confirm is awaited: the broker
acknowledges a persistent message once a durable queue holds it (or once no queue wants it),
so a confirmed message survives a broker restart. Confirms are counted from the first message
on: ``publish`` either returns (all confirmed) or raises ``BrokerUnavailable`` telling how many
leading messages were confirmed, so the caller marks exactly those as sent and sends the rest
again, in the same order. The connection is opened on first use and dropped on any failure.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Sequence

import amqp
from amqp.exceptions import AMQPError

from ..logs import get_logger
from .address import BrokerAddress
from .messages import Message

logger = get_logger(__name__)



class BrokerUnavailable(Exception):
    """The broker did not take every message; ``confirmed``: how many of the first it did."""

    def __init__(self, reason: str, confirmed: int = 0):
        super().__init__(reason)
        self.confirmed = confirmed


class BusConnection:
    """One connection and channel in confirm mode to the exchange of wazo-auth's events
    (declared durable, as wazo-auth and every Wazo consumer declare it)."""

    def __init__(self, *, uri: str, exchange_name: str, exchange_type: str,
                 timeout: float = 10.0):
        self._address = BrokerAddress.from_uri(uri)
        self._exchange = exchange_name
        self._exchange_type = exchange_type
        self._timeout = timeout
        self._connection: amqp.Connection | None = None
        self._channel = None
        self._next_tag = 1
        # The batch in flight: delivery tag -> acked (True), nacked (False), not yet (None).
        self._pending: dict[int, bool | None] = {}

    def publish(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` in order and wait until the broker confirmed each of them."""
        self._pending = {}
        try:
            channel = self._open()
            for message in messages:
                self._pending[self._next_tag] = None
                self._next_tag += 1
                channel.basic_publish(amqp.Message(message.body, **message.properties()),
                                      exchange=self._exchange,
                                      routing_key=message.routing_key)
            self._await_confirms()
        except (AMQPError, OSError) as e:
            confirmed = self._confirmed()
            self._drop()
            raise BrokerUnavailable(f'{type(e).__name__}: {e}', confirmed) from None
        confirmed = self._confirmed()
        if confirmed < len(messages):
            self._drop()  # a nack: the broker failed internally; start afresh
            raise BrokerUnavailable('the broker refused a message (nack)', confirmed)

    def close(self) -> None:
        """Close the connection (politely when it still works)."""
        connection = self._connection
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: just release it
                pass
        self._drop()

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.collect()  # the socket goes, no closing handshake
            except Exception:  # nothing more to release
                pass

    def _open(self):
        if self._channel is not None:
            return self._channel
        a = self._address
        connection = amqp.Connection(
            f'{a.host}:{a.port}', userid=a.userid, password=a.password,
            virtual_host=a.virtual_host, ssl=a.tls(), connect_timeout=self._timeout,
            read_timeout=self._timeout, write_timeout=self._timeout, heartbeat=0,
            client_properties={'connection_name': 'wazo-like-auth event publisher'})
        self._connection = connection
        connection.connect()
        channel = connection.channel()
        channel.exchange_declare(self._exchange, self._exchange_type, durable=True,
                                 auto_delete=False)
        channel.confirm_select()
        channel.events['basic_ack'].add(lambda tag, multiple: self._settle(tag, multiple, True))
        channel.events['basic_nack'].add(
            lambda tag, multiple, *rest: self._settle(tag, multiple, False))
        self._channel, self._next_tag = channel, 1
        logger.info('event publisher connected to %s:%d', a.host, a.port)
        return channel

    def _settle(self, tag: int, multiple: bool, acked: bool) -> None:
        for pending, state in self._pending.items():
            if state is None and (pending == tag or (multiple and pending < tag)):
                self._pending[pending] = acked

    def _await_confirms(self) -> None:
        deadline = time.monotonic() + self._timeout
        while None in self._pending.values():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout('no confirm from the broker in time')
            self._connection.drain_events(timeout=remaining)

    def _confirmed(self) -> int:
        """How many messages of the batch, from the first, the broker acked (the first
        nacked or unconfirmed one stops the count)."""
        count = 0
        for tag in sorted(self._pending):
            if self._pending[tag] is not True:
                break
            count += 1
        return count
