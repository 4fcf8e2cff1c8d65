"""A local order book that applies Binance depth snapshots and diff events exactly.

Why this exists: the legacy ``DepthCache`` kept prices as strings, turned them into floats and
sorted the whole side on every read, and removed a level only when the quantity was exactly
the string ``"0.00000000"`` (so futures' ``"0.000"`` left zero levels behind). Here:

* **Prices** are :class:`~decimal.Decimal` keys in a :class:`sortedcontainers.SortedDict` per
  side, so an update is O(log n) and reading the best N levels is O(log n + N); nothing is
  sorted on read. Keys are canonical (no trailing zeros, no exponent: ``"60000.01000000"``
  becomes ``Decimal("60000.01")``), so ``"0.10"`` and ``"0.1"`` are one level and what you
  read back does not depend on the spelling Binance used. Each price text is parsed once per
  book and remembered (see :func:`_apply_side` for why that matters).
* **Quantities** are kept as the Decimal parsed from the string Binance sent. That is exact and
  ``str(qty)`` gives the spelling back (``"1.50000000"`` stays ``"1.50000000"``), so nothing is
  lost for users who want the original text, and arithmetic needs no further parsing.
* **Zero removal is numeric**: any quantity equal to zero (``"0"``, ``"0.000"``,
  ``"0.00000000"``) removes the level; removing a level the book does not hold is a no-op
  (normal, because a snapshot carries at most 1000/5000 levels per side).
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

This module is pure: no I/O, no Twisted, nothing else of ours.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict

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

_ONE = Decimal(1)

#: Price spellings remembered per book (see :func:`_apply_side`). When full it is simply
#: emptied: a few MB at most, and a miss only costs a parse.
_KEY_CACHE_LIMIT = 32_768


def _canonical_price(price: Decimal) -> Decimal:
    """The one spelling of a price used as a key: no trailing zeros and no exponent.

    ``normalize()`` alone turns ``60000`` into ``6E+4``; integers are quantized instead.
    """
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price must be a positive finite number, got {price!r}")
    if price == price.to_integral_value():
        return price.quantize(_ONE)
    return price.normalize()


def _number(raw: Any) -> Decimal:
    """Parse a price or quantity exactly; floats are refused because Decimal(0.1) is not 0.1."""
    if isinstance(raw, float):
        raise ValueError(f"prices and quantities must be strings, not floats: {raw!r}")
    return Decimal(raw)


def _apply_side(
    side: dict[Decimal, Decimal], levels: Iterable[Sequence[Any]], keys: dict[str, Decimal]
) -> None:
    """Set each ``[price, qty, ...]`` level on one side: absolute quantity, numeric zero removes.

    ``side`` is a SortedDict (diffs) or a plain dict (a snapshot, sorted once afterwards).

    The hot path of every diff event, so it is written for speed. Hashing a fresh Decimal
    costs about 0.7 µs (several times its parsing), so ``keys`` maps the price *text* as sent
    to its canonical Decimal key, which was hashed once and caches it; a repeated price then
    costs one string lookup. An existing level is updated through ``dict.__setitem__`` (key
    and sort position unchanged); only a new price pays for the sorted insert.
    """
    setitem = dict.__setitem__
    for level in levels:
        raw = level[0]
        price = keys.get(raw)
        if price is None:
            price = _canonical_price(_number(raw))
            if type(raw) is str:  # only text: 1 == 1.0 must not let a float through later
                if len(keys) >= _KEY_CACHE_LIMIT:
                    keys.clear()
                keys[raw] = price
        raw = level[1]
        if isinstance(raw, float):  # _number inlined: this runs 40 times per diff event
            raise ValueError(f"prices and quantities must be strings, not floats: {raw!r}")
        qty = Decimal(raw)
        if not qty:
            side.pop(price, None)
        elif qty > 0 and qty.is_finite():
            if price in side:
                setitem(side, price, qty)
            else:
                side[price] = qty
        else:
            raise ValueError(f"quantity must be a finite number >= 0, got {raw!r}")


def _first(prices: Iterator[Decimal], n: int | None) -> Iterator[Decimal]:
    """The first ``n`` of an already ordered side (all when None)."""
    if n is None:
        return prices
    if n < 0:
        raise ValueError(f"n must be >= 0 or None, got {n}")
    return islice(prices, n)


class OrderBook:
    """Both sides of one symbol's book, keyed by exact price, best level first on every read."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        #: The ``lastUpdateId``/``u`` the book reflects; ``None`` means no book (unsynced).
        self.update_id: int | None = None
        self._bids = SortedDict()  # ascending: best bid is the last key
        self._asks = SortedDict()  # ascending: best ask is the first key
        self._keys: dict[str, Decimal] = {}  # price as sent -> canonical key

    def __repr__(self) -> str:
        return (
            f"<OrderBook {self.symbol} update_id={self.update_id} "
            f"bids={len(self._bids)} asks={len(self._asks)}>"
        )

    # -- writing ----------------------------------------------------------------------------

    def apply_snapshot(
        self,
        last_update_id: int,
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
    ) -> None:
        """Replace the whole book with a REST/WS-API depth snapshot taken at ``last_update_id``.

        Levels go into plain dicts first and each side is sorted once, which is several times
        faster than 5,000 sorted inserts.
        """
        new_bids: dict[Decimal, Decimal] = {}
        new_asks: dict[Decimal, Decimal] = {}
        self._apply(new_bids, new_asks, bids, asks)
        self._bids = SortedDict(new_bids)
        self._asks = SortedDict(new_asks)
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
        self._apply(self._bids, self._asks, bids, asks)
        if update_id is not None:
            self.update_id = update_id

    def _apply(
        self,
        bid_side: dict[Decimal, Decimal],
        ask_side: dict[Decimal, Decimal],
        bids: Iterable[Sequence[Any]],
        asks: Iterable[Sequence[Any]],
    ) -> None:
        try:
            _apply_side(bid_side, bids, self._keys)
            _apply_side(ask_side, asks, self._keys)
        except (ArithmeticError, ValueError, TypeError, IndexError) as e:
            # Part of the event may already be applied: the book can no longer be trusted.
            self.clear()
            raise ValueError(f"{self.symbol}: bad depth level ({e}); book cleared") from e

    def adopt(self, other: OrderBook) -> None:
        """Take over ``other``'s levels and update id in place (readers keep this object).

        Used to swap in a book rebuilt from a fresh snapshot; ``other`` must not be used after.
        """
        self._bids, self._asks, self.update_id = other._bids, other._asks, other.update_id

    def clear(self) -> None:
        """Forget every level and the update id: the book is unsynced until the next snapshot."""
        self._bids.clear()
        self._asks.clear()
        self.update_id = None

    # -- reading ----------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        """The highest bid, or None when there are no bids."""
        return self._bids.peekitem(-1) if self._bids else None

    def best_ask(self) -> Level | None:
        """The lowest ask, or None when there are no asks."""
        return self._asks.peekitem(0) if self._asks else None

    def spread(self) -> Decimal | None:
        """Best ask minus best bid (exact), or None when either side is empty."""
        if not self._bids or not self._asks:
            return None
        return self._asks.peekitem(0)[0] - self._bids.peekitem(-1)[0]

    def is_crossed(self) -> bool:
        """True when best bid >= best ask: impossible on a correct book, a sign of lost events."""
        if not self._bids or not self._asks:
            return False
        return bool(self._bids.peekitem(-1)[0] >= self._asks.peekitem(0)[0])

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all when None), highest price first; O(log n + N), no sort."""
        side = self._bids
        return [(price, side[price]) for price in _first(reversed(side), n)]

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all when None), lowest price first; O(log n + N), no sort."""
        side = self._asks
        return [(price, side[price]) for price in _first(iter(side), n)]

    def depth(self) -> tuple[int, int]:
        """Number of (bid, ask) levels held."""
        return len(self._bids), len(self._asks)

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
