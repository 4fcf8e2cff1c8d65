"""The legacy threading contract, in real processes: what a script's lifetime looks like.

Each test runs a small legacy-style script in a fresh interpreter (its own reactor thread,
started by the library) against a FakeBinance served by this process, and checks what the
user sees: output, exit status, and how long the process took to end.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from typing import Any

from twisted.internet import defer, protocol, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.testing import FakeBinance
from tests.support import asynchronous

PRELUDE = """
import sys, threading, time
from binance_twisted import BinanceSocketManager
URL = sys.argv[1] + "/"
"""


class _Collect(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.out = b""
        self.err = b""
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(reason.value.exitCode)


class ScriptTestCase(TestCase):
    async def run_script(self, body: str, timeout: float = 30.0, **fake_options: Any):
        """Run PRELUDE + body with the fake's stream URL; returns (exit code, stdout lines)."""
        fake = FakeBinance(reactor, **{"event_interval": 0.02, **fake_options})
        await fake.start()
        self.addCleanup(fake.stop)
        path = self.mktemp() + ".py"
        with open(path, "w") as script:
            script.write(PRELUDE + textwrap.dedent(body))
        collect = _Collect()
        process = reactor.spawnProcess(
            collect,
            sys.executable,
            [sys.executable, path, fake.endpoints.stream_url],
            env=dict(os.environ),
        )
        killer = reactor.callLater(timeout, process.signalProcess, "KILL")
        code = await collect.ended
        if killer.active():
            killer.cancel()
        lines = collect.out.decode().splitlines()
        if code != 0:
            self.fail(f"script exited {code}:\n{collect.out.decode()}\n{collect.err.decode()}")
        return lines


class LifetimeTests(ScriptTestCase):
    @asynchronous
    async def test_script_that_ends_after_start_keeps_streaming(self) -> None:
        """Main returns right after bm.start(); messages flow until close() from a callback."""
        lines = await self.run_script(
            """
            count = 0
            def on_trade(msg):
                global count
                count += 1
                print("msg", msg["t"], flush=True)
                if count == 10:
                    bm.close()
            bm = BinanceSocketManager(None)
            bm.STREAM_URL = URL
            bm.start_trade_socket("BNBBTC", on_trade)
            bm.start()
            print("main done", flush=True)
            """
        )
        self.assertIn("main done", lines)
        after = lines[lines.index("main done") + 1 :]
        self.assertTrue(after and all(line.startswith("msg ") for line in after), lines)
        self.assertEqual(len([line for line in lines if line.startswith("msg ")]), 10)

    @asynchronous
    async def test_close_alone_lets_the_process_exit(self) -> None:
        """No reactor.stop(): bm.close() from the main thread is enough for the process to end."""
        lines = await self.run_script(
            """
            first = threading.Event()
            bm = BinanceSocketManager(None)
            bm.STREAM_URL = URL
            bm.start()
            key = bm.start_trade_socket("BNBBTC", lambda msg: first.set())
            assert first.wait(10), "no message"
            started = time.monotonic()
            bm.close()
            print("closed in", round(time.monotonic() - started, 3), flush=True)
            """
        )
        self.assertTrue(lines[-1].startswith("closed in"), lines)
        self.assertLess(float(lines[-1].split()[-1]), 5.0)

    @asynchronous
    async def test_reactor_stop_from_main_ends_a_silent_process_quickly(self) -> None:
        """reactor.stop() from the main thread, no data flowing: the process ends within 2 s,
        and a manager created afterwards fails with a clear ReactorStoppedError."""
        before = time.time()
        lines = await self.run_script(
            """
            import atexit
            from twisted.internet import reactor
            connected = threading.Event()
            bm = BinanceSocketManager(None, on_event=lambda key, event: connected.set())
            bm.STREAM_URL = URL
            bm.start_trade_socket("BNBBTC", print)
            bm.start()
            assert connected.wait(10), "never connected"
            stopped_at = time.monotonic()
            def report():
                print("exit after", round(time.monotonic() - stopped_at, 3), flush=True)
            atexit.register(report)
            reactor.stop()
            bm.join(5)
            print("manager thread alive:", bm.is_alive(), flush=True)
            try:
                BinanceSocketManager(None)
            except Exception as error:
                print("new manager:", type(error).__name__, "-", error, flush=True)
            """,
            event_interval=None,
        )
        self.assertIn("manager thread alive: False", lines)
        (refusal,) = [line for line in lines if line.startswith("new manager:")]
        self.assertIn("ReactorStoppedError", refusal)
        self.assertIn("cannot be restarted", refusal)
        self.assertLess(float(lines[-1].split()[-1]), 2.0, lines)
        self.assertLess(time.time() - before, 20)


class EarlyStopTests(TestCase):
    """reactor.stop() at once after bm.start(): a real 0.x script pattern that used to hang."""

    RUNS = 16
    AT_ONCE = 4
    SCRIPT = """
from twisted.internet import reactor
from binance_twisted import BinanceSocketManager
bm = BinanceSocketManager(None)
bm.STREAM_URL = "ws://127.0.0.1:9/"
bm.start_symbol_ticker_socket("BNBBTC", print)
bm.start()
reactor.stop()
"""

    @asynchronous
    async def test_every_run_exits_even_when_the_stop_beats_the_shutdown_trigger(self) -> None:
        """16 runs of the 8-line reduction, no sleep anywhere: each exits 0 within 10 s
        (before the fix about half waited forever on the manager thread)."""
        path = self.mktemp() + ".py"
        with open(path, "w") as script:
            script.write(self.SCRIPT)
        limiter = defer.DeferredSemaphore(self.AT_ONCE)
        runs = [limiter.run(self.run_once, path) for _ in range(self.RUNS)]
        outcomes = await defer.gatherResults(runs)
        self.assertEqual(outcomes, [0] * self.RUNS)

    async def _spawn(self, path: str) -> int | str:
        collect = _Collect()
        process = reactor.spawnProcess(
            collect, sys.executable, [sys.executable, path], env=dict(os.environ)
        )
        killer = reactor.callLater(10, process.signalProcess, "KILL")
        code = await collect.ended
        if not killer.active():
            return "hung (killed after 10 s)"
        killer.cancel()
        return code if code == 0 else f"exit {code}: {collect.err.decode()[-300:]}"

    def run_once(self, path: str) -> defer.Deferred:
        return defer.ensureDeferred(self._spawn(path))


class DepthCacheLifetimeTests(ScriptTestCase):
    @asynchronous
    async def test_a_0x_depth_cache_script_reads_its_book_and_exits_after_close(self) -> None:
        """DepthCacheManager without bm (0.x style): synced on return, books read from the main
        thread, close() ends its own manager and the process exits."""
        lines = await self.run_script(
            """
            from binance_twisted import DepthCacheManager, Endpoints
            endpoints = Endpoints.for_tld("com").replace(
                stream_url=URL.rstrip("/"), rest_url=URL.rstrip("/").replace("ws", "http", 1)
            )
            updates = threading.Event()
            dcm = DepthCacheManager(None, "BNBBTC", lambda cache: updates.set(),
                                    endpoints=endpoints)
            cache = dcm.get_depth_cache()
            assert updates.wait(10), "no update"
            bid, ask = cache.get_bids()[0], cache.get_asks()[0]
            print("best", bid[0] < ask[0], type(bid[0]).__name__, flush=True)
            dcm.close()
            print("closed", dcm.get_depth_cache(), flush=True)
            """
        )
        self.assertEqual(lines[-2:], ["best True float", "closed None"])
