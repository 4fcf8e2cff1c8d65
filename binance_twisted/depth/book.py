"""A local order book that applies Binance depth snapshots and diff events exactly.

Why this exists: the legacy ``DepthCache`` kept prices as strings, turned them into floats and
sorted the whole side on every read, and removed a level only when the quantity was exactly
the string ``"0.00000000"`` (so futures' ``"0.000"`` left zero levels behind). Here:

* **Prices** are integers in the book's tick: ``"98000.01000000"`` is ``9800001`` at two
  decimals. The tick is learnt from the prices themselves (the finest one seen so far), so
  differently spelled prices (``"0.10"``, ``"0.1"``) are one level and no float ever decides
  which level a price is. Each price text is parsed once per book and remembered with its
  level, so a repeated price costs one string lookup and a changed quantity one slot store.
  Reads give the price back as a canonical :class:`~decimal.Decimal` (no trailing zeros, no
  exponent).
* **Order** is kept only where it is read: a sorted list of the best 64 levels of a side (the
  *band*), best last, asks negated. A new or removed level in the band is a C bisect and a
  short memmove in a list that stays in cache; a level below the band is only stored. When a
  read asks for more levels than the band holds, it is refilled from all levels
  (``heapq.nlargest``) to twice that depth, so later reads of the same depth find slack:
  rare (a sweep of the top, or a deeper read than before).
  Reading the best N levels is a slice: nothing is sorted per update or per read.
* **Quantities** are kept as the text Binance sent and become a Decimal when read, so
  ``str(qty)`` gives the spelling back (``"1.50000000"``) and the value is exact.
* **Zero removal is numeric**: any quantity equal to zero (``"0"``, ``"0.000"``,
  ``"0.00000000"``, ``"0E-8"``) removes the level; removing a level the book does not hold is
  a no-op (normal, because a snapshot carries at most 1000/5000 levels per side). A float
  parse screens each quantity (about 40 ns); anything it cannot settle exactly (a zero
  spelling not seen before, an underflow, an overflow, NaN) is decided by Decimal.
* Malformed input (not a number, negative quantity, non-positive or non-finite price, a float)
  raises :class:`ValueError` **and clears the book**: a half-applied event would silently
  corrupt it, while a cleared book says "unsynced" and gets a fresh snapshot.

Sequencing follows ``binance-platform.md`` §5. :class:`SpotSequencer` and
:class:`FuturesSequencer` look at an event's ids against the book's update id and return a
:class:`Verdict`; they do not touch the book. The caller applies on ``APPLY`` (setting the
book's id to the event's ``u``), drops on ``STALE`` and re-syncs from a new snapshot on ``GAP``::

    book.apply_snapshot(snap["lastUpdateId"], snap["bids"], snap["asks"])
    seq.start()
    for event in buffered_then_live:
        verdict = seq.check(book.update_id, event)
        if verdict is Verdict.APPLY:
            book.apply_levels(event["b"], event["a"], update_id=event["u"])
        elif verdict is Verdict.GAP:
            book.clear()  # unsynced until the next snapshot
            ...

This module is pure: no I/O, no Twisted, nothing of ours but :mod:`~binance_twisted.depth.prices`
(reading the number texts).
"""

from __future__ import annotations

import enum
import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from binance_twisted.depth.prices import (
    ZEROS,
    canonical_price,
    is_zero,
    parse_price,
    plain_price,
    refuse_float,
)

__all__ = [
    "FUTURES_SNAPSHOT_LIMIT",
    "SPOT_SNAPSHOT_LIMIT",
    "FuturesSequencer",
    "Level",
    "OrderBook",
    "SpotSequencer",
    "Verdict",
]

#: Largest ``limit`` the REST depth snapshot accepts; levels beyond it stay unknown until they
#: change, so the far book is incomplete by design.
SPOT_SNAPSHOT_LIMIT = 5000
FUTURES_SNAPSHOT_LIMIT = 1000

#: One price level as read from the book: (price, quantity).
Level = tuple[Decimal, Decimal]

_INF = float("inf")

#: Price spellings remembered per side (each with its level). When full, levels no longer in
#: the book are forgotten: a few MB at most, and a miss only costs a parse.
_CACHE_LIMIT = 32_768

#: Levels kept in sorted order per side (the band). It only ever holds the levels at or above
#: its floor, so it may shrink; a read that wants more levels than it holds refills it, to
#: twice what it asked for (so the next reads of that depth find slack). 64: a level changing
#: below the band costs no bisect, and in bench/book.py 64 beat 128 and 256 with and
#: without reads, also with a drifting touch (a refill is rare: a sweep or a deeper read).
_BAND = 64


class _Cell:
    """One price level: its signed ticks, its quantity as sent (None: not in the book) and its
    Decimal price (None until first read). Slots keep all three in the object itself: the hot
    path touches one block of memory per level."""

    __slots__ = ("key", "price", "qty")

    def __init__(self, key: int) -> None:
        self.key = key
        self.qty: Any = None
        self.price: Decimal | None = None


class _Side:
    """One side of the book: every known price's cell, and the sorted band of the best ones."""

    __slots__ = ("cache", "cells", "count", "floor", "sign", "top")

    def __init__(self, sign: int) -> None:
        #: +1 for bids (higher is better), -1 for asks (keys negated: lower price is better).
        self.sign = sign
        self.cells: dict[int, _Cell] = {}  # signed ticks -> cell
        self.cache: dict[str, _Cell] = {}  # price as sent -> cell
        self.top: list[int] = []  # keys of the levels at or above floor, ascending: best last
        self.floor: float = -_INF  # -inf: the band holds every level of the side
        self.count = 0  # levels in the book

    def refill(self, size: int) -> None:
        """Make the band the best ``size`` levels (all of them if there are no more)."""
        present = [key for key, cell in self.cells.items() if cell.qty is not None]
        if len(present) <= size:
            self.top[:] = sorted(present)
            self.floor = -_INF
        else:
            self.top[:] = sorted(heapq.nlargest(size, present))
            self.floor = self.top[0]

    def rescale(self, factor: int) -> None:
        """Multiply every key by ``factor`` in place (the book's tick got finer)."""
        for cell in self.cells.values():
            cell.key *= factor
        self.cells = {cell.key: cell for cell in self.cells.values()}
        self.top[:] = [key * factor for key in self.top]
        self.floor *= factor

    def empty(self) -> None:
        for cell in self.cells.values():
            cell.qty = None
        self.top.clear()
        self.floor = -_INF
        self.count = 0


def _update(side: _Side, levels: Iterable[Sequence[Any]], book: OrderBook) -> None:
    """Set each ``[price, qty]`` level on one side: absolute quantity, numeric zero removes.

    The hot path of every diff event (40 levels each), written for speed: one string lookup
    finds the level's cell, one float call screens the quantity, one store sets it; only a
    level entering or leaving the band moves in the sorted list. The ``try`` costs nothing
    until a price is new (Python 3.11+).
    """
    cache = side.cache
    top = side.top
    floor = side.floor
    zeros = ZEROS
    inf = _INF
    change = 0
    for raw, qty in levels:  # pairs only: the third element Binance dropped in 2018 is refused
        try:
            cell = cache[raw]
        except KeyError:
            cell = book._new_cell(side, raw)
            floor = side.floor  # a finer tick rescales the sides in place
        amount = float(qty)
        if amount is qty:  # float() hands a float back as itself: a float, not exact text
            refuse_float(qty)
        if (0.0 < amount < inf) or not (qty in zeros or is_zero(qty)):
            if cell.qty is None:
                change += 1
                if cell.key >= floor:
                    insort(top, cell.key)
            cell.qty = qty
        elif cell.qty is not None:
            cell.qty = None
            change -= 1
            if cell.key >= floor:
                del top[bisect_left(top, cell.key)]
    side.count += change


class OrderBook:
    """Both sides of one symbol's book, keyed by exact price, best level first on every read."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        #: The ``lastUpdateId``/``u`` the book reflects; ``None`` means no book (unsynced).
        self.update_id: int | None = None
        self._bids = _Side(1)
        self._asks = _Side(-1)
        #: Decimal places of the tick; prices are held as integers ``price * 10**scale``.
        self._scale = 0

    def __repr__(self) -> str:
        return (
            f"<OrderBook {self.symbol} update_id={self.update_id} "
            f"bids={self._bids.count} asks={self._asks.count}>"
        )

    # -- writing ----------------------------------------------------------------------------

    def apply_snapshot(
        self,
        last_update_id: int,
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
    ) -> None:
        """Replace the whole book with a REST/WS-API depth snapshot taken at ``last_update_id``.

        Levels are stored with no band (floor above everything) and each band is filled once
        afterwards, which is many times faster than 5,000 sorted inserts.
        """
        self.clear()
        self._bids.floor = self._asks.floor = _INF
        self._apply(bids, asks)
        self._bids.refill(_BAND)
        self._asks.refill(_BAND)
        self.update_id = last_update_id

    def apply_levels(
        self,
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
        update_id: int | None = None,
    ) -> None:
        """Apply absolute quantities (a diff event's ``b``/``a``); set ``update_id`` if given.

        Deciding whether the event belongs here is the sequencer's job, not this method's.
        """
        self._apply(bids, asks)
        if update_id is not None:
            self.update_id = update_id

    def _apply(self, bids: Iterable[Sequence[Any]], asks: Iterable[Sequence[Any]]) -> None:
        try:
            _update(self._bids, bids, self)
            _update(self._asks, asks, self)
        except (ArithmeticError, ValueError, TypeError, IndexError) as e:
            # Part of the event may already be applied: the book can no longer be trusted.
            self.clear()
            raise ValueError(f"{self.symbol}: bad depth level ({e}); book cleared") from e

    def _new_cell(self, side: _Side, raw: Any) -> _Cell:
        """The cell of a price text not seen before (a new level, or a new spelling)."""
        plain = plain_price(raw)
        if plain is None:
            _, digits, exponent_of = parse_price(raw).normalize().as_tuple()
            units, exponent = int("".join(map(str, digits))), int(exponent_of)
        else:
            units, exponent = plain
        if -exponent > self._scale:
            self._refine(-exponent)
        key = side.sign * units * 10 ** (exponent + self._scale)
        cell = side.cells.get(key)
        if cell is None:
            if len(side.cells) >= _CACHE_LIMIT:
                side.cells = {k: c for k, c in side.cells.items() if c.qty is not None}
                side.cache.clear()
            cell = side.cells[key] = _Cell(key)
        if type(raw) is str:  # only text: 1 == 1.0 must not let a float through later
            if len(side.cache) >= _CACHE_LIMIT:
                side.cache.clear()
            side.cache[raw] = cell
        return cell

    def _refine(self, scale: int) -> None:
        """Use a finer tick: ``scale`` decimals. Rare (the first prices of a symbol), O(n)."""
        factor = 10 ** (scale - self._scale)
        self._bids.rescale(factor)
        self._asks.rescale(factor)
        self._scale = scale

    def adopt(self, other: OrderBook) -> None:
        """Take over ``other``'s levels and update id in place (readers keep this object).

        Used to swap in a book rebuilt from a fresh snapshot; ``other`` must not be used after.
        """
        self._bids, self._asks, self.update_id = other._bids, other._asks, other.update_id
        self._scale = other._scale

    def clear(self) -> None:
        """Forget every level and the update id: the book is unsynced until the next snapshot.

        The spellings and the tick learnt so far are kept: they do not depend on the levels.
        """
        self._bids.empty()
        self._asks.empty()
        self.update_id = None

    # -- reading ----------------------------------------------------------------------------

    def _best(self, side: _Side, n: int | None) -> list[Level]:
        """The best ``n`` levels of a side (all when None), best first: a slice of the band."""
        top = side.top
        if n is not None and n < 0:
            raise ValueError(f"n must be >= 0 or None, got {n}")
        if (n is None or n > len(top)) and side.floor != -_INF:
            side.refill(side.count if n is None else max(2 * n, _BAND))
        cells, sign, scale = side.cells, side.sign, self._scale
        levels = []
        for key in top[::-1] if n is None else top[: -n - 1 : -1]:
            cell = cells[key]
            price = cell.price
            if price is None:
                price = cell.price = canonical_price(Decimal(sign * key).scaleb(-scale))
            levels.append((price, Decimal(cell.qty)))
        return levels

    def best_bid(self) -> Level | None:
        """The highest bid, or None when there are no bids."""
        best = self._best(self._bids, 1)
        return best[0] if best else None

    def best_ask(self) -> Level | None:
        """The lowest ask, or None when there are no asks."""
        best = self._best(self._asks, 1)
        return best[0] if best else None

    def spread(self) -> Decimal | None:
        """Best ask minus best bid (exact), or None when either side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return ask[0] - bid[0]

    def is_crossed(self) -> bool:
        """True when best bid >= best ask: impossible on a correct book, a sign of lost events."""
        bid, ask = self._bids.top, self._asks.top
        return bool(bid and ask and bid[-1] >= -ask[-1])

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all when None), highest price first; O(N), no sort."""
        return self._best(self._bids, n)

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all when None), lowest price first; O(N), no sort."""
        return self._best(self._asks, n)

    def depth(self) -> tuple[int, int]:
        """Number of (bid, ask) levels held."""
        return self._bids.count, self._asks.count

    def as_lists(self, float_values: bool = True) -> tuple[list[list[Any]], list[list[Any]]]:
        """(bids, asks) in the legacy ``DepthCache.get_bids()/get_asks()`` shape, best first.

        ``[[price, qty], ...]`` as floats like the legacy cache returned; with
        ``float_values=False`` as strings instead (canonical price, quantity as sent), which
        keeps them exact and JSON-friendly.
        """
        convert: Any = float if float_values else str
        bids = [[convert(p), convert(q)] for p, q in self.bids()]
        asks = [[convert(p), convert(q)] for p, q in self.asks()]
        return bids, asks


# -- sequencing ---------------------------------------------------------------------------------


class Verdict(enum.Enum):
    """What to do with one diff event."""

    #: The event continues the book: apply its levels and set the book's id to its ``u``.
    APPLY = "apply"
    #: The book already holds everything in it (old, duplicated or overtaken): drop it.
    STALE = "stale"
    #: Events are missing (or there is no book): drop the book and re-sync from a new snapshot.
    GAP = "gap"


class SpotSequencer:
    """Spot rules (``binance-platform.md`` §5.1, as corrected on 2025-11-12).

    For an event ``U..u`` and the book's id (the snapshot's ``lastUpdateId`` or the last
    applied ``u``):

    * ``u <= id``: STALE. Right after a snapshot this is the documented "drop ``u <=
      lastUpdateId``"; later it catches duplicates and overtaken events. (Step 6 of the docs
      says ``u < id``; the only extra event this drops, ``u == id``, carries nothing the book
      does not already hold.)
    * ``U > id + 1``: GAP. Events are missing; on the first event after a snapshot this means
      the snapshot is older than the buffer (the docs' "refetch").
    * otherwise APPLY. So the first applied event satisfies ``U <= lastUpdateId + 1 <= u``. The
      docs' step 4 expects ``U <= lastUpdateId <= u`` there, but an event starting exactly at
      ``lastUpdateId + 1`` continues the snapshot without a hole, and step 6's corrected
      ``U > id + 1`` rule accepts it; refusing it would only force a needless re-sync. The
      pre-2025-11 text (GAP on ``U > id``) fired on every normal event.

    Stateless: the book's id is all it needs. :meth:`start` exists so both sequencers are used
    the same way.
    """

    def start(self) -> None:
        """Call after each snapshot (nothing to reset for Spot)."""

    def check(self, book_id: int | None, event: Mapping[str, Any]) -> Verdict:
        """Classify a diff event (keys ``U`` and ``u``) against the book's update id."""
        if book_id is None:
            return Verdict.GAP
        if event["u"] <= book_id:
            return Verdict.STALE
        if event["U"] > book_id + 1:
            return Verdict.GAP
        return Verdict.APPLY


class FuturesSequencer:
    """USD-M / COIN-M futures rules (``binance-platform.md`` §5.2): continuity through ``pu``.

    * First event after a snapshot with ``lastUpdateId`` L: ``u < L`` is STALE (note ``<``,
      where Spot uses ``<=``); it must then satisfy ``U <= L <= u`` (the docs' rule), or
      ``pu == L``: the event directly follows the snapshot, which happens whenever the
      snapshot is taken between two events and no event is buffered yet. Refusing it, as a
      strict reading of the docs would, forces a needless re-sync. Anything else is a GAP.
    * After that: ``pu`` must equal the book's id (the previous applied event's ``u``), else
      GAP. Futures ids are not contiguous, so the Spot ``U`` rule must not be used here.
    * An event with ``u <= id`` after the first is STALE, not GAP: ``u`` only grows, so it is a
      duplicate or an overtaken event the book already holds. The docs' strict reading
      (``pu != prev u``, re-sync) would throw a good book away for a repeated frame.

    Stateful only in one bit: whether the first event after the snapshot has been applied.
    """

    def __init__(self) -> None:
        self._first = True

    def start(self) -> None:
        """Call after each snapshot: the next applied event must straddle it."""
        self._first = True

    def check(self, book_id: int | None, event: Mapping[str, Any]) -> Verdict:
        """Classify a diff event (keys ``U``, ``u``, ``pu``) against the book's update id.

        Returning APPLY for the first event marks the snapshot as joined, so call this once
        per event and apply every APPLY.
        """
        if book_id is None:
            return Verdict.GAP
        final_id = event["u"]
        if self._first:
            if final_id < book_id:
                return Verdict.STALE
            if event["U"] > book_id and event["pu"] != book_id:
                return Verdict.GAP
            self._first = False
            return Verdict.APPLY
        if final_id <= book_id:
            return Verdict.STALE
        if event["pu"] != book_id:
            return Verdict.GAP
        return Verdict.APPLY
