"""python-binance's ``DepthCache``: one symbol's book, read from any thread.

The 0.x object a depth-cache callback receives. Here it is a view of the exact native
:class:`~binance_twisted.depth.book.OrderBook` that the reactor thread keeps in sync, read
under a lock; its getters return python-binance's ``[[price, quantity], ...]`` lists, best
first, without sorting the whole side on every read as 0.7.11 did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from binance_twisted.depth.book import OrderBook

__all__ = ["Converter", "DepthCache"]

#: turns a level's price or quantity text into the caller's type (float, Decimal, str…)
Converter = Callable[[Any], Any]


class DepthCache:
    """One symbol's book as python-binance exposed it: ``get_bids()`` / ``get_asks()``.

    Levels are ``[price, quantity]`` converted by ``conv_type`` (``float`` as in 0.x; pass
    ``decimal.Decimal`` or ``str`` to keep them exact), best first. ``update_time`` is the
    event time (ms) of the last applied update. The reactor thread updates the book under
    :attr:`lock` and the getters read under it, so reading from another thread is safe.
    """

    def __init__(self, symbol: str, conv_type: Converter = float) -> None:
        if not callable(conv_type):
            raise TypeError(f"conv_type must be callable (float, Decimal, str…), got {conv_type!r}")
        self.symbol = symbol
        self.update_time: int | None = None
        self.conv_type = conv_type
        #: the native, exact book (Decimal prices); hold :attr:`lock` while reading it
        self.book = OrderBook(symbol.upper())
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        bids, asks = self.book.depth()
        return f"<DepthCache {self.symbol} bids={bids} asks={asks} update_time={self.update_time}>"

    def add_bid(self, bid: Sequence[Any]) -> None:
        """Set one bid ``[price, qty, ...]``; any zero quantity ("0", "0.000") removes it."""
        with self.lock:
            self.book.apply_levels([bid], ())

    def add_ask(self, ask: Sequence[Any]) -> None:
        """Set one ask ``[price, qty, ...]``; any zero quantity removes it."""
        with self.lock:
            self.book.apply_levels((), [ask])

    def get_bids(self, limit: int | None = None) -> list[list[Any]]:
        """Bids ``[[price, qty], …]``, highest price first (the best ``limit`` only if given)."""
        return self._side("bids", limit)

    def get_asks(self, limit: int | None = None) -> list[list[Any]]:
        """Asks ``[[price, qty], …]``, lowest price first (the best ``limit`` only if given)."""
        return self._side("asks", limit)

    def _side(self, side: str, limit: int | None) -> list[list[Any]]:
        with self.lock:  # one consistent read; converting needs no lock
            levels = getattr(self.book, side)(limit)
        convert = self.conv_type
        return [[convert(price), convert(qty)] for price, qty in levels]

    @staticmethod
    def sort_depth(
        vals: Mapping[Any, Any] | Sequence[Sequence[Any]],
        reverse: bool = False,
        conv_type: Converter = float,
    ) -> list[list[Any]]:
        """python-binance's helper: ``{price: qty}`` → ``[[price, qty], …]`` sorted by price."""
        items = vals.items() if isinstance(vals, Mapping) else vals
        levels = [[conv_type(price), quantity] for price, quantity, *_ in items]
        return sorted(levels, key=itemgetter(0), reverse=reverse)
