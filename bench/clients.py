"""The clients under test, one per process: ``python bench/clients.py KIND --port P ...``.

Each connects to ``bench/server.py``, counts messages in a trivial callback (count, read
one field), and measures from the first message to the ``count``-th: wall time
(``perf_counter``) and this process's CPU (``getrusage``, user + sys, all threads). It then
prints one JSON line and exits. Kinds:

``baseline``
    A minimal raw autobahn client: ``onMessage`` → stdlib ``json.loads`` → unwrap →
    callback, with autobahn's default protocol options (incoming UTF-8 validation on).
``baseline-noutf8``
    The same with ``utf8validateIncoming=False``, as binance-twisted sets it.
``bt``
    ``binance_twisted.StreamClient`` as installed (orjson when present).
``bt-stdlib``
    The same with ``import orjson`` made to fail, so ``binance_twisted._json`` falls back
    to the stdlib ``json`` module.
``bt-legacy``
    binance-twisted's drop-in ``BinanceSocketManager`` (``start_multiplex_socket``), as a
    0.x script uses it: the library's reactor in its own thread.
``legacy``
    python-binance 0.7.11's ``BinanceSocketManager`` (``start_multiplex_socket``), run
    with the interpreter of a venv that has it; its reactor runs in its own thread.
``picows``
    picows (Cython WebSocket on asyncio) + orjson, the fastest Python client we know:
    the reference for issue 14's ratios (skipped, said so, where picows is not installed).
``limit``
    What pure Python can do at best: a blocking socket, ``recv_into`` one reused buffer,
    frames cut by offsets (no masking, no fragments, no checks beyond the opcode),
    ``orjson.loads`` on a memoryview, unwrap, callback. No reactor, no reconnects, no
    limits: a floor to measure against, not a client anyone should run.

Only the standard library is imported at module level, so the same file runs under the
legacy venv's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

#: the clients, in the order the tables list them
KINDS = (
    "baseline",
    "baseline-noutf8",
    "bt",
    "bt-stdlib",
    "bt-record",
    "bt-legacy",
    "legacy",
    "picows",
    "limit",
)
SCENARIO_STREAMS = {
    "trade": "btcusdt@trade",
    "depth": "btcusdt@depth@100ms",
    "arrays": "!miniTicker@arr",
}
SCENARIO_FIELD = {"trade": "t", "depth": "u", "arrays": -1}  # what every callback reads


def host(args: argparse.Namespace) -> str:
    """Where the server is: by name over TLS (its certificate's name), else the address."""
    return "localhost" if args.tls else "127.0.0.1"


def base_url(args: argparse.Namespace) -> str:
    return f"{'wss' if args.tls else 'ws'}://{host(args)}:{args.port}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Counts messages; snapshots clock and CPU at the first and the ``count``-th one."""

    def __init__(self, count: int, on_done: Callable[[], None], profile: str | None) -> None:
        self.count = count
        self.seen = 0
        self.checksum = 0
        self.on_done = on_done
        self.profile_path = profile
        self.profiler: Any = None
        self.start_wall = self.start_cpu = self.end_wall = self.end_cpu = 0.0

    def first(self) -> None:
        self.start_wall = time.perf_counter()
        self.start_cpu = cpu_seconds()
        if self.profile_path:
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()

    def last(self) -> None:
        if self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(self.profile_path)
        self.end_wall = time.perf_counter()
        self.end_cpu = cpu_seconds()
        self.on_done()

    def result(self) -> dict[str, Any]:
        wall = self.end_wall - self.start_wall
        cpu = self.end_cpu - self.start_cpu
        spans = max(self.count - 1, 1)  # intervals between the first and the last message
        return {
            "messages": self.seen,
            "checksum": self.checksum,
            "wall_s": wall,
            "cpu_s": cpu,
            "msgs_per_s": spans / wall if wall > 0 else None,
            "cpu_us_per_msg": cpu / spans * 1e6,
            "cpu_util": cpu / wall if wall > 0 else None,
            # the process's peak resident memory so far (Linux reports KiB)
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def make_callback(meter: Meter, field: str | int) -> Callable[[str, Any], None]:
    """The user callback shared by every client: count, read one field (of the last
    element, for an array)."""

    def on_message(stream: str, data: Any) -> None:
        meter.seen += 1
        meter.checksum += data[field] if type(field) is str else data[field]["E"]
        if meter.seen == 1:
            meter.first()
        elif meter.seen == meter.count:
            meter.last()

    return on_message


def begin_logging() -> None:
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr),
                [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)],
            )
        ],
        redirectStandardIO=False,
    )


def versions() -> dict[str, str]:
    import autobahn
    import twisted

    return {
        "python": sys.version.split()[0],
        "twisted": twisted.__version__,
        "autobahn": autobahn.__version__,
    }


# -- the clients ---------------------------------------------------------------------------


def run_baseline(args: argparse.Namespace, meter: Meter, utf8validate: bool) -> dict[str, Any]:
    from autobahn.twisted.websocket import (
        WebSocketClientFactory,
        WebSocketClientProtocol,
        connectWS,
    )
    from twisted.internet import reactor

    callback = make_callback(meter, SCENARIO_FIELD[args.scenario])
    loads = json.loads

    class RawProtocol(WebSocketClientProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            message = loads(payload)
            callback(message["stream"], message["data"])

    url = f"{base_url(args)}/stream?streams={SCENARIO_STREAMS[args.scenario]}"
    factory = WebSocketClientFactory(url)
    factory.protocol = RawProtocol
    if not utf8validate:
        factory.setProtocolOptions(utf8validateIncoming=False)
    connectWS(factory)
    meter.on_done = lambda: reactor.callLater(0, reactor.stop)
    reactor.callLater(args.timeout, reactor.stop)
    reactor.run()
    return {"json": "json (stdlib)", "utf8validate": utf8validate}


def run_bt(
    args: argparse.Namespace, meter: Meter, stdlib_json: bool, record: bool = False
) -> dict[str, Any]:
    if stdlib_json:
        sys.modules["orjson"] = None  # type: ignore[assignment]  # makes `import orjson` fail
    from twisted.internet import defer, reactor

    from binance_twisted import Endpoints, StreamClient, _json

    if stdlib_json and _json.FAST:
        raise SystemExit("bt-stdlib: binance_twisted still picked orjson")
    callback = make_callback(meter, SCENARIO_FIELD[args.scenario])
    endpoints = Endpoints.for_tld("com").replace(stream_url=base_url(args))
    client = StreamClient(reactor, endpoints)
    outcome: dict[str, Any] = {}
    sink = None
    if record:  # the same client, every frame also recorded to disk (bt-record)
        import tempfile

        from binance_twisted.recording.recorder import Recorder
        from binance_twisted.recording.sink import RecordSink

        sink = RecordSink(reactor, tempfile.mkdtemp(prefix="bench-record-"), "bench", {})
        recorder = Recorder(client, [SCENARIO_STREAMS[args.scenario]], sink.put)

    async def main() -> None:
        if sink is not None:
            await sink.start()
            await recorder.start()
        await client.subscribe([SCENARIO_STREAMS[args.scenario]], callback)

    async def finish() -> None:
        outcome["stats"] = client.stats()
        await client.close()
        if sink is not None:
            await sink.stop()
            outcome["written"] = sink.stats.bytes_written

    def stop(_: Any = None) -> None:
        if reactor.running:
            reactor.stop()

    def done() -> None:
        reactor.callLater(0, lambda: defer.ensureDeferred(finish()).addBoth(stop))

    def failed(failure: Any) -> None:
        outcome["error"] = failure.getErrorMessage()
        stop()

    meter.on_done = done
    reactor.callWhenRunning(lambda: defer.ensureDeferred(main()).addErrback(failed))
    reactor.callLater(args.timeout, stop)
    reactor.run()
    if "error" in outcome:
        raise SystemExit(f"binance-twisted: {outcome['error']}")
    stats = next(iter(outcome.get("stats", {}).values()), {})
    return {
        "json": "orjson" if _json.FAST else "json (stdlib)",
        "utf8validate": False,
        "stats_messages": stats.get("messages"),
        "bytes_written": outcome.get("written"),
    }


def run_legacy(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    from binance.websockets import BinanceSocketManager
    from twisted.internet import reactor

    class DummyClient:
        API_KEY = "bench"
        API_SECRET = "bench"
        testnet = False

    field = SCENARIO_FIELD[args.scenario]
    callback = make_callback(meter, field)

    def on_message(message: dict) -> None:  # legacy hands the whole envelope to the user
        callback(message["stream"], message["data"])

    manager = BinanceSocketManager(DummyClient())
    manager.STREAM_URL = f"{base_url(args)}/"
    manager.start_multiplex_socket([SCENARIO_STREAMS[args.scenario]], on_message)
    meter.on_done = lambda: reactor.callLater(0, reactor.stop)
    reactor.callLater(args.timeout, reactor.stop)
    manager.daemon = True
    manager.start()  # reactor.run() in the manager's thread, as 0.7.11 users ran it
    manager.join()
    import ujson  # what 0.7.11 decodes with

    return {"json": f"ujson {ujson.__version__}", "utf8validate": True}


def run_bt_legacy(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    import threading

    from binance_twisted import BinanceSocketManager, _json

    callback = make_callback(meter, SCENARIO_FIELD[args.scenario])
    done = threading.Event()
    meter.on_done = done.set

    def on_message(message: dict) -> None:  # the legacy shape: the whole envelope
        callback(message["stream"], message["data"])

    manager = BinanceSocketManager(None)
    manager.STREAM_URL = f"{base_url(args)}/"
    manager.start_multiplex_socket([SCENARIO_STREAMS[args.scenario]], on_message)
    manager.start()
    done.wait(args.timeout)
    stats = next(iter(manager.stats().values()), {})
    manager.close()
    return {
        "json": "orjson" if _json.FAST else "json (stdlib)",
        "utf8validate": False,
        "stats_messages": stats.get("messages"),
    }


def run_picows(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    import asyncio

    import orjson
    from picows import WSListener, WSMsgType, ws_connect

    callback = make_callback(meter, SCENARIO_FIELD[args.scenario])
    loads = orjson.loads
    text, ping = WSMsgType.TEXT, WSMsgType.PING

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type is text:
                message = loads(frame.get_payload_as_memoryview())
                callback(message["stream"], message["data"])
            elif frame.msg_type is ping:
                transport.send_pong(frame.get_payload_as_bytes())

    async def run() -> None:
        done = asyncio.Event()
        meter.on_done = done.set
        url = f"{base_url(args)}/stream?streams={SCENARIO_STREAMS[args.scenario]}"
        context = ssl.create_default_context() if args.tls else None  # trusts SSL_CERT_FILE
        transport, _ = await ws_connect(Listener, url, ssl_context=context)
        try:
            await asyncio.wait_for(done.wait(), args.timeout)
        finally:
            transport.disconnect()

    asyncio.run(run())
    import picows

    return {
        "json": f"orjson {orjson.__version__}",
        "utf8validate": False,
        "picows": picows.__version__,
    }


def run_limit(args: argparse.Namespace, meter: Meter) -> dict[str, Any]:
    import base64
    import socket

    import orjson

    callback = make_callback(meter, SCENARIO_FIELD[args.scenario])
    loads = orjson.loads
    sock = socket.create_connection((host(args), args.port), timeout=args.timeout)
    if args.tls:  # trusts SSL_CERT_FILE, as every client of a --tls run does
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host(args))
    key = base64.b64encode(os.urandom(16)).decode()
    path = f"/stream?streams={SCENARIO_STREAMS[args.scenario]}"
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host(args)}:{args.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    buffer = bytearray(4 << 20)
    view = memoryview(buffer)
    end = 0
    while b"\r\n\r\n" not in buffer[:end]:
        end += sock.recv_into(view[end:])
    head_end = bytes(buffer[:end]).index(b"\r\n\r\n") + 4
    start = head_end  # frames begin here
    done = [False]
    meter.on_done = lambda: done.__setitem__(0, True)
    while not done[0]:
        offset = start
        while end - offset >= 2:
            opcode = buffer[offset] & 0x0F
            length = buffer[offset + 1] & 0x7F
            header = 2
            if length == 126:
                header = 4
                length = int.from_bytes(buffer[offset + 2 : offset + 4], "big")
            elif length == 127:
                header = 10
                length = int.from_bytes(buffer[offset + 2 : offset + 10], "big")
            if end - offset < header + length:
                break
            payload = view[offset + header : offset + header + length]
            offset += header + length
            if opcode == 1:
                message = loads(payload)
                callback(message["stream"], message["data"])
            elif opcode == 9:  # ping: a masked pong with a zero mask
                sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + bytes(payload))
            elif opcode == 8:
                done[0] = True
                break
        if offset == end:
            start = end = 0
        elif offset > len(buffer) // 2:  # move the partial frame to the front
            buffer[: end - offset] = buffer[offset:end]
            start, end = 0, end - offset
        else:
            start = offset
        if done[0]:
            break
        got = sock.recv_into(view[end:])
        if not got:
            break
        end += got
    sock.close()
    return {"json": f"orjson {orjson.__version__}", "utf8validate": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one benchmark client (see module doc)")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIO_STREAMS), required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--tls", action="store_true", help="wss://localhost (run.py --tls sets SSL_CERT_FILE)"
    )
    parser.add_argument("--profile", help="write cProfile stats of the measured span here")
    args = parser.parse_args(argv)

    begin_logging()
    meter = Meter(args.count, lambda: None, args.profile)
    if args.kind.startswith("baseline"):
        extra = run_baseline(args, meter, utf8validate=args.kind == "baseline")
    elif args.kind == "bt-legacy":
        extra = run_bt_legacy(args, meter)
    elif args.kind == "picows":
        extra = run_picows(args, meter)
    elif args.kind == "limit":
        extra = run_limit(args, meter)
    elif args.kind.startswith("bt"):
        extra = run_bt(
            args, meter, stdlib_json=args.kind == "bt-stdlib", record=args.kind == "bt-record"
        )
    else:
        extra = run_legacy(args, meter)
    if meter.seen < args.count:
        print(
            f"{args.kind}: only {meter.seen} of {args.count} messages before the timeout "
            "or the connection ended",
            file=sys.stderr,
        )
        return 1
    result = {"kind": args.kind, "scenario": args.scenario, "count": args.count, "pid": os.getpid()}
    result.update(meter.result())
    result.update(extra)
    result.update(versions())
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
