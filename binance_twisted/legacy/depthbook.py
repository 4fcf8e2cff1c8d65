"""python-binance's ``DepthCache``, and the options its depth-cache managers take.

The ``DepthCache`` is what a depth-cache callback (0.x) or ``recv()`` (1.x) gets: a view of
the exact native :class:`~binance_twisted.depth.book.OrderBook` that the reactor thread
keeps in sync, read under a lock; its getters return python-binance's ``[[price,
quantity], ...]`` lists, best first, without sorting the whole side on every read as 0.7.11
did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from binance_twisted.depth.book import OrderBook
from binance_twisted.depth.synchroniser import check_book_options

__all__ = [
    "DEFAULT_LIMITS",
    "WS_INTERVALS",
    "Converter",
    "DepthCache",
    "cache_settings",
    "refresh_seconds",
]

#: python-binance's ``ws_interval`` → the diff stream's update speed (ms), per market
WS_INTERVALS: dict[str, dict[int | None, int]] = {
    "spot": {None: 1000, 0: 1000, 100: 100, 1000: 1000},
    "futures": {None: 250, 0: 250, 100: 100, 250: 250, 500: 500},
}
#: the snapshot depth when ``limit`` is not given (0.7.11's default for Spot)
DEFAULT_LIMITS = {"spot": 500, "futures": 1000}


def cache_settings(
    market: str, limit: int | None, ws_interval: int | None, refresh: float | None
) -> dict[str, Any]:
    """A depth-cache manager's options as a synchroniser's settings; ValueError names the
    bad one. ``refresh`` is already in seconds (``None``: never)."""
    speed = WS_INTERVALS[market].get(ws_interval)
    if speed is None:
        allowed = ", ".join(str(k) for k in WS_INTERVALS[market] if k is not None)
        raise ValueError(f"ws_interval must be None or one of {allowed} (ms), got {ws_interval!r}")
    if limit is None:
        limit = DEFAULT_LIMITS[market]
    limit, speed = check_book_options(market, limit, speed)
    return {"market": market, "limit": limit, "speed": speed, "refresh_interval": refresh}


def refresh_seconds(refresh_interval: Any, when_none: float | None) -> float | None:
    """``refresh_interval`` as seconds or ``None`` (never): ``None`` → ``when_none``, ``0``
    → never, seconds > 0 as given; anything else is a ValueError."""
    if refresh_interval is None:
        return when_none
    number = isinstance(refresh_interval, (int, float)) and not isinstance(refresh_interval, bool)
    if not number or refresh_interval < 0:
        default = "off" if when_none is None else f"{when_none / 60:g} min"
        raise ValueError(
            f"refresh_interval must be None ({default}), 0 (off) or seconds > 0, "
            f"got {refresh_interval!r}"
        )
    return float(refresh_interval) or None


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
        """Set one bid ``[price, qty, ...]``; any zero quantity ("0", "0.000") removes it.

        Only the first two elements are read, as in 0.x (the book itself takes pairs only).
        """
        with self.lock:
            self.book.apply_levels([(bid[0], bid[1])], ())

    def add_ask(self, ask: Sequence[Any]) -> None:
        """Set one ask ``[price, qty, ...]``; any zero quantity removes it (first two read)."""
        with self.lock:
            self.book.apply_levels((), [(ask[0], ask[1])])

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
