"""binance_twisted.enums: python-binance 0.7.11's binance.enums, plus documented additions."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from binance_twisted import enums, streams

# The names 0.7.11's binance.enums did not have.
ADDITIONS = {"KLINE_INTERVAL_1SECOND"} | {name for name in enums.__all__ if name[:4] == "AGG_"}


class EnumsTests(SynchronousTestCase):
    def test_kline_intervals_are_the_ones_binance_accepts(self) -> None:
        """The KLINE_INTERVAL_* values are exactly the stream module's intervals, '1s' included."""
        values = [
            getattr(enums, name) for name in enums.__all__ if name.startswith("KLINE_INTERVAL_")
        ]
        self.assertEqual(len(values), len(set(values)))
        self.assertEqual(sorted(values), sorted(streams.KLINE_INTERVALS))
        self.assertEqual(len(values), 16)

    def test_legacy_kline_intervals(self) -> None:
        """0.7.11 had 15 intervals, minute to month; '1M' is the month, '1m' the minute."""
        legacy = [
            name
            for name in enums.__all__
            if name.startswith("KLINE_INTERVAL_") and name not in ADDITIONS
        ]
        self.assertEqual(len(legacy), 15)
        self.assertEqual(enums.KLINE_INTERVAL_1MINUTE, "1m")
        self.assertEqual(enums.KLINE_INTERVAL_1MONTH, "1M")
        self.assertEqual(enums.KLINE_INTERVAL_1SECOND, "1s")

    def test_depth_constants(self) -> None:
        """WEBSOCKET_DEPTH_* are '5', '10', '20': the partial depth levels; depth 1 is gone."""
        self.assertEqual(
            (enums.WEBSOCKET_DEPTH_5, enums.WEBSOCKET_DEPTH_10, enums.WEBSOCKET_DEPTH_20),
            ("5", "10", "20"),
        )
        levels = [
            getattr(enums, name) for name in enums.__all__ if name.startswith("WEBSOCKET_DEPTH_")
        ]
        self.assertEqual(sorted(levels, key=int), [str(level) for level in streams.DEPTH_LEVELS])
        for name in ["WEBSOCKET_DEPTH_1", "WEBSOCKET_UPDATE_0SECOND", "WEBSOCKET_UPDATE_1SECOND"]:
            self.assertFalse(hasattr(enums, name), name)

    def test_all_is_complete_and_upper_case(self) -> None:
        """__all__ names every public constant, each an upper-case name bound to a str."""
        public = {name for name in vars(enums) if not name.startswith("_")}
        self.assertEqual(set(enums.__all__), public)
        self.assertEqual(len(enums.__all__), len(public))
        for name in enums.__all__:
            self.assertTrue(name.isupper(), name)
            self.assertIsInstance(getattr(enums, name), str, name)

    def test_star_import_gives_exactly_all(self) -> None:
        """from binance_twisted.enums import * binds __all__ and nothing else."""
        namespace: dict[str, object] = {}
        exec("from binance_twisted.enums import *", namespace)
        namespace.pop("__builtins__")
        self.assertEqual(sorted(namespace), sorted(enums.__all__))

    def test_exact_values(self) -> None:
        """A handful of 0.7.11 values, character for character."""
        self.assertEqual(enums.SYMBOL_TYPE_SPOT, "SPOT")
        self.assertEqual(enums.ORDER_STATUS_PARTIALLY_FILLED, "PARTIALLY_FILLED")
        self.assertEqual(enums.ORDER_STATUS_CANCELED, "CANCELED")
        self.assertEqual((enums.SIDE_BUY, enums.SIDE_SELL), ("BUY", "SELL"))
        self.assertEqual(enums.ORDER_TYPE_STOP_LOSS_LIMIT, "STOP_LOSS_LIMIT")
        self.assertEqual(enums.ORDER_TYPE_LIMIT_MAKER, "LIMIT_MAKER")
        self.assertEqual(enums.FUTURE_ORDER_TYPE_TAKE_PROFIT_MARKET, "TAKE_PROFIT_MARKET")
        self.assertEqual(enums.TIME_IN_FORCE_GTX, "GTX")
        self.assertEqual(enums.ORDER_RESP_TYPE_FULL, "FULL")
        self.assertEqual(enums.KLINE_INTERVAL_12HOUR, "12h")
        self.assertEqual(enums.KLINE_INTERVAL_1WEEK, "1w")

    def test_aggregate_trade_keys(self) -> None:
        """AGG_* are the one-letter keys of an aggTrade payload (0.7.11's Client.AGG_*)."""
        self.assertEqual(
            [
                enums.AGG_ID,
                enums.AGG_PRICE,
                enums.AGG_QUANTITY,
                enums.AGG_FIRST_TRADE_ID,
                enums.AGG_LAST_TRADE_ID,
                enums.AGG_TIME,
                enums.AGG_BUYER_MAKES,
                enums.AGG_BEST_MATCH,
            ],
            ["a", "p", "q", "f", "l", "T", "m", "M"],
        )
