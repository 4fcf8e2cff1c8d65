"""Spot market stream names: builders, validation, parsing and the retired catalogue.

Binance answers a malformed name in ``SUBSCRIBE`` with "invalid stream" and may drop the
connection, and it answers a well-formed name it does not serve with silence. Both failures
are cheap to catch here, before any I/O, so every name the library sends goes through
:func:`validate`. Builders produce exactly the names :func:`validate` accepts, and
:func:`parse` turns a name back into its parts.

This module is pure: no I/O, no logging, and nothing of the package but its errors.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping

import attrs

from binance_twisted.errors import RetiredStreamError, redact

__all__ = [
    "DEPTH_LEVELS",
    "DEPTH_SPEEDS",
    "KLINE_INTERVALS",
    "KLINE_TIMEZONES",
    "RETIRED_STREAMS",
    "ROLLING_WINDOWS",
    "STREAM_KINDS",
    "RetiredStreamError",
    "StreamSpec",
    "agg_trade",
    "all_mini_tickers",
    "all_rolling_tickers",
    "avg_price",
    "block_trade",
    "book_ticker",
    "check_symbol",
    "depth",
    "kline",
    "mini_ticker",
    "normalize",
    "parse",
    "partial_depth",
    "reference_price",
    "retired_reason",
    "rolling_ticker",
    "ticker",
    "trade",
    "validate",
]

#: Kline intervals Spot serves, case-sensitive (``"1M"`` is one month, ``"1m"`` one minute).
_INTERVALS = "1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"
KLINE_INTERVALS: tuple[str, ...] = tuple(_INTERVALS.split())

#: Kline timezone suffixes; ``+08:00`` is the only one Binance documents.
KLINE_TIMEZONES: tuple[str, ...] = ("+08:00",)

#: Book levels of the partial depth streams (``@depth5``, ``@depth10``, ``@depth20``).
DEPTH_LEVELS: tuple[int, ...] = (5, 10, 20)

#: Depth update speeds in milliseconds. 1000 is the default and adds no suffix.
DEPTH_SPEEDS: tuple[int, ...] = (1000, 100)

#: Windows of the rolling-window ticker streams (``@ticker_1h`` and ``!ticker_1h@arr``).
ROLLING_WINDOWS: tuple[str, ...] = ("1h", "4h", "1d")

#: Every value :attr:`StreamSpec.kind` can take.
_KINDS = (
    "trade aggTrade kline depth partialDepth ticker rollingTicker allRollingTickers "
    "miniTicker allMiniTickers bookTicker avgPrice referencePrice blockTrade"
)
STREAM_KINDS: tuple[str, ...] = tuple(_KINDS.split())

_SYMBOL_MAX = 32
_ASCII_SYMBOL = re.compile(r"[A-Za-z0-9._-]{1,32}")
_SYMBOL_EXTRA = frozenset("0123456789-_.")
_LISTEN_KEY = re.compile(r"[A-Za-z0-9]{60}")
_RETIRED_DEPTH1 = re.compile(r"depth1(?:@[0-9]+ms)?")
_RETIRED_DEPTH0 = re.compile(r"depth(?:5|10|20)?@0ms")
_LEVEL_TEXT = frozenset(str(n) for n in DEPTH_LEVELS)

# Suffixes after "<symbol>@" that name a whole stream with no parameters.
_SIMPLE = "trade aggTrade ticker miniTicker bookTicker avgPrice referencePrice blockTrade"
_SIMPLE_KINDS: Mapping[str, str] = types.MappingProxyType({k: k for k in _SIMPLE.split()})
_SIMPLE_BY_LOWER = {suffix.lower(): suffix for suffix in _SIMPLE_KINDS}
_FUTURES_ONLY = frozenset(
    {"markPrice", "forceOrder", "indexPrice", "compositeIndex", "assetIndex", "contractInfo"}
)
_CATALOGUE = (
    "<symbol>@trade, @aggTrade, @kline_<interval>[@+08:00], @depth[@100ms], "
    "@depth<5|10|20>[@100ms], @ticker, @ticker_<1h|4h|1d>, @miniTicker, @bookTicker, "
    "@avgPrice, @referencePrice, @blockTrade, !miniTicker@arr, !ticker_<1h|4h|1d>@arr"
)


def _one_of(values: tuple[object, ...]) -> str:
    return ", ".join(str(v) for v in values)


_INTERVAL_ERROR = f"interval must be one of {_one_of(KLINE_INTERVALS)}, got {{!r}}"
_TIMEZONE_ERROR = f"timezone must be one of {_one_of(KLINE_TIMEZONES)} or None, got {{!r}}"
_LEVELS_ERROR = f"levels must be one of {_one_of(DEPTH_LEVELS)}, got {{!r}}"
_SPEED_ERROR = f"speed must be one of {_one_of(DEPTH_SPEEDS)} (milliseconds), got {{!r}}"
_WINDOW_ERROR = f"window must be one of {_one_of(ROLLING_WINDOWS)}, got {{!r}}"
_SYMBOL_ERROR = "symbol must be 1-32 letters, digits, '-', '_' or '.', got {!r}"


# --- retired catalogue -------------------------------------------------------------------


@attrs.frozen
class _Retired:
    """One retired entry: what it was and when it went, and what to use now."""

    what: str
    replacement: str

    @property
    def text(self) -> str:
        return f"{self.what}. Use {self.replacement} instead."


_RETIRED: Mapping[str, _Retired] = types.MappingProxyType(
    {
        "!ticker@arr": _Retired(
            "the all-market 24h ticker array was retired on 2026-03-26 "
            "(deprecated 2025-11-14, retired on the Spot testnet 2026-03-12)",
            "'<symbol>@ticker' per symbol, '!miniTicker@arr', or '!ticker_<1h|4h|1d>@arr'",
        ),
        "!bookTicker": _Retired(
            "the all-market book ticker was removed from Spot by 2022-12-07 "
            "(it still exists on USD-M futures)",
            "'<symbol>@bookTicker' for each symbol",
        ),
        "<listenKey>": _Retired(
            "Spot and margin listenKey user-data streams were removed on 2026-02-20 "
            "(Spot testnet 2026-02-04)",
            "the WebSocket API for user data ('userDataStream.subscribe.signature' for Spot; "
            "a listenToken with 'userDataStream.subscribe.listenToken' for margin)",
        ),
        "<symbol>@kline": _Retired(
            "a kline stream without an interval is not a Binance stream; only python-binance "
            "0.1.0 to 0.3.3 sent it (2017-08-16 to 2017-11-02)",
            f"'<symbol>@kline_<interval>' with an interval in {_one_of(KLINE_INTERVALS)}",
        ),
        "<symbol>@depth1": _Retired(
            "depth level 1 is not a Binance stream; only python-binance 0.3.4 to 0.5.13 "
            "sent it (2017-11-02 to 2018-01-02)",
            "partial depth '<symbol>@depth<5|10|20>', or '<symbol>@bookTicker' for the best "
            "bid and ask",
        ),
        "<symbol>@depth@0ms": _Retired(
            "the 0 ms depth speed is not a Binance speed; only python-binance 0.3.4 to 0.4.1 "
            "sent it (WEBSOCKET_UPDATE_0SECOND, dropped 2017-11-30)",
            "'<symbol>@depth@100ms' (or '<symbol>@depth' for 1000 ms)",
        ),
    }
)

#: Retired stream names and patterns mapped to why they are gone and what replaces them.
#: Read-only. ``<symbol>`` stands for any symbol, ``<listenKey>`` for a 60-character
#: alphanumeric name (the old Spot/margin user-data stream).
RETIRED_STREAMS: Mapping[str, str] = types.MappingProxyType(
    {key: entry.text for key, entry in _RETIRED.items()}
)


def _retired_key(normalized: str) -> str | None:
    """Catalogue key for a normalized name, or None when it is not retired."""
    if normalized in _RETIRED:
        return normalized
    if _LISTEN_KEY.fullmatch(normalized):
        return "<listenKey>"
    symbol, at, rest = normalized.partition("@")
    if not at or not _symbol_ok(symbol):
        return None
    if rest == "kline":
        return "<symbol>@kline"
    if _RETIRED_DEPTH1.fullmatch(rest):
        return "<symbol>@depth1"
    if _RETIRED_DEPTH0.fullmatch(rest):
        return "<symbol>@depth@0ms"
    return None


def retired_reason(name: str) -> str | None:
    """Why ``name`` is retired and what replaces it, or None if it is not retired.

    ``name`` is normalized first. Lets legacy entry points explain a dead stream without
    catching an exception.
    """
    key = _retired_key(normalize(name))
    return None if key is None else RETIRED_STREAMS[key]


# --- symbols and names --------------------------------------------------------------------


def _symbol_ok(symbol: str) -> bool:
    if symbol.isascii():
        return _ASCII_SYMBOL.fullmatch(symbol) is not None
    return 0 < len(symbol) <= _SYMBOL_MAX and all(c.isalpha() or c in _SYMBOL_EXTRA for c in symbol)


def check_symbol(symbol: str) -> str:
    """Return ``symbol`` lowercased, as stream names need it; ValueError if malformed.

    Unicode letters are allowed because Binance lists non-ASCII symbols (since 2025-12).
    Characters that would break a stream name or a URL (``@ / ! ? & # %``, whitespace) are
    not.
    """
    if not isinstance(symbol, str):
        raise ValueError(_SYMBOL_ERROR.format(symbol))
    lowered = symbol.lower()
    # Both forms are checked: a few letters lowercase to non-letters ('İ' -> 'i' + U+0307).
    if not (_symbol_ok(symbol) and _symbol_ok(lowered)):
        raise ValueError(_SYMBOL_ERROR.format(symbol))
    return lowered


def normalize(name: str) -> str:
    """Strip ``name`` and lowercase its symbol part (the text before the first ``@``).

    Names starting with ``!`` have no symbol and are left as they are. Everything after the
    symbol is case-sensitive on Binance (``aggTrade``, ``kline_1M``), so it is kept.
    """
    if not isinstance(name, str):
        raise TypeError(f"stream name must be a str, got {type(name).__name__}")
    name = name.strip()
    if name.startswith("!"):
        return name
    symbol, at, rest = name.partition("@")
    return symbol.lower() + at + rest


# --- builders ------------------------------------------------------------------------------


def _check_interval(interval: object) -> str:
    if not isinstance(interval, str) or interval not in KLINE_INTERVALS:
        raise ValueError(_INTERVAL_ERROR.format(interval))
    return interval


def _check_timezone(timezone: object) -> str | None:
    if timezone is not None and (not isinstance(timezone, str) or timezone not in KLINE_TIMEZONES):
        raise ValueError(_TIMEZONE_ERROR.format(timezone))
    return timezone


def _check_levels(levels: object) -> int:
    if isinstance(levels, str) and levels in _LEVEL_TEXT:
        return int(levels)
    if type(levels) is not int or levels not in DEPTH_LEVELS:
        raise ValueError(_LEVELS_ERROR.format(levels))
    return levels


def _check_speed(speed: object) -> int:
    if type(speed) is not int or speed not in DEPTH_SPEEDS:
        raise ValueError(_SPEED_ERROR.format(speed))
    return speed


def _check_window(window: object) -> str:
    if not isinstance(window, str) or window not in ROLLING_WINDOWS:
        raise ValueError(_WINDOW_ERROR.format(window))
    return window


def _speed_suffix(speed: int) -> str:
    return "" if speed == 1000 else f"@{speed}ms"


def trade(symbol: str) -> str:
    """Raw trades, real-time: ``btcusdt@trade``."""
    return f"{check_symbol(symbol)}@trade"


def agg_trade(symbol: str) -> str:
    """Aggregate trades, real-time: ``btcusdt@aggTrade``."""
    return f"{check_symbol(symbol)}@aggTrade"


def kline(symbol: str, interval: str = "1m", timezone: str | None = None) -> str:
    """Candles: ``btcusdt@kline_1m``, or ``btcusdt@kline_1m@+08:00`` on UTC+8 boundaries."""
    name = f"{check_symbol(symbol)}@kline_{_check_interval(interval)}"
    tz = _check_timezone(timezone)
    return name if tz is None else f"{name}@{tz}"


def depth(symbol: str, speed: int = 1000) -> str:
    """Diff depth for a local order book: ``btcusdt@depth`` or ``btcusdt@depth@100ms``."""
    return f"{check_symbol(symbol)}@depth{_speed_suffix(_check_speed(speed))}"


def partial_depth(symbol: str, levels: int | str, speed: int = 1000) -> str:
    """Top-of-book snapshots: ``btcusdt@depth5``, ``btcusdt@depth20@100ms``.

    ``levels`` also takes the legacy string form (``"5"``) that python-binance used.
    """
    sym = check_symbol(symbol)
    n = _check_levels(levels)
    return f"{sym}@depth{n}{_speed_suffix(_check_speed(speed))}"


def ticker(symbol: str) -> str:
    """24h rolling ticker, every 1000 ms: ``btcusdt@ticker``."""
    return f"{check_symbol(symbol)}@ticker"


def rolling_ticker(symbol: str, window: str) -> str:
    """Rolling-window ticker, every 1000 ms: ``btcusdt@ticker_1h``."""
    return f"{check_symbol(symbol)}@ticker_{_check_window(window)}"


def all_rolling_tickers(window: str) -> str:
    """Rolling-window tickers of every changed symbol: ``!ticker_1h@arr``.

    With ``!miniTicker@arr`` this is what replaces the retired ``!ticker@arr``.
    """
    return f"!ticker_{_check_window(window)}@arr"


def mini_ticker(symbol: str) -> str:
    """24h mini ticker, every 1000 ms: ``btcusdt@miniTicker``."""
    return f"{check_symbol(symbol)}@miniTicker"


def all_mini_tickers() -> str:
    """Mini tickers of every changed symbol, every 1000 ms: ``!miniTicker@arr``."""
    return "!miniTicker@arr"


def book_ticker(symbol: str) -> str:
    """Best bid and ask, real-time: ``btcusdt@bookTicker`` (Spot has no ``!bookTicker``)."""
    return f"{check_symbol(symbol)}@bookTicker"


def avg_price(symbol: str) -> str:
    """Current average price, every 1000 ms: ``btcusdt@avgPrice``."""
    return f"{check_symbol(symbol)}@avgPrice"


def reference_price(symbol: str) -> str:
    """Reference price, every 1000 ms (events carry no ``E``): ``btcusdt@referencePrice``."""
    return f"{check_symbol(symbol)}@referencePrice"


def block_trade(symbol: str) -> str:
    """Block trades, real-time: ``btcusdt@blockTrade``."""
    return f"{check_symbol(symbol)}@blockTrade"


# --- parsing -------------------------------------------------------------------------------


@attrs.frozen
class StreamSpec:
    """A validated stream name taken apart, as returned by :func:`parse`.

    Fields that do not apply to ``kind`` are None. ``symbol`` is lowercase, and None for the
    all-market ``!…@arr`` streams. ``speed`` is set (1000 or 100) for both depth kinds.
    """

    #: The normalized stream name.
    name: str
    #: One of :data:`STREAM_KINDS`.
    kind: str
    #: Lowercase symbol; None for ``!miniTicker@arr`` and ``!ticker_<w>@arr``.
    symbol: str | None
    #: Kline interval, one of :data:`KLINE_INTERVALS`.
    interval: str | None = None
    #: Kline timezone (``"+08:00"``), or None for UTC candles.
    timezone: str | None = None
    #: Partial depth levels, one of :data:`DEPTH_LEVELS`.
    levels: int | None = None
    #: Depth update speed in milliseconds, one of :data:`DEPTH_SPEEDS`.
    speed: int | None = None
    #: Rolling-ticker window, one of :data:`ROLLING_WINDOWS`.
    window: str | None = None


class _Invalid(Exception):
    """Internal: carries the detail of a ValueError to be prefixed with the stream name."""


def _parse_speed(speed_text: str, has_speed: bool) -> int:
    if not has_speed:
        return 1000
    if speed_text == "100ms":
        return 100
    if speed_text == "1000ms":
        raise _Invalid("1000 ms is the default speed and takes no suffix: drop '@1000ms'")
    if speed_text.endswith("ms") and speed_text[:-2].isdigit():
        hint = " (250 and 500 ms are futures speeds)" if speed_text in ("250ms", "500ms") else ""
        raise _Invalid(_SPEED_ERROR.format(int(speed_text[:-2])) + hint)
    raise _Invalid(f"speed suffix must be '@100ms' or absent (1000 ms), got '@{speed_text}'")


def _parse_symbol_stream(name: str, symbol: str, rest: str) -> StreamSpec:
    simple = _SIMPLE_KINDS.get(rest)
    if simple is not None:
        return StreamSpec(name, simple, symbol)
    if rest.startswith("kline_"):
        interval, at, tz = rest[6:].partition("@")
        if interval not in KLINE_INTERVALS:
            raise _Invalid(_INTERVAL_ERROR.format(interval))
        if at and tz not in KLINE_TIMEZONES:
            raise _Invalid(_TIMEZONE_ERROR.format(tz))
        return StreamSpec(name, "kline", symbol, interval=interval, timezone=tz or None)
    if rest.startswith("depth"):
        head, at, speed_text = rest[5:].partition("@")
        speed = _parse_speed(speed_text, bool(at))
        if not head:
            return StreamSpec(name, "depth", symbol, speed=speed)
        if head not in _LEVEL_TEXT:
            raise _Invalid(_LEVELS_ERROR.format(head))
        return StreamSpec(name, "partialDepth", symbol, levels=int(head), speed=speed)
    if rest.startswith("ticker_"):
        window = rest[7:]
        if window not in ROLLING_WINDOWS:
            raise _Invalid(_WINDOW_ERROR.format(window))
        return StreamSpec(name, "rollingTicker", symbol, window=window)
    if not rest:
        raise _Invalid(f"missing stream type after '@'; Spot streams are {_CATALOGUE}")
    base = rest.partition("@")[0]
    if base in _FUTURES_ONLY:
        raise _Invalid(f"'@{base}' is a futures stream, not Spot; Spot streams are {_CATALOGUE}")
    right_case = _SIMPLE_BY_LOWER.get(rest.lower())
    if right_case is not None:
        raise _Invalid(f"stream types are case-sensitive: use '@{right_case}', not '@{rest}'")
    raise _Invalid(f"unknown stream type '{rest}'; Spot streams are {_CATALOGUE}")


def _parse_market_stream(name: str) -> StreamSpec:
    if name == "!miniTicker@arr":
        return StreamSpec(name, "allMiniTickers", None)
    if name.startswith("!ticker_") and name.endswith("@arr"):
        window = name[8:-4]
        if window not in ROLLING_WINDOWS:
            raise _Invalid(_WINDOW_ERROR.format(window))
        return StreamSpec(name, "allRollingTickers", None, window=window)
    if name.startswith("!miniTicker@arr@"):
        raise _Invalid("the update-speed suffix is not part of the name: use '!miniTicker@arr'")
    if name == "!serverShutdown":
        raise _Invalid("'!serverShutdown' is sent by the server and cannot be subscribed to")
    raise _Invalid(f"unknown all-market stream; Spot streams are {_CATALOGUE}")


def _parse(name: str, given: str) -> StreamSpec:
    """Parse the normalized ``name``; raise RetiredStreamError (about ``given``) or _Invalid."""
    if not name:
        raise _Invalid("stream name must not be empty")
    if "/" in name or any(c.isspace() for c in name):
        raise _Invalid("a stream name must not contain '/' or whitespace; pass one name at a time")
    key = _retired_key(name)
    if key is not None:
        entry = _RETIRED[key]
        raise RetiredStreamError(given, entry.what, entry.replacement)
    if name.startswith("!"):
        return _parse_market_stream(name)
    symbol, at, rest = name.partition("@")
    if not at:
        raise _Invalid(f"a stream name is '<symbol>@<type>'; Spot streams are {_CATALOGUE}")
    if not _symbol_ok(symbol):
        raise _Invalid(_SYMBOL_ERROR.format(symbol))
    return _parse_symbol_stream(name, symbol, rest)


def parse(name: str) -> StreamSpec:
    """Validate ``name`` and return it taken apart as a :class:`StreamSpec`.

    Raises :class:`RetiredStreamError` for retired names and ``ValueError`` for anything
    else Spot does not serve, with a message naming the stream and what is allowed.
    """
    normalized = normalize(name)
    try:
        return _parse(normalized, name)
    except _Invalid as e:
        raise ValueError(f"invalid stream name {redact(normalized)!r}: {e}") from None


def validate(name: str) -> str:
    """Return the normalized ``name`` if it is a current Spot stream, else raise.

    Raises :class:`RetiredStreamError` for retired names and ``ValueError`` for anything
    else, so a bad name fails here rather than as a closed connection or a silent stream.
    """
    return parse(name).name
