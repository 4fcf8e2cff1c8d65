"""Tests for binance_twisted.streams: builders, validation, parsing, retired catalogue."""

from __future__ import annotations

import pickle
from collections.abc import Callable

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted import streams
from binance_twisted.streams import (
    DEPTH_LEVELS,
    DEPTH_SPEEDS,
    KLINE_INTERVALS,
    KLINE_TIMEZONES,
    RETIRED_STREAMS,
    ROLLING_WINDOWS,
    STREAM_KINDS,
    RetiredStreamError,
    StreamSpec,
    agg_trade,
    all_mini_tickers,
    all_rolling_tickers,
    avg_price,
    block_trade,
    book_ticker,
    check_symbol,
    depth,
    kline,
    mini_ticker,
    normalize,
    parse,
    partial_depth,
    reference_price,
    retired_reason,
    rolling_ticker,
    ticker,
    trade,
    validate,
)

# The shape of an old Spot/margin listen key: 60 alphanumeric characters.
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a"

# Builders that take only a symbol, with the suffix they append and the kind parse reports.
SYMBOL_ONLY: list[tuple[Callable[[str], str], str, str]] = [
    (trade, "trade", "trade"),
    (agg_trade, "aggTrade", "aggTrade"),
    (ticker, "ticker", "ticker"),
    (mini_ticker, "miniTicker", "miniTicker"),
    (book_ticker, "bookTicker", "bookTicker"),
    (avg_price, "avgPrice", "avgPrice"),
    (reference_price, "referencePrice", "referencePrice"),
    (block_trade, "blockTrade", "blockTrade"),
]

# Every builder called with a bad symbol, so each one is shown to validate it.
SYMBOL_BUILDERS: list[Callable[[str], str]] = [b for b, _, _ in SYMBOL_ONLY] + [
    lambda s: kline(s, "1m"),
    lambda s: depth(s),
    lambda s: partial_depth(s, 5),
    lambda s: rolling_ticker(s, "1h"),
]

# One example per retired catalogue entry: name asked for, date, and replacement fragments.
RETIRED_EXAMPLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "!ticker@arr": (
        "!ticker@arr",
        "2026-03-26",
        ("<symbol>@ticker", "!miniTicker@arr", "!ticker_<1h|4h|1d>@arr"),
    ),
    "!bookTicker": ("!bookTicker", "2022-12-07", ("<symbol>@bookTicker",)),
    "<listenKey>": (
        LISTEN_KEY,
        "2026-02-20",
        ("userDataStream.subscribe.signature", "listenToken"),
    ),
    "<symbol>@kline": ("BNBBTC@kline", "2017", ("<symbol>@kline_<interval>",)),
    "<symbol>@depth1": ("bnbbtc@depth1", "2017", ("<symbol>@depth<5|10|20>", "@bookTicker")),
    "<symbol>@depth@0ms": ("bnbbtc@depth@0ms", "2017", ("<symbol>@depth@100ms",)),
}


def all_builder_calls() -> list[tuple[str, StreamSpec]]:
    """Every builder over every allowed parameter, with the spec parse should return."""
    sym = "bnbbtc"
    out: list[tuple[str, StreamSpec]] = []
    for builder, _, kind in SYMBOL_ONLY:
        out.append((builder(sym), StreamSpec(builder(sym), kind, sym)))
    for interval in KLINE_INTERVALS:
        for tz in (None, *KLINE_TIMEZONES):
            name = kline(sym, interval, tz)
            out.append((name, StreamSpec(name, "kline", sym, interval=interval, timezone=tz)))
    for speed in DEPTH_SPEEDS:
        name = depth(sym, speed)
        out.append((name, StreamSpec(name, "depth", sym, speed=speed)))
        for levels in DEPTH_LEVELS:
            name = partial_depth(sym, levels, speed)
            out.append((name, StreamSpec(name, "partialDepth", sym, levels=levels, speed=speed)))
    for window in ROLLING_WINDOWS:
        name = rolling_ticker(sym, window)
        out.append((name, StreamSpec(name, "rollingTicker", sym, window=window)))
        name = all_rolling_tickers(window)
        out.append((name, StreamSpec(name, "allRollingTickers", None, window=window)))
    out.append((all_mini_tickers(), StreamSpec("!miniTicker@arr", "allMiniTickers", None)))
    return out


class BuilderOutputTests(SynchronousTestCase):
    """Each builder returns Binance's exact stream name."""

    def test_symbol_only_builders(self) -> None:
        """Symbol-only builders append their case-sensitive suffix to the lowercase symbol."""
        self.assertEqual(
            [b("btcusdt") for b, _, _ in SYMBOL_ONLY],
            [
                "btcusdt@trade",
                "btcusdt@aggTrade",
                "btcusdt@ticker",
                "btcusdt@miniTicker",
                "btcusdt@bookTicker",
                "btcusdt@avgPrice",
                "btcusdt@referencePrice",
                "btcusdt@blockTrade",
            ],
        )

    def test_kline_default_interval(self) -> None:
        """kline defaults to the 1m interval and no timezone."""
        self.assertEqual(kline("btcusdt"), "btcusdt@kline_1m")

    def test_kline_every_interval(self) -> None:
        """kline puts each interval verbatim after 'kline_', keeping '1M' distinct from '1m'."""
        self.assertEqual(
            [kline("btcusdt", i) for i in KLINE_INTERVALS],
            [f"btcusdt@kline_{i}" for i in KLINE_INTERVALS],
        )
        self.assertEqual(kline("btcusdt", "1M"), "btcusdt@kline_1M")
        self.assertNotEqual(kline("btcusdt", "1M"), kline("btcusdt", "1m"))

    def test_kline_timezone(self) -> None:
        """A +08:00 timezone is appended as '@+08:00'; None appends nothing."""
        self.assertEqual(kline("btcusdt", "1m", "+08:00"), "btcusdt@kline_1m@+08:00")
        self.assertEqual(kline("btcusdt", "1d", timezone=None), "btcusdt@kline_1d")

    def test_depth_speeds(self) -> None:
        """Diff depth has no suffix at 1000 ms (the default) and '@100ms' at 100 ms."""
        self.assertEqual(depth("btcusdt"), "btcusdt@depth")
        self.assertEqual(depth("btcusdt", 1000), "btcusdt@depth")
        self.assertEqual(depth("btcusdt", 100), "btcusdt@depth@100ms")

    def test_partial_depth_levels_and_speeds(self) -> None:
        """Partial depth is '@depth<N>' for N in 5, 10, 20, with '@100ms' at 100 ms."""
        self.assertEqual(
            [partial_depth("btcusdt", n) for n in DEPTH_LEVELS],
            ["btcusdt@depth5", "btcusdt@depth10", "btcusdt@depth20"],
        )
        self.assertEqual(
            [partial_depth("btcusdt", n, 100) for n in DEPTH_LEVELS],
            ["btcusdt@depth5@100ms", "btcusdt@depth10@100ms", "btcusdt@depth20@100ms"],
        )

    def test_partial_depth_legacy_string_levels(self) -> None:
        """Levels given as python-binance's strings ('5', '10', '20') build the same names."""
        for n in DEPTH_LEVELS:
            self.assertEqual(partial_depth("btcusdt", str(n)), partial_depth("btcusdt", n))

    def test_rolling_tickers(self) -> None:
        """Rolling tickers are '@ticker_<w>' per symbol and '!ticker_<w>@arr' for all."""
        self.assertEqual(
            [rolling_ticker("btcusdt", w) for w in ROLLING_WINDOWS],
            ["btcusdt@ticker_1h", "btcusdt@ticker_4h", "btcusdt@ticker_1d"],
        )
        self.assertEqual(
            [all_rolling_tickers(w) for w in ROLLING_WINDOWS],
            ["!ticker_1h@arr", "!ticker_4h@arr", "!ticker_1d@arr"],
        )

    def test_all_mini_tickers(self) -> None:
        """The all-market mini ticker is '!miniTicker@arr'."""
        self.assertEqual(all_mini_tickers(), "!miniTicker@arr")

    def test_constants(self) -> None:
        """The published parameter sets match Binance's Spot catalogue."""
        self.assertEqual(
            KLINE_INTERVALS,
            (
                "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h",
                "6h", "8h", "12h", "1d", "3d", "1w", "1M",
            ),
        )  # fmt: skip
        self.assertEqual(KLINE_TIMEZONES, ("+08:00",))
        self.assertEqual(DEPTH_LEVELS, (5, 10, 20))
        self.assertEqual(DEPTH_SPEEDS, (1000, 100))
        self.assertEqual(ROLLING_WINDOWS, ("1h", "4h", "1d"))

    def test_all_exported(self) -> None:
        """__all__ lists every public name and each of them exists."""
        for name in streams.__all__:
            self.assertTrue(hasattr(streams, name), name)
        self.assertIn("RetiredStreamError", streams.__all__)
        self.assertIn("STREAM_KINDS", streams.__all__)
        self.assertEqual(len(set(streams.__all__)), len(streams.__all__))


class SymbolTests(SynchronousTestCase):
    """Symbols are checked and lowercased the same way everywhere."""

    def test_builders_lowercase(self) -> None:
        """Builders lowercase the symbol: trade('BNBBTC') == 'bnbbtc@trade'."""
        self.assertEqual(trade("BNBBTC"), "bnbbtc@trade")
        self.assertEqual(kline("BnbBtc", "1M"), "bnbbtc@kline_1M")
        self.assertEqual(partial_depth("ETHBTC", 20), "ethbtc@depth20")

    def test_check_symbol_returns_lowercase(self) -> None:
        """check_symbol returns the lowercased symbol."""
        self.assertEqual(check_symbol("BTCUSDT"), "btcusdt")

    def test_allowed_punctuation(self) -> None:
        """Digits, '-', '_' and '.' are allowed in symbols."""
        self.assertEqual(check_symbol("BTC-210430_1.5"), "btc-210430_1.5")

    def test_length_limit(self) -> None:
        """Symbols of 32 characters are accepted and of 33 rejected."""
        self.assertEqual(check_symbol("A" * 32), "a" * 32)
        self.assertRaises(ValueError, check_symbol, "A" * 33)

    def test_non_ascii_symbol(self) -> None:
        """Non-ASCII letter symbols are accepted and lowercased, in builders and validate."""
        self.assertEqual(check_symbol("币安人生USDT"), "币安人生usdt")
        self.assertEqual(trade("ÄÖÜUSDT"), "äöüusdt@trade")
        self.assertEqual(validate("币安人生USDT@bookTicker"), "币安人生usdt@bookTicker")
        self.assertEqual(parse("ΔΦUSDT@trade").symbol, "δφusdt")

    def test_letter_lowering_to_non_letter_rejected(self) -> None:
        """A letter whose lowercase is not a letter ('İ' -> 'i' + U+0307) is rejected."""
        self.assertRaises(ValueError, check_symbol, "İUSDT")
        self.assertRaises(ValueError, trade, "İUSDT")

    def test_bad_symbols_rejected(self) -> None:
        """Empty symbols and those with '@ / ! ? & # %', whitespace or non-digits symbols fail."""
        for bad in [
            "", "BTC/USDT", "btc@usdt", "!btc", "btc?", "a&b", "a#b", "a%b",
            "btc usdt", "btc\tusdt", " btc", "btc\n", "a+b", "a:b", "a²",
        ]:  # fmt: skip
            with self.assertRaises(ValueError, msg=repr(bad)) as cm:
                check_symbol(bad)
            self.assertIn(repr(bad), str(cm.exception))

    def test_symbol_error_message(self) -> None:
        """The symbol error names the argument, the allowed characters and the bad value."""
        with self.assertRaises(ValueError) as cm:
            check_symbol("BTC/USDT")
        self.assertEqual(
            str(cm.exception),
            "symbol must be 1-32 letters, digits, '-', '_' or '.', got 'BTC/USDT'",
        )

    def test_non_string_symbol(self) -> None:
        """A symbol that is not a str is a ValueError naming the argument."""
        with self.assertRaises(ValueError) as cm:
            check_symbol(None)  # type: ignore[arg-type]
        self.assertIn("symbol must be", str(cm.exception))

    def test_every_builder_checks_symbol(self) -> None:
        """Every symbol-taking builder rejects a malformed symbol before returning."""
        for builder in SYMBOL_BUILDERS:
            with self.assertRaises(ValueError) as cm:
                builder("BTC/USDT")
            self.assertIn("symbol must be", str(cm.exception))


class ArgumentValidationTests(SynchronousTestCase):
    """Builders reject bad parameters with a message naming the argument and allowed values."""

    def assertMessage(self, fn: Callable[[], object], expected: str) -> None:
        with self.assertRaises(ValueError) as cm:
            fn()
        self.assertEqual(str(cm.exception), expected)

    def test_interval(self) -> None:
        """A bad interval lists every allowed interval and the bad value."""
        self.assertMessage(
            lambda: kline("btcusdt", "2m"),
            "interval must be one of 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, "
            "1d, 3d, 1w, 1M, got '2m'",
        )

    def test_interval_case_sensitive(self) -> None:
        """'1H', '1D' and '1W' are not intervals even though '1M' is."""
        for bad in ["1H", "1D", "1W", "1S", " 1m", 1]:
            with self.assertRaises(ValueError, msg=repr(bad)) as cm:
                kline("btcusdt", bad)  # type: ignore[arg-type]
            self.assertIn("interval must be one of", str(cm.exception))

    def test_timezone(self) -> None:
        """A timezone other than +08:00 or None is rejected with the allowed values."""
        self.assertMessage(
            lambda: kline("btcusdt", "1m", "+09:00"),
            "timezone must be one of +08:00 or None, got '+09:00'",
        )
        for bad in ["+8:00", "08:00", "", "UTC+8"]:
            self.assertRaises(ValueError, kline, "btcusdt", "1m", bad)

    def test_levels(self) -> None:
        """Levels other than 5, 10, 20 are rejected with the allowed values."""
        self.assertMessage(
            lambda: partial_depth("btcusdt", 15), "levels must be one of 5, 10, 20, got 15"
        )

    def test_levels_wrong_types(self) -> None:
        """Bools, floats, None and non-canonical strings are not levels."""
        for bad in [True, False, 5.0, None, "05", " 5", "five", "1"]:
            with self.assertRaises(ValueError, msg=repr(bad)) as cm:
                partial_depth("btcusdt", bad)  # type: ignore[arg-type]
            self.assertIn("levels must be one of 5, 10, 20", str(cm.exception))

    def test_speed(self) -> None:
        """Speeds other than 1000 and 100 ms are rejected, for diff and partial depth."""
        expected = "speed must be one of 1000, 100 (milliseconds), got 250"
        self.assertMessage(lambda: depth("btcusdt", 250), expected)
        self.assertMessage(lambda: partial_depth("btcusdt", 5, 250), expected)

    def test_speed_wrong_types(self) -> None:
        """Bools, floats, strings and None are not speeds."""
        for bad in [True, 100.0, "100", "100ms", None, 0]:
            with self.assertRaises(ValueError, msg=repr(bad)) as cm:
                depth("btcusdt", bad)  # type: ignore[arg-type]
            self.assertIn("speed must be one of 1000, 100 (milliseconds)", str(cm.exception))

    def test_window(self) -> None:
        """A bad window lists 1h, 4h, 1d, for both rolling-ticker builders."""
        expected = "window must be one of 1h, 4h, 1d, got '7d'"
        self.assertMessage(lambda: rolling_ticker("btcusdt", "7d"), expected)
        self.assertMessage(lambda: all_rolling_tickers("7d"), expected)
        self.assertRaises(ValueError, rolling_ticker, "btcusdt", "1H")


class NormalizeTests(SynchronousTestCase):
    """normalize lowercases only the symbol part."""

    def test_strip_and_lowercase_symbol(self) -> None:
        """Surrounding whitespace goes and the symbol is lowercased."""
        self.assertEqual(normalize("  BTCUSDT@aggTrade\n"), "btcusdt@aggTrade")

    def test_rest_case_kept(self) -> None:
        """Text after the first '@' keeps its case ('1M', 'aggTrade', even bad 'AGGTRADE')."""
        self.assertEqual(normalize("BTCUSDT@kline_1M"), "btcusdt@kline_1M")
        self.assertEqual(normalize("BTCUSDT@AGGTRADE"), "btcusdt@AGGTRADE")

    def test_bang_names_untouched(self) -> None:
        """Names starting with '!' are only stripped."""
        self.assertEqual(normalize(" !miniTicker@arr "), "!miniTicker@arr")
        self.assertEqual(normalize("!MINITICKER@ARR"), "!MINITICKER@ARR")

    def test_non_string(self) -> None:
        """A name that is not a str is a TypeError."""
        self.assertRaises(TypeError, normalize, b"btcusdt@trade")
        self.assertRaises(TypeError, validate, None)


class ValidateTests(SynchronousTestCase):
    """validate accepts exactly the current Spot streams."""

    def test_normalizes(self) -> None:
        """validate returns the normalized name."""
        self.assertEqual(validate("BTCUSDT@aggTrade"), "btcusdt@aggTrade")
        self.assertEqual(validate(" !ticker_4h@arr "), "!ticker_4h@arr")

    def test_round_trip_every_builder(self) -> None:
        """validate(x) == x for every builder output over every allowed parameter."""
        calls = all_builder_calls()
        self.assertEqual(len(calls), 8 + 32 + 8 + 6 + 1)
        for name, _ in calls:
            self.assertEqual(validate(name), name)

    def assertInvalid(self, name: str, *fragments: str) -> str:
        with self.assertRaises(ValueError) as cm:
            validate(name)
        self.assertNotIsInstance(cm.exception, RetiredStreamError)
        message = str(cm.exception)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_message_names_stream(self) -> None:
        """The error message quotes the stream name it rejects."""
        self.assertInvalid("btcusdt@foo", "'btcusdt@foo'", "unknown stream type 'foo'")

    def test_unknown_suffix_lists_catalogue(self) -> None:
        """An unknown suffix lists the Spot streams that exist."""
        self.assertInvalid("btcusdt@foo", "@aggTrade", "@kline_<interval>", "!miniTicker@arr")

    def test_wrong_case_kind(self) -> None:
        """Stream types are case-sensitive; the message suggests the right spelling."""
        self.assertInvalid("btcusdt@aggtrade", "'@aggTrade'")
        self.assertInvalid("btcusdt@BOOKTICKER", "'@bookTicker'")
        self.assertInvalid("btcusdt@Trade", "'@trade'")

    def test_interval_case(self) -> None:
        """'kline_1M' (month) is valid while 'kline_1H' is rejected with the interval list."""
        self.assertEqual(validate("btcusdt@kline_1M"), "btcusdt@kline_1M")
        self.assertInvalid("btcusdt@kline_1H", "interval must be one of", "1M", "got '1H'")
        self.assertInvalid("btcusdt@kline_", "interval must be one of")

    def test_kline_timezone(self) -> None:
        """Only '@+08:00' may follow a kline interval."""
        self.assertInvalid("btcusdt@kline_1m@+09:00", "timezone must be one of +08:00")
        self.assertInvalid("btcusdt@kline_1m@", "timezone must be one of +08:00")

    def test_empty(self) -> None:
        """Empty and whitespace-only names are rejected."""
        self.assertInvalid("", "empty")
        self.assertInvalid("   ", "empty")

    def test_slash_or_whitespace_inside(self) -> None:
        """Names containing '/' or inner whitespace are rejected (one name, not a path)."""
        self.assertInvalid("btcusdt@trade/ethbtc@trade", "'/'")
        self.assertInvalid("btc usdt@trade", "whitespace")
        self.assertInvalid("btcusdt@ trade", "whitespace")
        self.assertInvalid("btcusdt@trade\tx", "whitespace")

    def test_depth_speeds(self) -> None:
        """Only '@100ms' may follow depth; futures speeds and '@1000ms' are rejected."""
        self.assertInvalid("btcusdt@depth@250ms", "speed must be one of 1000, 100", "futures")
        self.assertInvalid("btcusdt@depth@500ms", "got 500")
        self.assertInvalid("btcusdt@depth5@250ms", "speed must be one of")
        self.assertInvalid("btcusdt@depth@1000ms", "default")
        self.assertInvalid("btcusdt@depth@fast", "'@100ms'")
        self.assertInvalid("btcusdt@depth@", "'@100ms'")

    def test_depth_levels(self) -> None:
        """Partial depth levels other than 5, 10, 20 are rejected with the allowed list."""
        self.assertInvalid("btcusdt@depth15", "levels must be one of 5, 10, 20", "'15'")
        self.assertInvalid("btcusdt@depth05", "levels must be one of")
        self.assertInvalid("btcusdt@depthX", "levels must be one of")

    def test_windows(self) -> None:
        """Rolling-ticker windows other than 1h, 4h, 1d are rejected in both forms."""
        self.assertInvalid("btcusdt@ticker_7d", "window must be one of 1h, 4h, 1d")
        self.assertInvalid("!ticker_7d@arr", "window must be one of 1h, 4h, 1d")
        self.assertInvalid("!ticker_@arr", "window must be one of")

    def test_bad_symbol_part(self) -> None:
        """A malformed or missing symbol part is rejected with the symbol rule."""
        self.assertInvalid("@trade", "symbol must be")
        self.assertInvalid("btc?usdt@trade", "symbol must be")
        self.assertInvalid("a" * 33 + "@trade", "symbol must be")

    def test_missing_parts(self) -> None:
        """A bare symbol or a trailing '@' is not a stream."""
        self.assertInvalid("btcusdt", "'<symbol>@<type>'")
        self.assertInvalid("btcusdt@", "missing stream type")

    def test_extra_suffix(self) -> None:
        """Suffixes Binance does not define after a valid stream are rejected."""
        self.assertInvalid("btcusdt@trade@100ms", "unknown stream type")
        self.assertInvalid("btcusdt@ticker@arr", "unknown stream type")

    def test_futures_streams(self) -> None:
        """Futures-only streams are rejected and called futures streams."""
        self.assertInvalid("btcusdt@markPrice", "futures")
        self.assertInvalid("btcusdt@markPrice@1s", "futures")

    def test_unknown_bang_streams(self) -> None:
        """Unknown or wrongly cased all-market streams are rejected."""
        self.assertInvalid("!MINITICKER@ARR", "unknown all-market stream")
        self.assertInvalid("!miniTicker", "unknown all-market stream")
        self.assertInvalid("!", "unknown all-market stream")

    def test_legacy_miniticker_speed(self) -> None:
        """python-binance's '!miniTicker@arr@1000ms' is rejected, pointing at '!miniTicker@arr'."""
        self.assertInvalid("!miniTicker@arr@1000ms", "'!miniTicker@arr'")

    def test_server_shutdown(self) -> None:
        """The '!serverShutdown' pseudo-stream cannot be subscribed to."""
        self.assertInvalid("!serverShutdown", "cannot be subscribed")

    def test_long_alphanumeric_redacted(self) -> None:
        """A long alphanumeric name (likely a credential) appears only as a short prefix."""
        key = "Ab3" * 21  # 63 characters: not a Spot listen key, but still secret-looking
        message = self.assertInvalid(key)
        self.assertNotIn(key.lower(), message)
        self.assertIn("ab3ab3…", message)


class ParseTests(SynchronousTestCase):
    """parse takes a valid name apart into a StreamSpec."""

    def test_round_trip_every_builder(self) -> None:
        """parse reproduces the arguments of every builder call over every parameter."""
        for name, expected in all_builder_calls():
            self.assertEqual(parse(name), expected)

    def test_every_kind_reachable(self) -> None:
        """Every kind in STREAM_KINDS comes out of parse for some builder output."""
        kinds = {parse(name).kind for name, _ in all_builder_calls()}
        self.assertEqual(kinds, set(STREAM_KINDS))
        self.assertEqual(len(STREAM_KINDS), len(set(STREAM_KINDS)))

    def test_parse_normalizes(self) -> None:
        """parse normalizes first: the spec carries the normalized name and symbol."""
        self.assertEqual(
            parse(" BTCUSDT@kline_1M@+08:00"),
            StreamSpec(
                "btcusdt@kline_1M@+08:00", "kline", "btcusdt", interval="1M", timezone="+08:00"
            ),
        )

    def test_depth_default_speed(self) -> None:
        """Depth names without a suffix parse to speed 1000."""
        self.assertEqual(parse("btcusdt@depth").speed, 1000)
        self.assertEqual(parse("btcusdt@depth10").speed, 1000)
        self.assertEqual(parse("btcusdt@depth10@100ms").speed, 100)

    def test_spec_is_frozen(self) -> None:
        """StreamSpec is immutable and hashable."""
        spec = parse("btcusdt@trade")
        self.assertRaises(AttributeError, setattr, spec, "symbol", "ethbtc")
        self.assertEqual({spec, parse("BTCUSDT@trade")}, {spec})

    def test_parse_rejects_like_validate(self) -> None:
        """parse raises the same errors as validate."""
        self.assertRaises(ValueError, parse, "btcusdt@foo")
        self.assertRaises(RetiredStreamError, parse, "!ticker@arr")


class RetiredTests(SynchronousTestCase):
    """Retired streams raise RetiredStreamError explaining what, when and the replacement."""

    def test_examples_cover_catalogue(self) -> None:
        """Every retired catalogue entry has an example in these tests."""
        self.assertEqual(set(RETIRED_EXAMPLES), set(RETIRED_STREAMS))

    def test_each_entry_raises(self) -> None:
        """Each retired entry raises a RetiredStreamError, a ValueError, with date and fix."""
        for key, (name, date, replacements) in RETIRED_EXAMPLES.items():
            with self.assertRaises(RetiredStreamError, msg=key) as cm:
                validate(name)
            exc = cm.exception
            self.assertIsInstance(exc, ValueError)
            message = str(exc)
            self.assertIn("retired", message)
            self.assertIn(date, message)
            self.assertEqual(exc.stream, name)
            for fragment in replacements:
                self.assertIn(fragment, message, key)
                self.assertIn(fragment, exc.replacement, key)
                self.assertIn(fragment, RETIRED_STREAMS[key], key)
            self.assertIn(date, RETIRED_STREAMS[key])

    def test_retired_reason(self) -> None:
        """retired_reason gives the catalogue text for retired names and None for live ones."""
        for key, (name, _, _) in RETIRED_EXAMPLES.items():
            self.assertEqual(retired_reason(name), RETIRED_STREAMS[key])
        for name, _ in all_builder_calls():
            self.assertIsNone(retired_reason(name))
        self.assertIsNone(retired_reason("btcusdt@foo"))

    def test_reason_iff_retired_error(self) -> None:
        """retired_reason is not None exactly when validate raises RetiredStreamError."""
        names = [n for n, _, _ in RETIRED_EXAMPLES.values()] + [
            "btcusdt@foo", "!ticker_1h@arr", "b?c@kline", "btcusdt@depthX@0ms",
            "a" * 59, "a" * 61, "btcusdt@depth5@0ms", "btcusdt@depth1@100ms",
        ]  # fmt: skip
        for name in names:
            try:
                validate(name)
            except RetiredStreamError:
                retired = True
            except ValueError:
                retired = False
            else:
                retired = False
            self.assertEqual(retired_reason(name) is not None, retired, name)

    def test_retired_variants(self) -> None:
        """Retired patterns match case-insensitive symbols and the depth1/0ms variants."""
        for name in [
            "BTCUSDT@kline", "btcusdt@depth1@100ms", "btcusdt@depth20@0ms", LISTEN_KEY.upper(),
        ]:  # fmt: skip
            self.assertRaises(RetiredStreamError, validate, name)

    def test_listen_key_length(self) -> None:
        """Only a 60-character alphanumeric name is taken for a listen key."""
        self.assertIsNotNone(retired_reason("a" * 60))
        self.assertIsNone(retired_reason("a" * 59))
        self.assertIsNone(retired_reason("a" * 61))
        self.assertIsNone(retired_reason("a" * 59 + "-"))

    def test_listen_key_not_in_message(self) -> None:
        """A listen key is shown only by a short prefix; the attribute keeps the full name."""
        with self.assertRaises(RetiredStreamError) as cm:
            validate(LISTEN_KEY)
        self.assertNotIn(LISTEN_KEY, str(cm.exception))
        self.assertNotIn(LISTEN_KEY, repr(cm.exception))
        self.assertIn(LISTEN_KEY[:6] + "…", str(cm.exception))
        self.assertEqual(cm.exception.stream, LISTEN_KEY)

    def test_catalogue_read_only(self) -> None:
        """RETIRED_STREAMS cannot be modified."""
        with self.assertRaises(TypeError):
            RETIRED_STREAMS["x"] = "y"  # type: ignore[index]

    def test_error_pickles(self) -> None:
        """RetiredStreamError survives pickling with its attributes and message."""
        with self.assertRaises(RetiredStreamError) as cm:
            validate("!bookTicker")
        copy = pickle.loads(pickle.dumps(cm.exception))
        self.assertEqual(
            (copy.stream, copy.replacement, str(copy)),
            (cm.exception.stream, cm.exception.replacement, str(cm.exception)),
        )


def _accepted(symbol: str) -> bool:
    try:
        check_symbol(symbol)
    except ValueError:
        return False
    return True


_letters = st.characters(categories=["L"])
_symbols = st.text(
    alphabet=st.one_of(_letters, st.sampled_from("0123456789-_.")), min_size=1, max_size=32
).filter(_accepted)


@st.composite
def _builder_calls(draw: st.DrawFn) -> tuple[str, StreamSpec]:
    """A random valid builder call and the spec its output must parse to."""
    sym = draw(_symbols)
    low = sym.lower()
    kind = draw(st.sampled_from(STREAM_KINDS))
    if kind == "kline":
        interval = draw(st.sampled_from(KLINE_INTERVALS))
        tz = draw(st.sampled_from((None, *KLINE_TIMEZONES)))
        name = kline(sym, interval, tz)
        return name, StreamSpec(name, kind, low, interval=interval, timezone=tz)
    if kind == "depth":
        speed = draw(st.sampled_from(DEPTH_SPEEDS))
        name = depth(sym, speed)
        return name, StreamSpec(name, kind, low, speed=speed)
    if kind == "partialDepth":
        levels = draw(st.sampled_from(DEPTH_LEVELS))
        speed = draw(st.sampled_from(DEPTH_SPEEDS))
        as_text = draw(st.booleans())
        name = partial_depth(sym, str(levels) if as_text else levels, speed)
        return name, StreamSpec(name, kind, low, levels=levels, speed=speed)
    if kind == "rollingTicker":
        window = draw(st.sampled_from(ROLLING_WINDOWS))
        name = rolling_ticker(sym, window)
        return name, StreamSpec(name, kind, low, window=window)
    if kind == "allRollingTickers":
        window = draw(st.sampled_from(ROLLING_WINDOWS))
        name = all_rolling_tickers(window)
        return name, StreamSpec(name, kind, None, window=window)
    if kind == "allMiniTickers":
        return all_mini_tickers(), StreamSpec("!miniTicker@arr", kind, None)
    builder = {k: b for b, _, k in SYMBOL_ONLY}[kind]
    name = builder(sym)
    return name, StreamSpec(name, kind, low)


class PropertyTests(SynchronousTestCase):
    """Property-based checks over random symbols and parameters."""

    @settings(max_examples=300, deadline=None)
    @given(_builder_calls())
    def test_builder_round_trip(self, call: tuple[str, StreamSpec]) -> None:
        """Any valid builder call round-trips: validate(x) == x and parse(x) gives its args."""
        name, expected = call
        self.assertEqual(validate(name), name)
        self.assertEqual(parse(name), expected)
        self.assertEqual(normalize(name), name)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=40))
    def test_validate_total(self, name: str) -> None:
        """validate either returns an idempotent normalized name or raises ValueError."""
        try:
            result = validate(name)
        except ValueError:
            return
        self.assertEqual(result, normalize(name))
        self.assertEqual(validate(result), result)
