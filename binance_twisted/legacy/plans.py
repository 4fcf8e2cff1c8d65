"""What each legacy ``start_*_socket`` subscribes to today, and the key it returns (pure).

python-binance 0.7.11 returned the stream path as the connection key and built it without
validation. Here every plan keeps that exact key while the names actually sent are checked
by :mod:`binance_twisted.streams` (so a bad interval fails at the call, not as a silent
socket) and, where Binance retired a stream, replaced by its closest live equivalent with
a note for the log, or refused with the replacement named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from binance_twisted import streams

__all__ = [
    "SocketPlan",
    "aggtrade",
    "all_mark_price",
    "all_ticker_futures",
    "book_ticker",
    "depth",
    "futures_aggtrade",
    "futures_channel",
    "futures_depth",
    "futures_kline",
    "futures_market",
    "futures_multiplex",
    "futures_rpi_depth",
    "futures_ticker",
    "index_price",
    "individual_symbol_ticker_futures",
    "kline",
    "miniticker",
    "multiplex",
    "on_market",
    "options",
    "symbol_book_ticker",
    "symbol_mark_price",
    "symbol_miniticker",
    "symbol_ticker",
    "symbol_ticker_futures",
    "ticker",
    "trade",
]

_INTERVAL_ERROR = "Websocket interval value not allowed. Allowed values are [0, 100]"


@attrs.frozen
class SocketPlan:
    """One legacy socket: its key, where it goes, what it carries, and how callbacks see it.

    ``market`` is ``"spot"`` or ``"futures"`` (USD-M, routed per stream by
    :func:`binance_twisted.venues.futures_route`). With ``envelope`` the callback receives
    Binance's combined ``{"stream", "data"}`` dict (legacy multiplex and futures sockets);
    otherwise the payload.
    """

    key: str
    market: str
    streams: tuple[str, ...]
    envelope: bool = False
    note: str | None = None


def _spot(stream: str, key: str | None = None, note: str | None = None) -> SocketPlan:
    return SocketPlan(key or stream, "spot", (stream,), note=note)


def depth(symbol: str, depth: int | str | None = None, interval: int | None = None) -> SocketPlan:
    """``<sym>@depth[<n>][@100ms]``; depth ``None`` or ``'1'`` means the diff stream."""
    if interval and interval != 100:
        raise ValueError(_INTERVAL_ERROR)
    speed = 100 if interval else 1000
    if depth is None or str(depth) == "1":
        return _spot(streams.depth(symbol, speed=speed))
    return _spot(streams.partial_depth(symbol, depth, speed=speed))


def kline(symbol: str, interval: str) -> SocketPlan:
    """``<sym>@kline_<interval>``, the interval now checked against Binance's list."""
    return _spot(streams.kline(symbol, interval))


def miniticker(update_time: int = 1000) -> SocketPlan:
    """Key ``!miniTicker@arr@<n>ms`` as before; Binance serves ``!miniTicker@arr`` at 1 s only."""
    key = f"!miniTicker@arr@{update_time}ms"
    note = None
    if str(update_time) != "1000":
        note = f"{key}: Binance sends !miniTicker@arr once per second; update_time is ignored"
    return _spot(streams.all_mini_tickers(), key=key, note=note)


def trade(symbol: str) -> SocketPlan:
    return _spot(streams.trade(symbol))


def aggtrade(symbol: str) -> SocketPlan:
    return _spot(streams.agg_trade(symbol))


def symbol_ticker(symbol: str) -> SocketPlan:
    return _spot(streams.ticker(symbol))


def symbol_miniticker(symbol: str) -> SocketPlan:
    """python-binance 1.x ``start_symbol_miniticker_socket``."""
    return _spot(streams.mini_ticker(symbol))


def symbol_book_ticker(symbol: str) -> SocketPlan:
    return _spot(streams.book_ticker(symbol))


def ticker() -> SocketPlan:
    """``!ticker@arr`` was retired 2026-03-26: served by ``!ticker_1d@arr``, said once."""
    note = (
        "!ticker@arr was retired by Binance on 2026-03-26; serving !ticker_1d@arr instead "
        "(same list of per-symbol tickers over a rolling 1-day window: 'e' is '1dTicker' "
        "and the best bid/ask fields b, B, a, A and x, Q are absent)"
    )
    return _spot(streams.all_rolling_tickers("1d"), key="!ticker@arr", note=note)


def book_ticker() -> SocketPlan:
    """Spot ``!bookTicker`` is gone since 2022 with no all-market equivalent: refused."""
    return _spot(streams.validate("!bookTicker"))  # always raises RetiredStreamError


def multiplex(names: Iterable[str]) -> SocketPlan:
    """``streams=a/b`` as passed; names are validated (and their symbols lowercased)."""
    given = list(names)
    checked = tuple(streams.validate(name) for name in given)
    if not checked:
        raise ValueError("streams must name at least one stream")
    return SocketPlan(f"streams={'/'.join(given)}", "spot", checked, envelope=True)


def _futures(stream: str) -> SocketPlan:
    return SocketPlan(stream, "futures", (stream,), envelope=True)


def futures_aggtrade(symbol: str) -> SocketPlan:
    return _futures(f"{streams.check_symbol(symbol)}@aggTrade")


def symbol_mark_price(symbol: str, fast: bool = True) -> SocketPlan:
    return _futures(f"{streams.check_symbol(symbol)}@markPrice{'@1s' if fast else ''}")


def all_mark_price(fast: bool = True) -> SocketPlan:
    return _futures(f"!markPrice@arr{'@1s' if fast else ''}")


def symbol_ticker_futures(symbol: str) -> SocketPlan:
    """Named "ticker" in 0.7.x, but it always subscribed to the futures bookTicker."""
    return _futures(f"{streams.check_symbol(symbol)}@bookTicker")


def individual_symbol_ticker_futures(symbol: str) -> SocketPlan:
    return _futures(f"{streams.check_symbol(symbol)}@ticker")


def all_ticker_futures() -> SocketPlan:
    """Futures ``!bookTicker`` (all symbols) still exists on the ``/public`` route."""
    return _futures("!bookTicker")


def futures_multiplex(names: Iterable[str]) -> SocketPlan:
    """python-binance 1.x ``start_futures_multiplex_socket``: names sent as given."""
    given = tuple(streams.normalize(name) for name in names)
    if not given:
        raise ValueError("streams must name at least one stream")
    return SocketPlan(f"streams={'/'.join(given)}", "futures", given, envelope=True)


# -- python-binance 1.x only ------------------------------------------------------------------

_CONTRACTS = ("perpetual", "current_quarter", "next_quarter")
_FUTURES_DEPTHS = ("5", "10", "20")


def futures_market(futures_type: Any = None) -> str:
    """python-binance 1.x's ``FuturesType`` (its enum, name or value; ``None``: USD-M) as a
    legacy market: ``"futures"`` (USD-M) or ``"coin_futures"`` (COIN-M)."""
    if futures_type is None:
        return "futures"
    key = getattr(futures_type, "name", futures_type)
    if key in ("USD_M", 1):
        return "futures"
    if key in ("COIN_M", 2):
        return "coin_futures"
    raise ValueError(
        f"futures_type must be FuturesType.USD_M or FuturesType.COIN_M, got {futures_type!r}"
    )


def on_market(plan: SocketPlan, market: str) -> SocketPlan:
    """``plan`` carried by another futures market (COIN-M instead of USD-M)."""
    return attrs.evolve(plan, market=market)


def futures_kline(symbol: str, interval: str, contract_type: Any = "perpetual") -> SocketPlan:
    """``<pair>_<contract>@continuousKline_<interval>``, unwrapped (1.x used ``ws/``)."""
    contract = str(getattr(contract_type, "value", contract_type)).lower()
    if contract not in _CONTRACTS:
        raise ValueError(
            f"contract_type must be one of {', '.join(_CONTRACTS)}, got {contract_type!r}"
        )
    streams.kline(symbol, interval)  # the symbol and interval checks
    stream = f"{streams.check_symbol(symbol)}_{contract}@continuousKline_{interval}"
    return SocketPlan(stream, "futures", (stream,))


def futures_ticker() -> SocketPlan:
    """Futures ``!ticker@arr`` (retired on Spot only)."""
    return _futures("!ticker@arr")


def index_price(symbol: str, fast: bool = True) -> SocketPlan:
    """COIN-M ``<pair>@indexPrice[@1s]``."""
    stream = f"{streams.check_symbol(symbol)}@indexPrice{'@1s' if fast else ''}"
    return SocketPlan(stream, "coin_futures", (stream,), envelope=True)


def futures_depth(symbol: str, depth: int | str = "10") -> SocketPlan:
    """Futures partial book ``<sym>@depth<5|10|20>``."""
    if str(depth) not in _FUTURES_DEPTHS:
        raise ValueError(f"depth must be one of {', '.join(_FUTURES_DEPTHS)}, got {depth!r}")
    return _futures(f"{streams.check_symbol(symbol)}@depth{depth}")


def futures_rpi_depth(symbol: str) -> SocketPlan:
    """USD-M ``<sym>@rpiDepth@500ms`` (the book with retail price improvement orders)."""
    return _futures(f"{streams.check_symbol(symbol)}@rpiDepth@500ms")


def futures_channel(channel: str) -> SocketPlan:
    """A futures all-market channel by name (1.x ``all_ticker_futures_socket(channel)``)."""
    return _futures(streams.normalize(channel))


def options(path: str) -> SocketPlan:
    """The vanilla options host (vstream) is gone: every options socket is refused."""
    raise streams.RetiredStreamError(
        path,
        "Binance shut down the vanilla options WebSocket host (vstream.binance.com) "
        "that python-binance 0.7.11's options sockets used",
        "Binance's European options streams (not offered by binance-twisted yet)",
    )
