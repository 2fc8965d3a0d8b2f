"""A TCP relay to PostgreSQL whose chosen connections can go silent, as a network partition,
a host gone or a hung server looks to a client: the connection stays open, nothing more
arrives either way, and no error says so."""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class _Relay:
    client: socket.socket
    upstream: socket.socket
    opening: bytes = b''  # the client's first bytes: its startup message names the connection
    silent: threading.Event = field(default_factory=threading.Event)


class StallingProxy:
    """Listens on 127.0.0.1:``port`` and relays every connection to ``target``;
    ``stall(marker)`` silences the connections whose startup message holds ``marker`` (an
    ``application_name``, say): what they send is dropped, and so is what is sent to them."""

    OPENING = 1024

    def __init__(self, target: tuple[str, int]):
        self._target = target
        self._server = socket.create_server(('127.0.0.1', 0))
        self.port = self._server.getsockname()[1]
        self._relays: list[_Relay] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self, marker: bytes) -> int:
        """Silence the matching connections; how many there were."""
        with self._lock:
            matching = [r for r in self._relays if marker in r.opening]
        for relay in matching:
            relay.silent.set()
        return len(matching)

    def close(self) -> None:
        self._server.close()
        with self._lock:
            relays, self._relays = self._relays, []
        for relay in relays:
            for sock in (relay.client, relay.upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            relay = _Relay(client, upstream)
            with self._lock:
                self._relays.append(relay)
            for source, sink, outgoing in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(relay, source, sink, outgoing),
                                 daemon=True).start()

    def _pipe(self, relay: _Relay, source: socket.socket, sink: socket.socket,
              outgoing: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if outgoing and len(relay.opening) < self.OPENING:
                relay.opening += data[:self.OPENING - len(relay.opening)]
            if relay.silent.is_set():
                continue
            try:
                sink.sendall(data)
            except OSError:
                return
