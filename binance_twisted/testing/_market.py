"""A seeded, simulated spot market: order books, trades, candles (pure, no I/O, no clock).

Every symbol has its own :class:`random.Random` seeded from ``(seed, symbol)``, so a symbol's
history depends only on the seed and on how often it was stepped, never on which other
symbols exist. Prices and quantities are integers in units of 1e-8 and are rendered as
Binance renders them, with eight decimals (``"27000.01000000"``); a removed level has the
quantity ``"0.00000000"``. Identical numbers always give identical strings, so a local book
keyed by price string stays consistent.

One :meth:`SymbolMarket.step` is one tick: a few trades taken from the top of the book and a
few random level changes, all folded into a single depth diff whose ``U`` is the previous
``u + 1`` and whose ``u`` counts every individual change. The USD-M futures shape of the same
diff continues from ``pu`` (the previous ``u``) but starts later: the first half of its ids
are updates that netted out (see :attr:`DepthDiff.futures_first_update_id`), so futures
``U`` jumps past ``pu + 1`` as on Binance, and only ``pu`` links the events.

A step can be told to *skip* ids (:meth:`SymbolMarket.step`'s ``hidden``): it then also
changes levels it does not publish, so the diff's ``U`` jumps past the previous ``u + 1``
(``pu`` past the previous ``u``) while the true book moves on. Each symbol remembers how
to undo its last :data:`REMEMBERED_STEPS` steps, to serve snapshots from an older state
(:meth:`SymbolMarket.past_depth`).

Orders of the fake's accounts take liquidity between ticks (:meth:`SymbolMarket.match`, then
:meth:`SymbolMarket.fill`): the book and the id counters change at once, and the changes and
trades are folded into the next step, so the streams stay gapless. The last
:data:`HISTORY` trades and aggregate trades are kept for the WebSocket API's trade queries
and klines.
"""

from __future__ import annotations

import random
from collections import deque

import attrs

from binance_twisted.testing._market_records import (
    E8,
    AggTrade,
    Candle,
    DepthDiff,
    Levels,
    Stats,
    Step,
    Trade,
    decimal,
    kline_window,
)

__all__ = [
    "E8",
    "HISTORY",
    "REMEMBERED_STEPS",
    "AggTrade",
    "Candle",
    "DepthDiff",
    "Levels",
    "Market",
    "Stats",
    "Step",
    "SymbolMarket",
    "Trade",
    "decimal",
    "kline_window",
]

_LOT = 100_000  # 0.001
_LEVELS = 40  # initial levels per side; new levels land within this many ticks of the top
_MIN_LEVELS = 10
_MAX_LEVELS = 60
_BLOCK_TRADE_CHANCE = 0.1
#: How many trades (and aggregate trades) each symbol remembers.
HISTORY = 1000
#: How many steps back each symbol can rebuild its book (:meth:`SymbolMarket.past_depth`).
REMEMBERED_STEPS = 100


_Changes = tuple[dict[int, int], dict[int, int]]  # (bids, asks): price -> new qty


class SymbolMarket:
    """The true state of one symbol: book, id counters, ticker totals, candles."""

    def __init__(self, symbol: str, seed: int) -> None:
        self.symbol = symbol
        self.name = symbol.upper()
        self._rng = rng = random.Random(f"{seed}/{symbol}")
        magnitude = rng.randint(-1, 4)
        self.tick_size = 10 ** (magnitude + 3)
        mid = rng.randint(1000, 9999) * 10 ** (magnitude + 5)
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        for k in range(1, _LEVELS + 1):
            if rng.random() < 0.8:
                self.bids[mid - k * self.tick_size] = self._random_qty()
            if rng.random() < 0.8:
                self.asks[mid + k * self.tick_size] = self._random_qty()
        self.update_id = rng.randint(10**6, 10**9)
        self.next_trade_id = rng.randint(10**5, 10**8)
        self.next_agg_id = rng.randint(10**5, 10**8)
        self.next_block_id = rng.randint(10**3, 10**6)
        self.stats = Stats(open=mid, high=mid, low=mid, last=mid)
        self.last_step: Step | None = None
        self._steps = 0
        self._candles: dict[tuple[str, int], tuple[Candle, int]] = {}
        #: The most recent trades and aggregate trades, oldest first.
        self.trades: deque[Trade] = deque(maxlen=HISTORY)
        self.agg_trades: deque[AggTrade] = deque(maxlen=HISTORY)
        # changes and trades made between steps (fills of the fake's accounts)
        self._pending: _Changes = ({}, {})
        self._pending_from: int | None = None
        self._pending_trades: list[Trade] = []
        self._pending_aggs: list[AggTrade] = []
        # undo journal: (side, price) -> qty before, for the changes since the last step;
        # one (update id before, journal) per remembered step
        self._undo: dict[tuple[int, int], int] = {}
        self._undo_from = self.update_id
        self._history: deque[tuple[int, dict[tuple[int, int], int]]] = deque(
            maxlen=REMEMBERED_STEPS
        )

    # -- the book -----------------------------------------------------------------------

    @property
    def best_bid(self) -> tuple[int, int]:
        """``(price, qty)`` of the best bid."""
        price = max(self.bids)
        return price, self.bids[price]

    @property
    def best_ask(self) -> tuple[int, int]:
        """``(price, qty)`` of the best ask."""
        price = min(self.asks)
        return price, self.asks[price]

    @property
    def mid_price(self) -> int:
        """Midpoint of the best bid and ask, rounded down to the tick size."""
        mid = (self.best_bid[0] + self.best_ask[0]) // 2
        return mid - mid % self.tick_size

    def depth(self, limit: int) -> tuple[int, Levels, Levels]:
        """``(lastUpdateId, bids high→low, asks low→high)``, at most ``limit`` levels each."""
        bids = sorted(self.bids.items(), reverse=True)[:limit]
        asks = sorted(self.asks.items())[:limit]
        return self.update_id, _levels(bids), _levels(asks)

    def past_depth(self, steps: int, limit: int) -> tuple[int, Levels, Levels]:
        """:meth:`depth` as it was before the last ``steps`` steps (fills since excluded).

        At most :data:`REMEMBERED_STEPS` back; fewer if the symbol stepped less often (then
        the book as created). ``steps=0`` is the book as the last step left it.
        """
        books = (dict(self.bids), dict(self.asks))
        journals = [(self._undo_from, self._undo), *list(reversed(self._history))[:steps]]
        for _, journal in journals:  # newest first: each undoes back to its update id
            for (side, price), qty in journal.items():
                if qty > 0:
                    books[side][price] = qty
                else:
                    books[side].pop(price, None)
        update_id = journals[-1][0]
        bids = sorted(books[0].items(), reverse=True)[:limit]
        asks = sorted(books[1].items())[:limit]
        return update_id, _levels(bids), _levels(asks)

    def book(self) -> tuple[int, dict[str, str], dict[str, str]]:
        """``(lastUpdateId, bids, asks)``: the whole book as price string → qty string."""
        return (
            self.update_id,
            {decimal(p): decimal(q) for p, q in self.bids.items()},
            {decimal(p): decimal(q) for p, q in self.asks.items()},
        )

    # -- one tick -----------------------------------------------------------------------

    def step(self, now_ms: int, hidden: int = 0) -> Step:
        """Advance one tick: trades, book changes, maybe a block trade.

        ``hidden``: also change that many levels (deep ones the step left alone, bid and
        ask in turn) without publishing them, and number them first, so the diff's ``U`` is
        ``hidden`` past the previous ``u + 1``: a gap that really moved the book.
        """
        rng = self._rng
        self._steps += 1
        first_update_id = self.update_id + 1
        pending = self._pending_from is not None
        if self._pending_from is not None:
            first_update_id = self._pending_from
        changed, trades, aggs = self._pending, self._pending_trades, self._pending_aggs
        self._pending, self._pending_trades, self._pending_aggs = ({}, {}), [], []
        self._pending_from = None
        for _ in range(rng.randint(1, 2)):
            agg = self._take(rng.random() < 0.5, now_ms, changed, trades)
            if agg is not None:
                aggs.append(agg)
        for _ in range(rng.randint(1, 3)):
            self._change_level(rng.random() < 0.5, changed)
        block = None
        if rng.random() < _BLOCK_TRADE_CHANCE:
            block = Trade(
                self.next_block_id, self.mid_price, 1000 * self._random_qty(), now_ms, False
            )
            self.next_block_id += 1
        for n in range(hidden):
            self._hide_change(n % 2, changed)
        first_update_id += hidden
        count = self.update_id - first_update_id + 1
        diff = DepthDiff(
            first_update_id,
            self.update_id,
            _levels(sorted(changed[0].items(), reverse=True)),
            _levels(sorted(changed[1].items())),
            previous_update_id=first_update_id - 1,
            futures_first_update_id=first_update_id + (0 if pending else count // 2),
        )
        step = Step(self._steps, now_ms, tuple(trades), tuple(aggs), diff, block)
        self.last_step = step
        self._history.append((self._undo_from, self._undo))
        self._undo, self._undo_from = {}, self.update_id
        return step

    def _hide_change(self, side: int, published: _Changes) -> None:
        """Change the deepest level of ``side`` that ``published`` leaves alone (unpublished)."""
        book = (self.bids, self.asks)[side]
        deepest_first = sorted(book, reverse=side == 1)
        untouched = [price for price in deepest_first if price not in published[side]]
        if untouched:
            price = untouched[0]
            self._set(side, price, book[price] + _LOT, ({}, {}))
            return
        price = deepest_first[0] if deepest_first else self.mid_price
        step = -self.tick_size if side == 0 else self.tick_size
        while price in published[side] or price in book:
            price += step
        self._set(side, price, _LOT, ({}, {}))

    def _take(
        self,
        sell: bool,
        now_ms: int,
        changed: _Changes,
        trades: list[Trade],
    ) -> AggTrade | None:
        """One taker order: 1 to 3 fills at the best price of one side (a seller hits bids)."""
        side = 0 if sell else 1
        book = (self.bids, self.asks)[side]
        if len(book) <= 1:
            return None
        price = max(book) if sell else min(book)
        first_id, total = self.next_trade_id, 0
        for _ in range(self._rng.randint(1, 3)):
            qty = min(book[price], self._rng.randint(1, 50) * _LOT)
            trade = Trade(self.next_trade_id, price, qty, now_ms, buyer_is_maker=sell)
            self.next_trade_id += 1
            self.stats.add(trade)
            self.trades.append(trade)
            trades.append(trade)
            total += qty
            self._set(side, price, book[price] - qty, changed)
            if price not in book:
                break
        agg = AggTrade(
            self.next_agg_id, price, total, first_id, self.next_trade_id - 1, now_ms, sell
        )
        self.next_agg_id += 1
        self.agg_trades.append(agg)
        return agg

    # -- fills of the fake's accounts -----------------------------------------------------

    def match(
        self,
        buy: bool,
        qty: int | None = None,
        quote: int | None = None,
        limit: int | None = None,
        step: int = 1,
    ) -> list[tuple[int, int]]:
        """The ``(price, qty)`` fills a taker order would get now, best price first (pure).

        A buy walks the asks up to ``limit`` (a sell the bids down to it) until ``qty`` base
        units are bought, or until ``quote`` units of the quote asset are spent (sold for);
        each fill is a multiple of ``step``. Nothing changes: :meth:`fill` applies them.
        """
        levels = sorted(self.asks.items()) if buy else sorted(self.bids.items(), reverse=True)
        fills: list[tuple[int, int]] = []
        for price, available in levels:
            if limit is not None and (price > limit if buy else price < limit):
                break
            if qty is not None:
                want = qty
            else:
                assert quote is not None
                want = quote * E8 // price
            take = min(available, want) // step * step
            if take <= 0:
                break
            fills.append((price, take))
            if qty is not None:
                qty -= take
                if qty <= 0:
                    break
            else:
                assert quote is not None
                quote -= price * take // E8
        return fills

    def record(self, buyer_is_maker: bool, price: int, qty: int, now_ms: int) -> Trade:
        """A trade against a resting order of the fake's accounts (the book is untouched)."""
        trade = Trade(self.next_trade_id, price, qty, now_ms, buyer_is_maker)
        self.next_trade_id += 1
        self.stats.add(trade)
        self.trades.append(trade)
        self._pending_trades.append(trade)
        agg = AggTrade(self.next_agg_id, price, qty, trade.id, trade.id, now_ms, buyer_is_maker)
        self.next_agg_id += 1
        self.agg_trades.append(agg)
        self._pending_aggs.append(agg)
        return trade

    def fill(self, buy: bool, fills: list[tuple[int, int]], now_ms: int) -> list[Trade]:
        """Take ``fills`` (from :meth:`match`) out of the book; the trades, with their ids.

        The book changes now; the changes and trades are published with the next step.
        """
        side = 1 if buy else 0
        book = (self.bids, self.asks)[side]
        if self._pending_from is None:
            self._pending_from = self.update_id + 1
        trades: list[Trade] = []
        for price, qty in fills:
            first_id = self.next_trade_id
            trade = Trade(self.next_trade_id, price, qty, now_ms, buyer_is_maker=not buy)
            self.next_trade_id += 1
            self.stats.add(trade)
            self.trades.append(trade)
            trades.append(trade)
            self._pending_trades.append(trade)
            self._set(side, price, book.get(price, 0) - qty, self._pending)
            agg = AggTrade(self.next_agg_id, price, qty, first_id, first_id, now_ms, not buy)
            self.next_agg_id += 1
            self.agg_trades.append(agg)
            self._pending_aggs.append(agg)
        return trades

    def _change_level(self, bid: bool, changed: _Changes) -> None:
        """Set one level near the top, or remove one, keeping the book uncrossed and bounded."""
        rng = self._rng
        side = 0 if bid else 1
        book = (self.bids, self.asks)[side]
        if len(book) > _MIN_LEVELS and rng.random() < 0.3:
            self._set(side, rng.choice(list(book)), 0, changed)
        else:
            distance = rng.randint(1, _LEVELS) * self.tick_size
            price = self.best_ask[0] - distance if bid else self.best_bid[0] + distance
            self._set(side, price, self._random_qty(), changed)
        if len(book) > _MAX_LEVELS:
            self._set(side, min(book) if bid else max(book), 0, changed)

    def _set(self, side: int, price: int, qty: int, changed: _Changes) -> None:
        book = (self.bids, self.asks)[side]
        self._undo.setdefault((side, price), book.get(price, 0))
        if qty > 0:
            book[price] = qty
        else:
            book.pop(price, None)
        changed[side][price] = qty
        self.update_id += 1

    def _random_qty(self) -> int:
        return self._rng.randint(1, 500) * _LOT

    # -- candles ------------------------------------------------------------------------

    def candles(self, interval: str, offset_ms: int) -> tuple[Candle, ...]:
        """The candle(s) to publish after the last step for one kline stream.

        Normally the open candle; when the last step crossed into a new window, first the
        previous candle marked closed. Calling it again for the same step changes nothing.
        """
        step = self.last_step
        if step is None:
            raise RuntimeError(f"{self.symbol} has not been stepped yet")
        key = (interval, offset_ms)
        state = self._candles.get(key)
        if state is not None and state[1] == step.number:
            return (state[0],)
        published: list[Candle] = []
        opened, closes = kline_window(interval, offset_ms, step.time)
        if state is not None and state[0].open_time == opened:
            current = state[0]
        else:
            if state is not None:
                published.append(attrs.evolve(state[0], closed=True))
            price = step.trades[0].price if step.trades else self.stats.last
            current = Candle(opened, closes, price, price, price, price)
        current = current.absorb(step.trades)
        self._candles[key] = (current, step.number)
        published.append(current)
        return tuple(published)


def _levels(items: list[tuple[int, int]]) -> Levels:
    return [[decimal(price), decimal(qty)] for price, qty in items]


class Market:
    """All symbols of one fake, created on first use from one seed."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._symbols: dict[str, SymbolMarket] = {}

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def names(self) -> list[str]:
        """The lowercase symbols that have a market so far, in order of creation."""
        return list(self._symbols)

    def get(self, symbol: str) -> SymbolMarket:
        """The market of a lowercase ``symbol``, created if new."""
        market = self._symbols.get(symbol)
        if market is None:
            market = self._symbols[symbol] = SymbolMarket(symbol, self._seed)
        return market
