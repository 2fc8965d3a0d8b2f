"""Delivery of the event outbox to the bus (after commit, never inside a request).

Changes write their events in their own transaction (triggers and services, migrations 0009
and 0011); requests never talk to the broker, so a slow, full or absent broker never slows or
fails one. Each process runs a publisher thread; the one holding a PostgreSQL advisory lock
publishes (one publisher per cluster, so an event is sent once in normal operation), the others
wait on standby and take over when its connection goes.

Guarantees, and why they hold:
- No event without its change, no change without its event: both commit together.
- Order. Rows are sent by ascending id among the committed ones, never skipping one: a
  transaction that took a lower id and commits later is simply sent later (nothing remembers
  a high-water mark that it could fall under). Two events of one session, token or tenant are
  causally ordered: the second change needs the first committed (its row visible, or its lock
  released), so the first has the lower id and is visible whenever the second is. Per session,
  the bus sees them in order.
- At-least-once. A batch is marked sent only for the leading messages the broker confirmed;
  the rest is sent again, in order, after a backoff (``retry_initial_delay`` doubling up to
  ``retry_max_delay``). A crash between confirm and mark sends those again: consumers
  de-duplicate on (``origin_uuid`` header, AMQP ``message_id``), the event's row id.
- Bounded memory: waiting events stay in PostgreSQL, read ``BATCH`` at a time.
- The publisher never reads old rows (only unpublished ones, through a partial index): the
  retention purge may remove any row without it noticing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from ..bus.amqp import BrokerUnavailable, BusConnection
from ..bus.messages import Event, Message, Unsendable, encode
from ..bus.settings import BusSettings
from ..logs import get_logger
from ..repositories import event_outbox, locks

logger = get_logger(__name__)

PUBLISHER_LOCK_ID = 0x7761_6576  # arbitrary, fixed: "waev"
BATCH = 200
STANDBY_INTERVAL = 5.0  # seconds between two attempts of a standby to become the publisher


class EventPublisher:
    def __init__(self, *, engine: Engine, settings: BusSettings,
                 connect: Callable[[], BusConnection] | None = None,
                 standby_interval: float = STANDBY_INTERVAL):
        self._engine = engine
        self._settings = settings
        self._bus = (connect or self._connect)()
        self._standby_interval = standby_interval
        self._lock_conn: Connection | None = None
        self._failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _connect(self) -> BusConnection:
        s = self._settings
        return BusConnection(uri=s.uri, exchange_name=s.exchange_name,
                             exchange_type=s.exchange_type)

    def run_once(self) -> int | None:
        """Publish every waiting event: how many were sent, or None when another process
        is the publisher. Raises BrokerUnavailable (what the broker confirmed is marked sent)
        and the database's errors (the publisher role is then given up)."""
        conn = self._hold_lock()
        if conn is None:
            return None
        try:
            return self._drain(conn)
        except BrokerUnavailable:
            raise
        except Exception:
            self._release()
            raise

    def _drain(self, conn: Connection) -> int:
        sent = 0
        while not self._stop.is_set():
            with conn.begin():
                events = event_outbox.pending(conn, BATCH)
            if not events:
                break
            sendable, messages = self._encode(conn, events)
            try:
                self._bus.publish(messages)
            except BrokerUnavailable as e:
                self._mark(conn, sendable[:e.confirmed])
                raise
            self._mark(conn, sendable)
            sent += len(sendable)
            if len(events) < BATCH:
                break
        return sent

    def _encode(self, conn: Connection,
                events: list[Event]) -> tuple[list[Event], list[Message]]:
        sendable, messages, unsendable = [], [], []
        for event in events:
            try:
                messages.append(encode(event, self._settings.origin_uuid))
                sendable.append(event)
            except Unsendable as e:
                logger.error('event %d (%s) cannot be published: %s', event.id, event.name, e)
                unsendable.append(event.id)
        if unsendable:
            with conn.begin():
                event_outbox.mark_unsendable(conn, unsendable)
        return sendable, messages

    def _mark(self, conn: Connection, events: list[Event]) -> None:
        with conn.begin():
            event_outbox.mark_published(conn, [event.id for event in events])

    def _hold_lock(self) -> Connection | None:
        """The connection holding the publisher lock, taken now if free; None if not."""
        if self._lock_conn is not None:
            return self._lock_conn
        conn = self._engine.connect()
        try:
            got = locks.try_hold(conn, PUBLISHER_LOCK_ID)
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return None
        self._lock_conn = conn
        logger.info('this process publishes the events to the bus')
        return conn

    def _release(self) -> None:
        """Give the publisher role up: closing the connection frees the lock (a broken one
        is discarded, not returned to the pool)."""
        conn, self._lock_conn = self._lock_conn, None
        if conn is None:
            return
        try:
            conn.invalidate()
            conn.close()
        except Exception:  # the connection is gone already, and the lock with it
            pass

    def start(self) -> None:
        """Publish in a daemon thread until stop(); nothing when the bus is disabled."""
        if self._thread is not None or not self._settings.enabled:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name='event-publisher', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (a batch in flight finishes) and close the connections."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            self._close()

    def _close(self) -> None:
        self._bus.close()
        self._release()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._cycle())

    def _cycle(self) -> float:
        """One cycle; returns the seconds to wait before the next one."""
        try:
            sent = self.run_once()
        except BrokerUnavailable as e:
            delay = self._backoff()
            logger.warning('events not published, the broker is unreachable (%s): retry in '
                           '%.1f s', e, delay)
            return delay
        except Exception:  # the database is down...: the loop must survive, and retries
            delay = self._backoff()
            logger.warning('event publishing failed: retry in %.1f s', delay, exc_info=True)
            return delay
        self._failures = 0
        return self._standby_interval if sent is None else self._settings.poll_interval

    def _backoff(self) -> float:
        s = self._settings
        delay = min(s.retry_initial_delay * 2 ** min(self._failures, 30), s.retry_max_delay)
        self._failures += 1
        return delay
