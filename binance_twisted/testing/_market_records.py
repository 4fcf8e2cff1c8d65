"""What the simulated market hands out: trades, aggregate trades, depth diffs, stats, candles.

Prices and quantities are integers in units of 1e-8 (:data:`E8`), rendered with eight
decimals by :func:`decimal`; :mod:`._market` (the market itself) re-exports every name here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

__all__ = [
    "E8",
    "AggTrade",
    "Candle",
    "DepthDiff",
    "Levels",
    "Stats",
    "Step",
    "Trade",
    "decimal",
    "kline_window",
]

E8 = 100_000_000


def decimal(value: int) -> str:
    """Render an amount in units of 1e-8 with eight decimals, as Binance does."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    return f"{sign}{value // E8}.{value % E8:08d}"


@attrs.frozen
class Trade:
    """One fill (also used for block trades, which have their own id sequence)."""

    id: int
    price: int
    qty: int
    time: int
    buyer_is_maker: bool


@attrs.frozen
class AggTrade:
    """Fills of one taker order at one price: trade ids ``first_id..last_id``."""

    id: int
    price: int
    qty: int
    first_id: int
    last_id: int
    time: int
    buyer_is_maker: bool


Levels = list[list[str]]


@attrs.frozen
class DepthDiff:
    """All book changes of one step: ``[price, qty]`` with absolute quantities.

    ``previous_update_id`` is the id the diff continues from (futures ``pu``):
    ``first_update_id - 1``, the previous diff's ``final_update_id`` unless ids were
    skipped. ``futures_first_update_id`` is the futures ``U``: past ``pu + 1`` when the
    diff has several ids and no fills made between steps (the ids before it netted out),
    never past a snapshot taken since the previous step, so the futures sync rule
    ``U <= lastUpdateId <= u`` always finds its first event.
    """

    first_update_id: int
    final_update_id: int
    bids: Levels
    asks: Levels
    previous_update_id: int = 0
    futures_first_update_id: int = 0


@attrs.frozen
class Step:
    """What one tick of one symbol produced."""

    number: int
    time: int
    trades: tuple[Trade, ...]
    agg_trades: tuple[AggTrade, ...]
    diff: DepthDiff
    block_trade: Trade | None


@attrs.define
class Stats:
    """Running totals for the ticker streams (since the market was created)."""

    open: int
    high: int
    low: int
    last: int
    last_qty: int = 0
    volume: int = 0
    quote_volume: int = 0
    count: int = 0
    first_id: int = -1
    last_id: int = -1
    last_time: int = 0

    def add(self, trade: Trade) -> None:
        """Fold one trade in."""
        self.high = max(self.high, trade.price)
        self.low = min(self.low, trade.price)
        self.last, self.last_qty, self.last_time = trade.price, trade.qty, trade.time
        self.volume += trade.qty
        self.quote_volume += trade.price * trade.qty // E8
        self.count += 1
        if self.first_id < 0:
            self.first_id = trade.id
        self.last_id = trade.id

    @property
    def average(self) -> int:
        """Volume-weighted average price (the last price before any volume)."""
        return self.quote_volume * E8 // self.volume if self.volume else self.last


@attrs.frozen
class Candle:
    """One kline; ``first_trade_id``/``last_trade_id`` are -1 while it has no trades."""

    open_time: int
    close_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    quote_volume: int = 0
    taker_buy_volume: int = 0
    taker_buy_quote_volume: int = 0
    first_trade_id: int = -1
    last_trade_id: int = -1
    count: int = 0
    closed: bool = False

    def absorb(self, trades: tuple[Trade, ...]) -> Candle:
        """This candle with ``trades`` added."""
        if not trades:
            return self
        prices = [t.price for t in trades]
        taker_buys = [t for t in trades if not t.buyer_is_maker]
        return attrs.evolve(
            self,
            high=max(self.high, *prices),
            low=min(self.low, *prices),
            close=prices[-1],
            volume=self.volume + sum(t.qty for t in trades),
            quote_volume=self.quote_volume + sum(t.price * t.qty // E8 for t in trades),
            taker_buy_volume=self.taker_buy_volume + sum(t.qty for t in taker_buys),
            taker_buy_quote_volume=self.taker_buy_quote_volume
            + sum(t.price * t.qty // E8 for t in taker_buys),
            first_trade_id=self.first_trade_id if self.count else trades[0].id,
            last_trade_id=trades[-1].id,
            count=self.count + len(trades),
        )


_DAY = 86_400_000


_FIXED_INTERVALS = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
}


_FIRST_MONDAY = 4 * _DAY  # 1970-01-05: weekly candles open on Mondays


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def kline_window(interval: str, offset_ms: int, now_ms: int) -> tuple[int, int]:
    """``(open_time, close_time)`` in UTC ms of the candle containing ``now_ms``.

    ``offset_ms`` is the candle time zone (``@+08:00`` is 8 h): boundaries fall on local
    midnights, Mondays and month starts, while the returned times stay UTC epoch values.
    """
    local = now_ms + offset_ms
    if interval == "1M":
        day = _EPOCH + timedelta(milliseconds=local)
        start = datetime(day.year, day.month, 1, tzinfo=timezone.utc)
        end = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=timezone.utc)
        opened, closes = _ms(start), _ms(end)
    else:
        length = _FIXED_INTERVALS[interval]
        anchor = _FIRST_MONDAY if interval == "1w" else 0
        opened = (local - anchor) // length * length + anchor
        closes = opened + length
    return opened - offset_ms, closes - offset_ms - 1


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)
