"""The fake's WebSocket API market-data methods: exchangeInfo, depth, trades, klines, tickers."""

from __future__ import annotations

from typing import Any

from binance_twisted.testing import _marketdata as md
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._names import KLINE_INTERVALS
from binance_twisted.testing._params import Reader
from binance_twisted.testing._wsapi_call import (
    DAY_MS,
    MINUTE_MS,
    Call,
    count_of,
    one_or_many,
    read_limit,
    symbol_info,
)

__all__ = [
    "avg_price",
    "depth",
    "depth_weight",
    "exchange_info",
    "klines",
    "per_symbol_weight",
    "ticker_24hr",
    "ticker_24hr_weight",
    "ticker_book",
    "ticker_price",
    "ticker_rolling",
    "ticker_trading_day",
    "trades_aggregate",
    "trades_historical",
    "trades_recent",
    "two_or_four",
]


def exchange_info(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol(required=False)
    symbols = r.symbols()
    permissions = r.raw("permissions")
    show = r.boolean("showPermissionSets", True)
    status = r.choice(
        "symbolStatus", ("TRADING", "HALT", "BREAK"), ApiError(400, -1122, "Invalid symbolStatus.")
    )
    given = [x for x in (symbol, symbols, permissions) if x is not None]
    if len(given) > 1 or (status is not None and (symbol or symbols)):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    r.finish()
    hub = call.hub
    if symbol is not None or symbols is not None:
        names = [symbol] if symbol is not None else list(symbols or [])
        for name in names:
            if not hub.knows(name.lower()):
                raise ApiError(400, -1121, "Invalid symbol.")
    else:
        names = hub.known_symbols()
        wanted = {permissions} if isinstance(permissions, str) else set(permissions or [])
        if status in ("HALT", "BREAK") or (wanted and not wanted & {"SPOT", "MARGIN"}):
            names = []
    infos = [symbol_info(hub.exchange.symbol_market(n)) for n in names]
    return md.exchange_info(infos, call.now, show)


def depth_weight(params: dict[str, Any]) -> int:
    limit = int(params.get("limit") or 100)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def depth(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = read_limit(r, 100, 5000)
    r.finish()
    assert symbol is not None
    return md.depth(call.market(symbol), limit)


def trades_recent(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = read_limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.trades(call.market(symbol), limit)


def trades_historical(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    from_id = r.integer("fromId")
    limit = read_limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.trades(call.market(symbol), limit, from_id)


def trades_aggregate(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    from_id = r.integer("fromId")
    start, end = r.integer("startTime"), r.integer("endTime")
    limit = read_limit(r, 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    r.finish()
    assert symbol is not None
    return md.agg_trades(call.market(symbol), limit, from_id, start, end)


def klines(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    interval = r.choice(
        "interval", KLINE_INTERVALS, ApiError(400, -1120, "Invalid interval."), required=True
    )
    start, end = r.integer("startTime"), r.integer("endTime")
    offset = md.parse_time_zone(r.string("timeZone"))
    limit = read_limit(r, 500, 1000)
    r.finish()
    assert symbol is not None and interval is not None
    return md.klines(
        call.market(symbol), interval, call.now, limit=limit, start=start, end=end, offset=offset
    )


def avg_price(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    r.finish()
    assert symbol is not None
    return md.avg_price(call.market(symbol))


def _ticker_type(r: Reader) -> bool:
    kind = r.choice(
        "type", ("FULL", "MINI"), ApiError(400, -1139, "Invalid ticker type."), default="FULL"
    )
    return kind == "MINI"


def ticker_24hr_weight(params: dict[str, Any]) -> int:
    count = count_of(params)
    return 80 if count is None or count > 100 else 40 if count > 20 else 2


def ticker_24hr(call: Call) -> Any:
    mini = _ticker_type(call.reader)
    now = call.now
    return one_or_many(call, lambda m: md.ticker(m, now - DAY_MS, now, mini=mini, book=not mini))


def per_symbol_weight(params: dict[str, Any]) -> int:
    count = count_of(params) or 1
    return min(4 * count, 200)


def ticker_trading_day(call: Call) -> Any:
    r = call.reader
    mini = _ticker_type(r)
    offset = md.parse_time_zone(r.string("timeZone"))
    local = call.now + offset
    opened = local // DAY_MS * DAY_MS - offset
    return one_or_many(
        call, lambda m: md.ticker(m, opened, opened + DAY_MS - 1, mini=mini), required=True
    )


def ticker_rolling(call: Call) -> Any:
    r = call.reader
    mini = _ticker_type(r)
    window = md.parse_window(r.string("windowSize"))
    now = call.now
    opened = (now - window) // MINUTE_MS * MINUTE_MS
    return one_or_many(call, lambda m: md.ticker(m, opened, now, mini=mini), required=True)


def two_or_four(params: dict[str, Any]) -> int:
    return 2 if params.get("symbol") not in (None, "") else 4


def ticker_price(call: Call) -> Any:
    return one_or_many(call, md.price_ticker)


def ticker_book(call: Call) -> Any:
    return one_or_many(call, md.book_ticker)
