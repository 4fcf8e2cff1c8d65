"""The WebSocket API's market-data answers, taken from the simulated market (pure).

Everything is read from :class:`~binance_twisted.testing._market.SymbolMarket`: the true book
(``depth`` and the book tickers agree with the diff streams' ``lastUpdateId``), the last
:data:`~binance_twisted.testing._market.HISTORY` trades (``trades.*``, klines), and the
running totals the ticker streams use. Field names and order follow Binance's
``web-socket-api.md`` (Spot) and the USD-M futures WebSocket API.

Simplifications: tickers report totals since the symbol's market was created whatever the
window (``openTime``/``closeTime`` are the window's); klines are rebuilt from the trade
history, a window without trades repeating the previous close with zero volume.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

import attrs

from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._market import E8, SymbolMarket, Trade, decimal, kline_window

__all__ = [
    "SymbolInfo",
    "agg_trades",
    "avg_price",
    "book_ticker",
    "depth",
    "exchange_info",
    "futures_book_ticker",
    "futures_depth",
    "futures_price",
    "klines",
    "parse_time_zone",
    "parse_window",
    "price_ticker",
    "split_symbol",
    "ticker",
    "trades",
]

_QUOTES = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "USDP",
    "DAI",
    "BTC",
    "ETH",
    "BNB",
    "EUR",
    "TRY",
    "BRL",
    "JPY",
    "GBP",
    "AUD",
    "TRX",
    "XRP",
    "DOGE",
)
#: Spot order types every fake symbol allows.
ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT")
#: Spot LOT_SIZE: 0.00001 steps from 0.00001 to 9000.
SPOT_STEP = 1_000
SPOT_MIN_QTY = 1_000
SPOT_MAX_QTY = 9000 * E8
#: NOTIONAL: at least 5 units of the quote asset.
MIN_NOTIONAL = 5 * E8
MAX_NOTIONAL = 9_000_000 * E8
MAX_PRICE = 1_000_000 * E8
#: Futures LOT_SIZE: 0.001 steps.
FUTURES_STEP = 100_000
SPOT_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
]
_DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_WINDOW = re.compile(r"([1-9][0-9]?)([mhd])")
_TIME_ZONE = re.compile(r"([+-]?)([0-9]{1,2})(?::([0-9]{2}))?")


@attrs.frozen
class SymbolInfo:
    """A symbol's name, assets and filters, derived from its simulated market."""

    name: str
    base: str
    quote: str
    tick: int

    @property
    def price_precision(self) -> int:
        """Decimals of the tick size (``0.01`` is 2)."""
        return _decimals(self.tick)


def _decimals(units: int) -> int:
    digits = 8
    while digits > 0 and units % 10 == 0:
        units //= 10
        digits -= 1
    return digits


def split_symbol(name: str) -> tuple[str, str]:
    """``(base, quote)`` of an upper-case symbol: the longest known quote suffix wins."""
    for quote in sorted(_QUOTES, key=len, reverse=True):
        if name.endswith(quote) and len(name) > len(quote):
            return name[: -len(quote)], quote
    return (name[:-3], name[-3:]) if len(name) > 3 else (name, "USDT")


def info(market: SymbolMarket) -> SymbolInfo:
    base, quote = split_symbol(market.name)
    return SymbolInfo(market.name, base, quote, market.tick_size)


def _filters(symbol: SymbolInfo) -> list[dict[str, Any]]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": decimal(symbol.tick),
            "maxPrice": decimal(MAX_PRICE),
            "tickSize": decimal(symbol.tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": decimal(SPOT_MIN_QTY),
            "maxQty": decimal(SPOT_MAX_QTY),
            "stepSize": decimal(SPOT_STEP),
        },
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": decimal(0),
            "maxQty": decimal(SPOT_MAX_QTY),
            "stepSize": decimal(0),
        },
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": decimal(MIN_NOTIONAL),
            "applyMinToMarket": True,
            "maxNotional": decimal(MAX_NOTIONAL),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ]


def symbol_entry(symbol: SymbolInfo, show_permission_sets: bool = True) -> dict[str, Any]:
    """One ``symbols`` entry of ``exchangeInfo``."""
    return {
        "symbol": symbol.name,
        "status": "TRADING",
        "baseAsset": symbol.base,
        "baseAssetPrecision": 8,
        "quoteAsset": symbol.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "allowAmend": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": _filters(symbol),
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]] if show_permission_sets else [],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": list(STP_MODES[1:]),
    }


def exchange_info(
    symbols: Sequence[SymbolInfo], server_ms: int, show_permission_sets: bool = True
) -> dict[str, Any]:
    """The ``exchangeInfo`` result for ``symbols``."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [dict(limit) for limit in SPOT_RATE_LIMITS],
        "exchangeFilters": [],
        "symbols": [symbol_entry(s, show_permission_sets) for s in symbols],
    }


# -- the book -------------------------------------------------------------------------------


def depth(market: SymbolMarket, limit: int) -> dict[str, Any]:
    last_update_id, bids, asks = market.depth(limit)
    return {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}


def futures_depth(market: SymbolMarket, limit: int, now: int) -> dict[str, Any]:
    last_update_id, bids, asks = market.depth(limit)
    return {"lastUpdateId": last_update_id, "E": now, "T": now, "bids": bids, "asks": asks}


def book_ticker(market: SymbolMarket) -> dict[str, Any]:
    (bid, bid_qty), (ask, ask_qty) = market.best_bid, market.best_ask
    return {
        "symbol": market.name,
        "bidPrice": decimal(bid),
        "bidQty": decimal(bid_qty),
        "askPrice": decimal(ask),
        "askQty": decimal(ask_qty),
    }


def futures_book_ticker(market: SymbolMarket, now: int) -> dict[str, Any]:
    return {"lastUpdateId": market.update_id, **book_ticker(market), "time": now}


def price_ticker(market: SymbolMarket) -> dict[str, Any]:
    return {"symbol": market.name, "price": decimal(market.stats.last)}


def futures_price(market: SymbolMarket, now: int) -> dict[str, Any]:
    return {**price_ticker(market), "time": now}


def avg_price(market: SymbolMarket) -> dict[str, Any]:
    stats = market.stats
    return {"mins": 5, "price": decimal(stats.average), "closeTime": stats.last_time}


# -- trades ---------------------------------------------------------------------------------


def _trade(trade: Trade) -> dict[str, Any]:
    return {
        "id": trade.id,
        "price": decimal(trade.price),
        "qty": decimal(trade.qty),
        "quoteQty": decimal(trade.price * trade.qty // E8),
        "time": trade.time,
        "isBuyerMaker": trade.buyer_is_maker,
        "isBestMatch": True,
    }


def trades(market: SymbolMarket, limit: int, from_id: int | None = None) -> list[dict[str, Any]]:
    """The most recent ``limit`` trades, or ``limit`` trades from ``from_id`` on."""
    history = list(market.trades)
    if from_id is None:
        chosen = history[-limit:] if limit else []
    else:
        ids = [t.id for t in history]
        start = bisect.bisect_left(ids, from_id)
        chosen = history[start : start + limit]
    return [_trade(t) for t in chosen]


def agg_trades(
    market: SymbolMarket,
    limit: int,
    from_id: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[dict[str, Any]]:
    history = list(market.agg_trades)
    if from_id is not None:
        history = [a for a in history if a.id >= from_id][:limit]
    elif start is not None or end is not None:
        history = [
            a
            for a in history
            if (start is None or a.time >= start) and (end is None or a.time <= end)
        ][:limit]
    else:
        history = history[-limit:] if limit else []
    return [
        {
            "a": a.id,
            "p": decimal(a.price),
            "q": decimal(a.qty),
            "f": a.first_id,
            "l": a.last_id,
            "T": a.time,
            "m": a.buyer_is_maker,
            "M": True,
        }
        for a in history
    ]


# -- klines ---------------------------------------------------------------------------------


def parse_time_zone(text: str | None) -> int:
    """``timeZone`` (``"8"``, ``"-1:00"``, ``"05:45"``) in ms; -1130 outside [-12:00, +14:00]."""
    if text is None:
        return 0
    match = _TIME_ZONE.fullmatch(text.strip())
    if match is None:
        raise ApiError(400, -1130, "Data sent for parameter 'timeZone' is not valid.")
    sign = -1 if match[1] == "-" else 1
    minutes = int(match[2]) * 60 + int(match[3] or 0)
    if int(match[3] or 0) >= 60 or not -12 * 60 <= sign * minutes <= 14 * 60:
        raise ApiError(400, -1130, "Data sent for parameter 'timeZone' is not valid.")
    return sign * minutes * _MINUTE_MS


def _windows(
    interval: str, offset: int, now: int, start: int | None, end: int | None, limit: int
) -> list[tuple[int, int]]:
    last = now if end is None else min(end, now)
    windows: list[tuple[int, int]] = []
    if start is not None:
        moment = start
        while len(windows) < limit:
            opened, closes = kline_window(interval, offset, moment)
            if opened > last:
                break
            windows.append((opened, closes))
            moment = closes + 1
        return windows
    moment = last
    while len(windows) < limit:
        opened, closes = kline_window(interval, offset, moment)
        windows.append((opened, closes))
        moment = opened - 1
    windows.reverse()
    return windows


def klines(
    market: SymbolMarket,
    interval: str,
    now: int,
    *,
    limit: int,
    start: int | None = None,
    end: int | None = None,
    offset: int = 0,
) -> list[list[Any]]:
    """Klines of 12 fields, oldest first, rebuilt from the trade history."""
    windows = _windows(interval, offset, now, start, end, limit)
    history = list(market.trades)
    times = [t.time for t in history]
    close = market.stats.last
    if windows:
        before = bisect.bisect_left(times, windows[0][0])
        close = (
            history[before - 1].price
            if before
            else (history[0].price if history else market.stats.last)
        )
    rows: list[list[Any]] = []
    for opened, closes in windows:
        lo, hi = bisect.bisect_left(times, opened), bisect.bisect_right(times, closes)
        inside = history[lo:hi]
        if inside:
            prices = [t.price for t in inside]
            open_, high, low, close = prices[0], max(prices), min(prices), prices[-1]
        else:
            open_ = high = low = close
        taker_buys = [t for t in inside if not t.buyer_is_maker]
        rows.append(
            [
                opened,
                decimal(open_),
                decimal(high),
                decimal(low),
                decimal(close),
                decimal(sum(t.qty for t in inside)),
                closes,
                decimal(sum(t.price * t.qty // E8 for t in inside)),
                len(inside),
                decimal(sum(t.qty for t in taker_buys)),
                decimal(sum(t.price * t.qty // E8 for t in taker_buys)),
                "0",
            ]
        )
    return rows


# -- tickers --------------------------------------------------------------------------------


def parse_window(text: str | None) -> int:
    """``windowSize`` (``1m``…``59m``, ``1h``…``23h``, ``1d``…``7d``) in ms; else -1130."""
    if text is None:
        return _DAY_MS
    match = _WINDOW.fullmatch(text)
    limits = {"m": 59, "h": 23, "d": 7}
    if match is None or int(match[1]) > limits[match[2]]:
        raise ApiError(400, -1130, "Data sent for parameter 'windowSize' is not valid.")
    unit = {"m": _MINUTE_MS, "h": 60 * _MINUTE_MS, "d": _DAY_MS}[match[2]]
    return int(match[1]) * unit


def ticker(
    market: SymbolMarket,
    opened: int,
    closes: int,
    *,
    mini: bool = False,
    book: bool = False,
) -> dict[str, Any]:
    """A price-change ticker (``ticker.24hr`` with ``book=True``, ``ticker``, ``tradingDay``)."""
    s = market.stats
    totals = {
        "volume": decimal(s.volume),
        "quoteVolume": decimal(s.quote_volume),
        "openTime": opened,
        "closeTime": closes,
        "firstId": s.first_id,
        "lastId": s.last_id,
        "count": s.count,
    }
    prices = {
        "openPrice": decimal(s.open),
        "highPrice": decimal(s.high),
        "lowPrice": decimal(s.low),
        "lastPrice": decimal(s.last),
    }
    if mini:
        return {"symbol": market.name, **prices, **totals}
    change = s.last - s.open
    head = {
        "symbol": market.name,
        "priceChange": decimal(change),
        "priceChangePercent": f"{change * 100 / s.open:.3f}",
        "weightedAvgPrice": decimal(s.average),
    }
    if not book:
        return {**head, **prices, **totals}
    (bid, bid_qty), (ask, ask_qty) = market.best_bid, market.best_ask
    return {
        **head,
        "prevClosePrice": decimal(s.open),
        "lastPrice": decimal(s.last),
        "lastQty": decimal(s.last_qty),
        "bidPrice": decimal(bid),
        "bidQty": decimal(bid_qty),
        "askPrice": decimal(ask),
        "askQty": decimal(ask_qty),
        "openPrice": decimal(s.open),
        "highPrice": decimal(s.high),
        "lowPrice": decimal(s.low),
        **totals,
    }
