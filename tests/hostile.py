"""A WebSocket server that says whatever a test scripts, byte for byte.

FakeBinance speaks valid WebSocket through autobahn; an attacker (or a broken proxy) need not.
:class:`HostileServer` answers the opening handshake and then writes raw frames a test builds
with :func:`frame`: headers that promise 512 MiB, fragments that never end, gzip bombs. What
the client sends back is parsed just enough to see its pongs and its close frame (and close
code). It runs in memory (``twisted.test.iosim``) or on a real loopback socket alike; a
:class:`Conversation` pairs it in memory with a real StreamConnection on a fake clock.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.test import iosim

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._json import dumps
from binance_twisted.events import EventKind
from tests.support import Harness, trade

__all__ = ["Conversation", "HostileFactory", "HostileServer", "frame", "message"]

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
TRADES = "btcusdt@trade"


def frame(
    payload: bytes, opcode: int = TEXT, *, fin: bool = True, length: int | None = None
) -> bytes:
    """One unmasked server frame; ``length`` may claim more than ``payload`` holds."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


class HostileServer(Protocol):
    """Handshake, then ``factory.script(self)`` once the client is in; records close codes."""

    factory: HostileFactory

    def __init__(self) -> None:
        self.buffer = b""
        self.open = False
        #: the close code of every close frame the client sent
        self.close_codes: list[int | None] = []
        #: the payload of every pong the client sent
        self.pongs: list[bytes] = []

    def connectionMade(self) -> None:
        self.factory.connections.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            self.buffer = rest
            self._accept(head)
        while self._read_frame():
            pass

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def _accept(self, head: bytes) -> None:
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True
        self.factory.script(self)

    def _read_frame(self) -> bool:
        """Consume one masked client frame if whole; a close frame is answered and ends it."""
        data = self.buffer
        if len(data) < 2:
            return False
        opcode, size, offset = data[0] & 0x0F, data[1] & 0x7F, 2
        if size == 126:
            (size,), offset = struct.unpack("!H", data[2:4]), 4
        elif size == 127:
            (size,), offset = struct.unpack("!Q", data[2:10]), 10
        if len(data) < offset + 4 + size:
            return False
        mask = data[offset : offset + 4]
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data[offset + 4 : offset + 4 + size]))
        self.buffer = data[offset + 4 + size :]
        if opcode == PONG:
            self.pongs.append(body)
        elif opcode == CLOSE:
            self.close_codes.append(struct.unpack("!H", body[:2])[0] if len(body) >= 2 else None)
            self.transport.write(frame(body[:2], CLOSE))
            self.transport.loseConnection()
        return True


class HostileFactory(Factory):
    """Serves ``script`` to every connection; ``connections`` in the order they came."""

    protocol = HostileServer

    def __init__(self, script: Callable[[HostileServer], None]) -> None:
        self.script = script
        self.connections: list[HostileServer] = []


def message(trade_id: int, pad: int = 0, event_ms: int = 1) -> bytes:
    """One combined-stream trade payload (event time ``event_ms``), padded with spaces to
    ``pad`` bytes if asked."""
    payload = dumps({"stream": TRADES, "data": {**trade(trade_id), "E": event_ms}})
    return payload + b" " * max(0, pad - len(payload))


class Conversation:
    """A StreamConnection's session, in memory, with a hostile server running ``script``."""

    def __init__(self, policy: ConnectionPolicy, script: Callable[[HostileServer], None]) -> None:
        self.harness = Harness(policy)
        self.harness.route(TRADES)
        self.harness.connection.add_streams((TRADES,))
        factory = self.harness.connection._factory
        assert factory is not None
        self.factory, self.connector = factory, self.harness.connector_of(factory)
        factory.startedConnecting(self.connector)
        self.client = factory.buildProtocol(None)
        self.server = HostileFactory(script).buildProtocol(None)
        self.pump = iosim.connect(
            self.server,
            iosim.makeFakeServer(self.server),
            self.client,
            iosim.makeFakeClient(self.client),
        )

    def send(self, data: bytes) -> None:
        """The server writes ``data`` (unless it already hung up) and the bytes travel."""
        if not self.server.transport.disconnecting:
            self.server.send(data)
        self.pump.flush()

    def end(self) -> None:
        """The socket closed: tell the factory, as the connector would."""
        self.factory.clientConnectionLost(self.connector, Failure(ConnectionDone()))

    @property
    def received(self) -> list[int]:
        return [data["t"] for _, data in self.harness.received]

    def errors(self) -> list[tuple[str | None, int | None]]:
        return [(e.reason, e.code) for e in self.harness.events if e.kind is EventKind.ERROR]
