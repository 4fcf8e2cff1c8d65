"""What one method of the fake's WebSocket API is: a handler of a :class:`Call`, and its weight.

The handlers themselves live by topic: market data (:mod:`._wsapi_market`), account queries
(:mod:`._wsapi_account`), orders and order lists (:mod:`._wsapi_orders`), USD-M futures
(:mod:`._wsapi_futures`); :mod:`._wsapi_calls` puts them in the venues' method tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs

from binance_twisted.testing import _marketdata as md
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._market import E8, SymbolMarket, decimal
from binance_twisted.testing._marketdata import SymbolInfo
from binance_twisted.testing._params import Reader, either
from binance_twisted.testing._trading import COMMISSION_BP, Event
from binance_twisted.testing._userdata import FakeAccount

__all__ = [
    "COMMISSION_RATE",
    "DAY_MS",
    "MINUTE_MS",
    "ZERO",
    "Call",
    "Method",
    "TradingHub",
    "Weight",
    "count_of",
    "one_or_many",
    "read_limit",
    "symbol_info",
]

DAY_MS = 86_400_000


MINUTE_MS = 60_000


COMMISSION_RATE = decimal(COMMISSION_BP * E8 // 10_000)


ZERO = decimal(0)


class TradingHub(Protocol):
    """What the methods read from the fake (the server state)."""

    exchange: Exchange

    def knows(self, symbol: str) -> bool: ...

    def touch(self, symbol: str) -> SymbolMarket: ...

    def known_symbols(self) -> list[str]: ...


@attrs.define
class Call:
    """One request as a handler sees it."""

    reader: Reader
    hub: TradingHub
    venue: str  # "spot" or "futures"
    now: int
    authenticate: Callable[[], FakeAccount]
    account: FakeAccount | None = None
    #: User-data events to deliver once the response is out.
    events: list[Event] = attrs.Factory(list)
    #: Orders placed (for the ORDERS counters).
    placed: int = 0

    def auth(self) -> FakeAccount:
        if self.account is None:
            self.account = self.authenticate()
        return self.account

    def market(self, symbol: str) -> SymbolMarket:
        """The market of a symbol the fake knows (it ticks from now on); else -1121."""
        lower = symbol.lower()
        if not lower.isalnum() or not self.hub.knows(lower):
            raise ApiError(400, -1121, "Invalid symbol.")
        return self.hub.touch(lower)


Weight = int | Callable[[dict[str, Any]], int]


@attrs.frozen
class Method:
    handler: Callable[[Call], Any]
    weight: Weight = 1
    signed: bool = False
    orders: bool = False
    #: Successful calls cost no weight (order placement and cancels since 2026-04-02).
    free_on_success: bool = False

    def weigh(self, params: dict[str, Any]) -> int:
        if isinstance(self.weight, int):
            return self.weight
        try:
            return self.weight(params)
        except (TypeError, ValueError):
            return 1


def count_of(params: dict[str, Any], single: str = "symbol", multi: str = "symbols") -> int | None:
    """How many symbols a request names (``None``: all)."""
    if params.get(single) not in (None, ""):
        return 1
    symbols = params.get(multi)
    if symbols in (None, ""):
        return None
    if isinstance(symbols, str):
        return max(1, symbols.count(",") + 1)
    return len(symbols) if isinstance(symbols, list) else 1


def read_limit(r: Reader, default: int, maximum: int) -> int:
    value = r.integer("limit", default=default)
    assert value is not None
    return max(1, min(value, maximum))


def one_or_many(call: Call, build: Callable[[SymbolMarket], Any], *, required: bool = False) -> Any:
    """A single object for ``symbol``, a list for ``symbols`` (or for every symbol)."""
    r = call.reader
    symbol = r.symbol(required=False)
    symbols = r.symbols()
    if symbol is not None and symbols is not None:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if symbol is None and symbols is None and required:
        raise either("symbol", "symbols")
    r.finish()
    if symbol is not None:
        return build(call.market(symbol))
    names = symbols if symbols is not None else call.hub.known_symbols()
    markets = [call.market(name) for name in names]
    return [build(m) for m in markets]


def symbol_info(market: SymbolMarket) -> SymbolInfo:
    return md.info(market)
