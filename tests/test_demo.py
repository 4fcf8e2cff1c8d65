"""The README's first command, ``python -m binance_twisted demo``: offline in-process, with
no network, interrupted with Ctrl-C in a real process, and given a bad symbol."""

from __future__ import annotations

import argparse
import io
import signal
import sys

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.__main__ import demo, main
from binance_twisted.endpoints import Endpoints
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until
from tests.test_operator import ENV, ROOT, _Process

SUMMARY = r"spot-1: \d+ messages, .*; book \w+, \d+ gaps"


class DemoTests(TestCase):
    def test_demo_streams_trades_and_a_synced_book_then_cleans_up(self) -> None:
        """Trades, a synced top of book, the counters last, and everything closed."""
        out = io.StringIO()
        options = argparse.Namespace(symbol="BTCUSDT", seconds=1.0, live=False)

        def check(_: None) -> None:
            text = out.getvalue()
            self.assertIn("[book] synced {'lastUpdateId':", text)
            self.assertRegex(text, r"BTCUSDT trade #\d+: ")
            self.assertRegex(text, r"BTCUSDT book #\d+: bid \S+ @ \S+ \| ask \S+ @ \S+ \| spread")
            self.assertRegex(text.splitlines()[-1], SUMMARY.replace(r"\w+", "synced"))

        return defer.ensureDeferred(demo(reactor, options, out)).addCallback(check)

    @asynchronous
    async def test_no_network_still_ends_on_time_and_says_why(self) -> None:
        """--live where nothing answers: the timer counts from the start, and the summary
        names the failed attempts and the last error (it used to wait forever)."""
        fake = FakeBinance(reactor)
        await fake.start()
        closed = fake.endpoints
        await fake.stop()
        self.patch(Endpoints, "for_tld", classmethod(lambda cls, tld: closed))
        out = io.StringIO()
        options = argparse.Namespace(symbol="btcusdt", seconds=0.5, live=True)
        await demo(reactor, options, out)
        last = out.getvalue().splitlines()[-1]
        self.assertRegex(last, r"spot-1: 0 messages, .* \d+ failed connection attempts, last")
        self.assertIn("refused", last.lower())

    def test_a_bad_symbol_is_a_usage_error(self) -> None:
        """Exit status 2 and the option named, not a traceback from inside the reactor."""
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as exited:
            main(["demo", "--symbol", "bad sym"])
        self.assertEqual(exited.exception.code, 2)
        self.assertIn("error: --symbol: symbol must be", err.getvalue())

    @asynchronous
    async def test_ctrl_c_prints_the_summary_last(self) -> None:
        """SIGINT: the counters are the last line (no reconnect noise after them)."""
        process = _Process()
        argv = [sys.executable, "-m", "binance_twisted", "demo", "--seconds", "0"]
        transport = reactor.spawnProcess(process, sys.executable, argv, env=ENV, path=str(ROOT))
        self.addCleanup(lambda: process.ended.called or transport.signalProcess("KILL"))
        await wait_until(lambda: b"[book] synced" in process.output, 20)
        transport.signalProcess(signal.SIGINT)
        await process.ended
        lines = process.output.decode().splitlines()
        self.assertRegex(lines[-1], SUMMARY.replace(r"\w+", "synced"))
