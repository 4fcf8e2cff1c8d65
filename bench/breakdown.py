"""Where the time goes: the per-message CPU of each layer, measured in one process.

    python bench/breakdown.py              # trade and depth, 100,000 / 30,000 frames, 5 rounds
    python bench/breakdown.py --quick

``run.py`` measures whole clients end to end, so its numbers carry the noise of sockets,
scheduling and a shared machine. This script removes all of that: it opens several real
WebSocket sessions to an idle ``server.py`` (``--count 0``), then feeds the same pre-framed
64 KiB chunks (what one Twisted read returns under load) straight into each session's
``dataReceived`` and times it with ``process_time``. Every variant shares one interpreter
and heap, and the variants are interleaved round by round. Variants:

- raw autobahn + stdlib json, UTF-8 validation on (autobahn's default) and off;
- the same, off, with ``onMessageEnd`` replaced (on that one raw session) by a version that
  skips autobahn's per-message ``fire("message")`` observer event (a resolved Deferred per
  message): the floor any autobahn client can reach;
- binance-twisted's ``SessionProtocol`` as installed, with orjson and with stdlib json (its
  module-level ``loads`` swapped). The package itself skips ``fire("message")``, so nothing
  here patches ``SessionProtocol``.

The differences between rows are the cost of each layer.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server import SCENARIOS, build_chunks

HERE = Path(__file__).resolve().parent
FIELDS = {"trade": "t", "depth": "u"}


def skip_fire(proto: Any) -> Callable[[], None]:
    """``onMessageEnd`` without autobahn's per-message observer event (raw floor only)."""

    def on_message_end() -> None:
        if not proto.failedByMe:
            proto.onMessage(b"".join(proto.message_data), proto.message_is_binary)
        proto.message_data = None

    return on_message_end


async def open_sessions(reactor: Any, port: int, on_message: Callable) -> dict[str, Any]:
    from autobahn.twisted.websocket import (
        WebSocketClientFactory,
        WebSocketClientProtocol,
        connectWS,
    )
    from twisted.internet import defer

    from binance_twisted import Endpoints, StreamClient

    opened: dict[str, Any] = {}

    class Raw(WebSocketClientProtocol):
        def onOpen(self) -> None:
            opened[self.factory.name] = self

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            message = json.loads(payload)
            on_message(message["stream"], message["data"])

    raw = {
        "raw autobahn, UTF-8 check on": True,
        "raw autobahn, UTF-8 check off": False,
        "raw autobahn, UTF-8 off, no fire()": False,
    }
    for name, validate in raw.items():
        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/stream?streams=x")
        factory.protocol = Raw
        factory.name = name
        factory.setProtocolOptions(utf8validateIncoming=validate)
        connectWS(factory)

    endpoints = Endpoints.for_tld("com").replace(stream_url=f"ws://127.0.0.1:{port}")
    client = StreamClient(reactor, endpoints)
    await client.subscribe(list(SCENARIOS.values()), on_message)
    opened["binance-twisted"] = client._connections[0]._session
    expected = len(raw) + 1
    deadline = time.monotonic() + 10
    while len(opened) < expected and time.monotonic() < deadline:
        pause: defer.Deferred = defer.Deferred()
        reactor.callLater(0.05, pause.callback, None)
        await pause
    if len(opened) < expected:
        raise RuntimeError(f"only {sorted(opened)} opened")
    floor = opened["raw autobahn, UTF-8 off, no fire()"]
    floor.onMessageEnd = skip_fire(floor)
    opened["_clients"] = [client]
    return opened


def measure(sessions: dict[str, Any], chunks: list[bytes], count: int, rounds: int, seen: list):
    import binance_twisted._core.protocol as bt_protocol

    fast_loads = bt_protocol.loads
    variants = [
        ("raw autobahn, UTF-8 check on", "raw autobahn, UTF-8 check on", None),
        ("raw autobahn, UTF-8 check off", "raw autobahn, UTF-8 check off", None),
        ("raw autobahn, UTF-8 off, no fire()", "raw autobahn, UTF-8 off, no fire()", None),
        ("binance-twisted (stdlib json)", "binance-twisted", json.loads),
        ("binance-twisted (orjson)", "binance-twisted", fast_loads),
    ]
    costs: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for _ in range(rounds):
        for label, session, loads in variants:
            if loads is not None:
                bt_protocol.loads = loads
            proto = sessions[session]
            seen[0] = 0
            gc.collect()
            start = time.process_time()
            for chunk in chunks:
                proto.dataReceived(chunk)
            elapsed = time.process_time() - start
            bt_protocol.loads = fast_loads
            if seen[0] != count:
                raise RuntimeError(f"{label}: {seen[0]} of {count} messages delivered")
            costs[label].append(elapsed / count * 1e6)
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="per-layer message cost, in one process")
    parser.add_argument("--quick", action="store_true", help="20,000 trade + 5,000 depth")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    counts = (
        {"trade": 20_000, "depth": 5_000} if args.quick else {"trade": 100_000, "depth": 30_000}
    )

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, str(HERE / "server.py"), "--port", str(port), "--count", "0"]
    command += ["--scenario", "trade", "--timeout", "600"]
    server = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return run(port, counts, args.rounds)
    finally:
        server.terminate()
        server.wait(10)


def run(port: int, counts: dict[str, int], rounds: int) -> int:
    from twisted.internet import defer, reactor

    seen = [0]
    checksum = [0]
    field = ["t"]

    def on_message(stream: str, data: Any) -> None:
        seen[0] += 1
        checksum[0] += data[field[0]]

    outcome: dict[str, Any] = {}

    async def go() -> None:
        sessions = await open_sessions(reactor, port, on_message)
        for scenario, count in counts.items():
            field[0] = FIELDS[scenario]
            chunks = build_chunks(scenario, count)
            outcome[scenario] = measure(sessions, chunks, count, rounds, seen)
        for client in sessions["_clients"]:
            await client.close()

    def finished(result: Any) -> None:
        if isinstance(result, Exception) or hasattr(result, "getTraceback"):
            outcome["error"] = result
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(go()).addBoth(finished))
    reactor.run()
    if "error" in outcome:
        print(outcome["error"], file=sys.stderr)
        return 1
    for scenario, costs in outcome.items():
        print(f"\n**{scenario}** ({counts[scenario]:,} frames in 64 KiB chunks; {rounds} rounds)\n")
        print("| variant | CPU \u00b5s/msg (median) | best |")
        print("|---|---|---|")
        for label, values in costs.items():
            print(f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
