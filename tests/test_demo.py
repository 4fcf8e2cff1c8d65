"""The README's first command, ``python -m binance_twisted demo``, run offline in-process."""

from __future__ import annotations

import argparse
import io

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.__main__ import demo


class DemoTests(TestCase):
    def test_demo_streams_trades_and_a_synced_book_then_cleans_up(self) -> None:
        """Trades, a synced top of book, the counters, and everything closed at the end."""
        out = io.StringIO()
        options = argparse.Namespace(symbol="BTCUSDT", seconds=1.0, live=False)

        def check(_: None) -> None:
            text = out.getvalue()
            self.assertIn("[book] synced {'lastUpdateId':", text)
            self.assertRegex(text, r"BTCUSDT trade #\d+: ")
            self.assertRegex(text, r"BTCUSDT book #\d+: bid \S+ @ \S+ \| ask \S+ @ \S+ \| spread")
            self.assertRegex(text, r"spot-1: \d+ messages, .*; book synced, 0 gaps")
            self.assertTrue(text.rstrip().endswith("disconnected (closed by the client)"), text)

        return defer.ensureDeferred(demo(reactor, options, out)).addCallback(check)
