"""Every legacy socket keeps python-binance 0.7.11's key; names sent are valid today."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.legacy import plans as paths
from binance_twisted.streams import RetiredStreamError

# (plan, key 0.7.11 returned, streams sent today, market, callback gets the envelope)
CASES = [
    (lambda: paths.depth("BNBBTC"), "bnbbtc@depth", ("bnbbtc@depth",), "spot", False),
    (lambda: paths.depth("BNBBTC", "1"), "bnbbtc@depth", ("bnbbtc@depth",), "spot", False),
    (lambda: paths.depth("BNBBTC", 5), "bnbbtc@depth5", ("bnbbtc@depth5",), "spot", False),
    (lambda: paths.depth("ETHBTC", "20"), "ethbtc@depth20", ("ethbtc@depth20",), "spot", False),
    (
        lambda: paths.depth("XRPBTC", interval=100),
        "xrpbtc@depth@100ms",
        ("xrpbtc@depth@100ms",),
        "spot",
        False,
    ),
    (
        lambda: paths.depth("BNBBTC", 10, 100),
        "bnbbtc@depth10@100ms",
        ("bnbbtc@depth10@100ms",),
        "spot",
        False,
    ),
    (lambda: paths.depth("BNBBTC", interval=0), "bnbbtc@depth", ("bnbbtc@depth",), "spot", False),
    (lambda: paths.kline("BNBBTC", "1m"), "bnbbtc@kline_1m", ("bnbbtc@kline_1m",), "spot", False),
    (lambda: paths.kline("BNBBTC", "1M"), "bnbbtc@kline_1M", ("bnbbtc@kline_1M",), "spot", False),
    (
        lambda: paths.miniticker(),
        "!miniTicker@arr@1000ms",
        ("!miniTicker@arr",),
        "spot",
        False,
    ),
    (
        lambda: paths.miniticker(3000),
        "!miniTicker@arr@3000ms",
        ("!miniTicker@arr",),
        "spot",
        False,
    ),
    (lambda: paths.trade("BNBBTC"), "bnbbtc@trade", ("bnbbtc@trade",), "spot", False),
    (lambda: paths.aggtrade("BNBBTC"), "bnbbtc@aggTrade", ("bnbbtc@aggTrade",), "spot", False),
    (lambda: paths.symbol_ticker("BNBBTC"), "bnbbtc@ticker", ("bnbbtc@ticker",), "spot", False),
    (lambda: paths.ticker(), "!ticker@arr", ("!ticker_1d@arr",), "spot", False),
    (
        lambda: paths.symbol_book_ticker("BNBBTC"),
        "bnbbtc@bookTicker",
        ("bnbbtc@bookTicker",),
        "spot",
        False,
    ),
    (
        lambda: paths.multiplex(["bnbbtc@aggTrade", "neobtc@ticker"]),
        "streams=bnbbtc@aggTrade/neobtc@ticker",
        ("bnbbtc@aggTrade", "neobtc@ticker"),
        "spot",
        True,
    ),
    (
        lambda: paths.multiplex(["BNBBTC@aggTrade"]),
        "streams=BNBBTC@aggTrade",
        ("bnbbtc@aggTrade",),
        "spot",
        True,
    ),
    (
        lambda: paths.futures_aggtrade("BTCUSDT"),
        "btcusdt@aggTrade",
        ("btcusdt@aggTrade",),
        "futures",
        True,
    ),
    (
        lambda: paths.symbol_mark_price("BTCUSDT"),
        "btcusdt@markPrice@1s",
        ("btcusdt@markPrice@1s",),
        "futures",
        True,
    ),
    (
        lambda: paths.symbol_mark_price("BTCUSDT", fast=False),
        "btcusdt@markPrice",
        ("btcusdt@markPrice",),
        "futures",
        True,
    ),
    (
        lambda: paths.all_mark_price(),
        "!markPrice@arr@1s",
        ("!markPrice@arr@1s",),
        "futures",
        True,
    ),
    (
        lambda: paths.all_mark_price(False),
        "!markPrice@arr",
        ("!markPrice@arr",),
        "futures",
        True,
    ),
    (
        lambda: paths.symbol_ticker_futures("BTCUSDT"),
        "btcusdt@bookTicker",
        ("btcusdt@bookTicker",),
        "futures",
        True,
    ),
    (
        lambda: paths.individual_symbol_ticker_futures("BTCUSDT"),
        "btcusdt@ticker",
        ("btcusdt@ticker",),
        "futures",
        True,
    ),
    (lambda: paths.all_ticker_futures(), "!bookTicker", ("!bookTicker",), "futures", True),
]


class LegacyPathTests(SynchronousTestCase):
    def test_every_legacy_socket_keeps_its_key_and_sends_valid_names(self) -> None:
        """Each 0.7.11 socket returns its legacy key; the streams, market and shape are right."""
        for build, key, streams, market, envelope in CASES:
            plan = build()
            self.assertEqual(
                (plan.key, plan.streams, plan.market, plan.envelope),
                (key, streams, market, envelope),
                key,
            )

    def test_substitutions_are_noted_once_and_only_for_them(self) -> None:
        """!ticker@arr and a non-1000 miniticker speed carry a note for the log; others none."""
        self.assertIn("!ticker_1d@arr", paths.ticker().note)
        self.assertIn("update_time is ignored", paths.miniticker(3000).note)
        self.assertIsNone(paths.miniticker(1000).note)
        self.assertIsNone(paths.trade("BNBBTC").note)

    def test_bad_arguments_fail_with_the_allowed_values(self) -> None:
        """Intervals, depth levels and depth speeds are checked, naming what is allowed."""
        with self.assertRaisesRegex(ValueError, r"Allowed values are \[0, 100\]"):
            paths.depth("BNBBTC", interval=250)
        with self.assertRaisesRegex(ValueError, "levels must be one of 5, 10, 20"):
            paths.depth("BNBBTC", 15)
        with self.assertRaisesRegex(ValueError, "interval must be one of"):
            paths.kline("BNBBTC", "2m")
        with self.assertRaisesRegex(ValueError, "symbol"):
            paths.trade("BNB/BTC")
        with self.assertRaisesRegex(ValueError, "at least one"):
            paths.multiplex([])

    def test_retired_sockets_are_refused_naming_the_replacement(self) -> None:
        """Spot !bookTicker and every vanilla options socket raise RetiredStreamError."""
        with self.assertRaisesRegex(RetiredStreamError, "@bookTicker"):
            paths.book_ticker()
        with self.assertRaisesRegex(RetiredStreamError, "vstream"):
            paths.options("btc-210430-34000-c@ticker")
