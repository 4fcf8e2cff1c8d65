"""Stream payloads, rendered from the simulated market after a step (pure).

Field names and order follow binance-platform.md §1.3. Two simplifications, both harmless to
a client: every recognised stream publishes once per tick whatever its documented speed
(``@100ms`` and ``@1000ms`` variants carry the same events), and the rolling-window tickers
report totals since the symbol's market was created, with ``O``/``C`` set to the window
ending now.

The USD-M futures-only streams (``markPriceUpdate`` and the futures ``!bookTicker``) are
rendered from the same simulated market: the mark price is the mid price, the index price the
volume-weighted average, the funding rate Binance's formula on their premium (interest
0.01 %, clamp ±0.05 %, capped at ±0.75 %), and funding falls every 8 h (00:00, 08:00, 16:00
UTC). ``!bookTicker`` sends one symbol per tick, going round the all-market symbols.
On a futures route the diff-depth streams carry the futures shape (:func:`depth_event`):
``T`` and ``pu``, with ``U`` past ``pu + 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from binance_twisted.testing._market import E8, Market, Stats, SymbolMarket, decimal
from binance_twisted.testing._names import StreamSpec

__all__ = ["depth_event", "render"]

Payload = Any
_WINDOW_MS = {"1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}
_FUNDING_MS = 8 * 3_600_000
_INTEREST = E8 // 10_000  # 0.01 % in units of 1e-8
_PREMIUM_CLAMP = 5 * E8 // 10_000  # 0.05 %
_FUNDING_CAP = 75 * E8 // 10_000  # 0.75 %


def render(
    spec: StreamSpec, market: Market, all_symbols: Sequence[str], now_ms: int, tick: int = 0
) -> list[Payload]:
    """The payloads one stream publishes for the step just taken (possibly none).

    Every symbol involved must have been stepped; ``all_symbols`` are the symbols of the
    all-market ``!…`` streams; ``tick`` counts the market steps from 0 (``!bookTicker``
    publishes ``all_symbols[tick % len(all_symbols)]``).
    """
    if spec.symbol is None:
        if spec.kind == "allBookTicker":
            if not all_symbols:
                return []
            turn = market.get(all_symbols[tick % len(all_symbols)])
            return [_futures_book_ticker(turn, now_ms)]
        markets = [market.get(symbol) for symbol in all_symbols]
        if spec.kind == "allMiniTicker":
            return [[_mini_ticker(m, now_ms) for m in markets]]
        if spec.kind == "allMarkPrice":
            return [[_mark_price(m, now_ms) for m in markets]]
        return [[_window_ticker(m, str(spec.interval), now_ms) for m in markets]]
    return _BY_KIND[spec.kind](market.get(spec.symbol), spec, now_ms)


def _trades(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    assert m.last_step is not None
    return [
        {
            "e": "trade",
            "E": now,
            "s": m.name,
            "t": t.id,
            "p": decimal(t.price),
            "q": decimal(t.qty),
            "T": t.time,
            "m": t.buyer_is_maker,
            "M": True,
        }
        for t in m.last_step.trades
    ]


def _agg_trades(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    assert m.last_step is not None
    return [
        {
            "e": "aggTrade",
            "E": now,
            "s": m.name,
            "a": a.id,
            "p": decimal(a.price),
            "q": decimal(a.qty),
            "f": a.first_id,
            "l": a.last_id,
            "T": a.time,
            "m": a.buyer_is_maker,
            "M": True,
        }
        for a in m.last_step.agg_trades
    ]


def _block_trade(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    assert m.last_step is not None
    block = m.last_step.block_trade
    if block is None:
        return []
    return [
        {
            "e": "blockTrade",
            "E": now,
            "s": m.name,
            "t": block.id,
            "p": decimal(block.price),
            "q": decimal(block.qty),
            "T": block.time,
            "m": block.buyer_is_maker,
        }
    ]


def depth_event(m: SymbolMarket, now: int, futures: bool = False) -> Payload:
    """The last step's diff-depth event: Spot ``{e, E, s, U, u, b, a}``, or USD-M futures
    ``{e, E, T, s, U, u, pu, b, a}`` (``pu`` the id the diff continues from, ``U`` after it
    with a jump)."""
    assert m.last_step is not None
    diff = m.last_step.diff
    if futures:
        return {
            "e": "depthUpdate",
            "E": now,
            "T": m.last_step.time,
            "s": m.name,
            "U": diff.futures_first_update_id,
            "u": diff.final_update_id,
            "pu": diff.previous_update_id,
            "b": diff.bids,
            "a": diff.asks,
        }
    return {
        "e": "depthUpdate",
        "E": now,
        "s": m.name,
        "U": diff.first_update_id,
        "u": diff.final_update_id,
        "b": diff.bids,
        "a": diff.asks,
    }


def _depth(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    return [depth_event(m, now)]


def _partial_depth(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    last_update_id, bids, asks = m.depth(spec.levels)
    return [{"lastUpdateId": last_update_id, "bids": bids, "asks": asks}]


def _book_ticker(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    (bid, bid_qty), (ask, ask_qty) = m.best_bid, m.best_ask
    return [
        {
            "u": m.update_id,
            "s": m.name,
            "b": decimal(bid),
            "B": decimal(bid_qty),
            "a": decimal(ask),
            "A": decimal(ask_qty),
        }
    ]


def _futures_book_ticker(m: SymbolMarket, now: int) -> Payload:
    (bid, bid_qty), (ask, ask_qty) = m.best_bid, m.best_ask
    return {
        "e": "bookTicker",
        "u": m.update_id,
        "E": now,
        "T": now,
        "s": m.name,
        "b": decimal(bid),
        "B": decimal(bid_qty),
        "a": decimal(ask),
        "A": decimal(ask_qty),
    }


def _mark_price(m: SymbolMarket, now: int) -> Payload:
    mark, index = m.mid_price, m.stats.average
    premium = (mark - index) * E8 // index
    funding = premium + max(-_PREMIUM_CLAMP, min(_PREMIUM_CLAMP, _INTEREST - premium))
    funding = max(-_FUNDING_CAP, min(_FUNDING_CAP, funding))
    return {
        "e": "markPriceUpdate",
        "E": now,
        "s": m.name,
        "p": decimal(mark),
        "i": decimal(index),
        "P": decimal(index),
        "r": decimal(funding),
        "T": (now // _FUNDING_MS + 1) * _FUNDING_MS,
    }


def _klines(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    assert spec.interval is not None
    return [
        {
            "e": "kline",
            "E": now,
            "s": m.name,
            "k": {
                "t": c.open_time,
                "T": c.close_time,
                "s": m.name,
                "i": spec.interval,
                "f": c.first_trade_id,
                "L": c.last_trade_id,
                "o": decimal(c.open),
                "c": decimal(c.close),
                "h": decimal(c.high),
                "l": decimal(c.low),
                "v": decimal(c.volume),
                "n": c.count,
                "x": c.closed,
                "q": decimal(c.quote_volume),
                "V": decimal(c.taker_buy_volume),
                "Q": decimal(c.taker_buy_quote_volume),
                "B": "0",
            },
        }
        for c in m.candles(spec.interval, spec.offset_ms)
    ]


def _change(stats: Stats) -> dict[str, Payload]:
    change = stats.last - stats.open
    return {"p": decimal(change), "P": f"{change * 100 / stats.open:.3f}"}


def _totals(stats: Stats, window_ms: int, now: int) -> dict[str, Payload]:
    return {
        "v": decimal(stats.volume),
        "q": decimal(stats.quote_volume),
        "O": now - window_ms,
        "C": now,
        "F": stats.first_id,
        "L": stats.last_id,
        "n": stats.count,
    }


def _ticker(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    s = m.stats
    (bid, bid_qty), (ask, ask_qty) = m.best_bid, m.best_ask
    return [
        {
            "e": "24hrTicker",
            "E": now,
            "s": m.name,
            **_change(s),
            "w": decimal(s.average),
            "x": decimal(s.open),
            "c": decimal(s.last),
            "Q": decimal(s.last_qty),
            "b": decimal(bid),
            "B": decimal(bid_qty),
            "a": decimal(ask),
            "A": decimal(ask_qty),
            "o": decimal(s.open),
            "h": decimal(s.high),
            "l": decimal(s.low),
            **_totals(s, _WINDOW_MS["1d"], now),
        }
    ]


def _window_ticker(m: SymbolMarket, window: str, now: int) -> Payload:
    s = m.stats
    return {
        "e": f"{window}Ticker",
        "E": now,
        "s": m.name,
        **_change(s),
        "o": decimal(s.open),
        "h": decimal(s.high),
        "l": decimal(s.low),
        "c": decimal(s.last),
        "w": decimal(s.average),
        **_totals(s, _WINDOW_MS[window], now),
    }


def _mini_ticker(m: SymbolMarket, now: int) -> Payload:
    s = m.stats
    return {
        "e": "24hrMiniTicker",
        "E": now,
        "s": m.name,
        "c": decimal(s.last),
        "o": decimal(s.open),
        "h": decimal(s.high),
        "l": decimal(s.low),
        "v": decimal(s.volume),
        "q": decimal(s.quote_volume),
    }


def _avg_price(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    stats = m.stats
    return [
        {
            "e": "avgPrice",
            "E": now,
            "s": m.name,
            "i": "5m",
            "w": decimal(stats.average),
            "T": stats.last_time,
        }
    ]


def _reference_price(m: SymbolMarket, spec: StreamSpec, now: int) -> list[Payload]:
    return [{"e": "referencePrice", "s": m.name, "r": decimal(m.mid_price), "t": now}]


_BY_KIND: dict[str, Callable[[SymbolMarket, StreamSpec, int], list[Payload]]] = {
    "trade": _trades,
    "aggTrade": _agg_trades,
    "blockTrade": _block_trade,
    "depth": _depth,
    "partialDepth": _partial_depth,
    "bookTicker": _book_ticker,
    "kline": _klines,
    "ticker": _ticker,
    "windowTicker": lambda m, spec, now: [_window_ticker(m, str(spec.interval), now)],
    "miniTicker": lambda m, spec, now: [_mini_ticker(m, now)],
    "avgPrice": _avg_price,
    "referencePrice": _reference_price,
    "markPrice": lambda m, spec, now: [_mark_price(m, now)],
}
