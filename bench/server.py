"""Load server for the message-path benchmark: one session, N pre-framed frames, close 1000.

Run as its own process so its CPU never shares the client's interpreter::

    python bench/server.py --port 9001 --count 200000 --scenario trade

It listens on 127.0.0.1, accepts ``/stream?streams=...`` (and ``/ws/...``), answers
``SUBSCRIBE``, ``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS`` like Binance, and as soon as the
session has a stream it writes ``count`` combined-stream envelopes as fast as the client
drains them, then closes with 1000 and exits. With ``--count 0`` it sends no data and
serves any number of sessions until ``--timeout`` (for ``breakdown.py``). Connections that
never finish the WebSocket handshake (``run.py``'s readiness probe) are ignored.

Every frame is built before listening: the JSON is rendered once, the WebSocket header
(server frames are unmasked) is prepended, and frames are joined into ~64 KiB chunks. A
pull producer writes the next chunks only when Twisted's write buffer is empty, so the
server never buffers more than a few hundred KiB ahead of the client (backpressure) and
costs almost no CPU per message. It prints nothing but errors (to stderr).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor, ssl
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from binance_twisted._core.frames import frame_head

SCENARIOS = {
    "trade": "btcusdt@trade",
    "depth": "btcusdt@depth@100ms",
    "arrays": "!miniTicker@arr",
}
CHUNK_BYTES = 64 * 1024
CHUNKS_PER_WRITE = 4
START_MS = 1_763_769_600_000  # 2025-11-22T00:00:00Z, only a realistic-looking clock


def ws_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame (RFC 6455 section 5.2)."""
    return frame_head(len(payload)) + payload


def trade_payloads(count: int, seed: int = 1) -> Iterator[bytes]:
    """Spot ``<symbol>@trade`` events (~190 bytes each) with increasing ids."""
    rng = random.Random(seed)
    prices = [f"{98_000 + rng.randrange(150_000) / 100:.8f}" for _ in range(4096)]
    quantities = [f"{rng.randrange(1, 200_000) / 1e5:.8f}" for _ in range(4096)]
    flags = ("true", "false")
    trade_id = 5_234_567_890
    for i in range(count):
        event_time = START_MS + i // 50
        price, quantity, maker = prices[i & 4095], quantities[(i * 7) & 4095], flags[(i >> 3) & 1]
        yield (
            f'{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{event_time},"s":"BTCUSDT",'
            f'"t":{trade_id + i},"p":"{price}","q":"{quantity}","T":{event_time - 1},'
            f'"m":{maker},"M":true}}}}'
        ).encode()


def depth_payloads(count: int, levels: int = 20, seed: int = 2) -> Iterator[bytes]:
    """Spot ``<symbol>@depth@100ms`` diffs, ``levels`` changed levels per side (~1.5 KB)."""
    rng = random.Random(seed)

    def side(mid: float, sign: int) -> str:
        rows = []
        for k in range(levels):
            price = mid + sign * (0.01 + k * 0.01 + rng.random() * 0.005)
            quantity = 0.0 if rng.random() < 0.2 else rng.expovariate(5)
            rows.append(f'["{price:.8f}","{quantity:.8f}"]')
        return "[" + ",".join(rows) + "]"

    books = []
    for _ in range(512):
        mid = 98_000 + rng.random() * 1_500
        books.append((side(mid, -1), side(mid, 1)))
    update_id = 71_234_567_890
    for i in range(count):
        first = update_id + 1
        update_id += 40 + (i % 17)
        bids, asks = books[i & 511]
        yield (
            f'{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{START_MS + i * 100},'
            f'"s":"BTCUSDT","U":{first},"u":{update_id},"b":{bids},"a":{asks}}}}}'
        ).encode()


def array_payloads(count: int, symbols: int = 1000, seed: int = 3) -> Iterator[bytes]:
    """``!miniTicker@arr``: every symbol's mini ticker in one message (~160 KB)."""
    rng = random.Random(seed)
    names = [f"SYM{k:04d}USDT" for k in range(symbols)]
    for i in range(count):
        rows = []
        for name in names:
            close = rng.random() * 100
            volume, quote = rng.random() * 1e6, rng.random() * 1e7
            rows.append(
                f'{{"e":"24hrMiniTicker","E":{START_MS + i * 1000},"s":"{name}",'
                f'"c":"{close:.8f}","o":"{close * 0.99:.8f}","h":"{close * 1.01:.8f}",'
                f'"l":"{close * 0.98:.8f}","v":"{volume:.2f}","q":"{quote:.2f}"}}'
            )
        yield ('{"stream":"!miniTicker@arr","data":[' + ",".join(rows) + "]}").encode()


_PAYLOADS = {"trade": trade_payloads, "depth": depth_payloads, "arrays": array_payloads}


def build_chunks(scenario: str, count: int) -> list[bytes]:
    """All frames of a run, framed and joined into ~CHUNK_BYTES pieces, in order."""
    payloads = _PAYLOADS[scenario](count)
    chunks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for payload in payloads:
        frame = ws_frame(payload)
        pending.append(frame)
        size += len(frame)
        if size >= CHUNK_BYTES:
            chunks.append(b"".join(pending))
            pending, size = [], 0
    if pending:
        chunks.append(b"".join(pending))
    return chunks


class BlastProtocol(WebSocketServerProtocol):
    """One client session: confirm streams, blast every chunk, close, stop the reactor."""

    factory: BlastFactory

    def __init__(self) -> None:
        super().__init__()
        self.streams: list[str] = []
        self.opened = False
        self.blasting = False
        self.next_chunk = 0

    def onConnect(self, request):
        query = request.params.get("streams", [""])[0]
        self.streams = [s for s in query.split("/") if s]
        if request.path.startswith("/ws/"):
            self.streams.append(request.path[4:])
        return None

    def onOpen(self) -> None:
        self.opened = True
        if self.streams:
            self.start_blast()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        try:
            request = json.loads(payload)
            method, request_id = request["method"], request.get("id")
        except (ValueError, KeyError, TypeError):
            self.reply({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        params = request.get("params") or []
        if method == "SUBSCRIBE":
            self.streams.extend(s for s in params if s not in self.streams)
            self.reply({"result": None, "id": request_id})
            if self.streams:
                self.start_blast()
        elif method == "UNSUBSCRIBE":
            self.streams = [s for s in self.streams if s not in params]
            self.reply({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            self.reply({"result": list(self.streams), "id": request_id})
        else:
            self.reply({"error": {"code": 2, "msg": "Invalid request"}, "id": request_id})

    def reply(self, message: dict) -> None:
        self.sendMessage(json.dumps(message, separators=(",", ":")).encode())

    def start_blast(self) -> None:
        if self.blasting or self.factory.idle:
            return
        self.blasting = True
        # a pull producer: Twisted calls resumeProducing each time its write buffer empties
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        chunks = self.factory.chunks
        end = min(self.next_chunk + CHUNKS_PER_WRITE, len(chunks))
        if self.next_chunk < end:
            self.transport.writeSequence(chunks[self.next_chunk : end])
            self.next_chunk = end
        if self.next_chunk >= len(chunks):
            self.transport.unregisterProducer()
            self.sendClose(1000)

    def stopProducing(self) -> None:
        self.next_chunk = len(self.factory.chunks)

    def connectionLost(self, reason) -> None:
        super().connectionLost(reason)
        if self.opened and reactor.running and not self.factory.idle:
            reactor.stop()


class BlastFactory(WebSocketServerFactory):
    protocol = BlastProtocol

    def __init__(self, url: str, chunks: list[bytes]) -> None:
        super().__init__(url)
        self.chunks = chunks
        self.idle = not chunks  # --count 0: send nothing, serve sessions until the timeout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--timeout", type=float, default=300.0, help="exit after this long")
    parser.add_argument("--tls-cert", help="serve wss:// with this PEM (key and certificate)")
    args = parser.parse_args(argv)

    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr),
                [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)],
            )
        ],
        redirectStandardIO=False,
    )
    chunks = build_chunks(args.scenario, args.count)
    scheme = "wss" if args.tls_cert else "ws"
    factory = BlastFactory(f"{scheme}://localhost:{args.port}", chunks)
    # the close frame queues behind megabytes in the kernel buffers; autobahn timeouts can
    # also fire up to 1 s early (txaio batched timers truncate to whole seconds)
    factory.setProtocolOptions(
        autoPingInterval=0, openHandshakeTimeout=30, closeHandshakeTimeout=60
    )
    if args.tls_cert:
        certificate = ssl.PrivateCertificate.loadPEM(Path(args.tls_cert).read_text())
        reactor.listenSSL(args.port, factory, certificate.options(), interface="127.0.0.1")
    else:
        reactor.listenTCP(args.port, factory, interface="127.0.0.1")
    timed_out = []
    reactor.callLater(args.timeout, lambda: (timed_out.append(True), reactor.stop()))
    reactor.run()
    if timed_out:
        print(f"bench server: gave up after {args.timeout:g} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
