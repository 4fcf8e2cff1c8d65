"""The fake's Spot matching and accounting, per account, against the simulated market (pure).

Each :class:`~binance_twisted.testing.FakeAccount` has a :class:`SpotAccount`: balances
(``free``/``locked``), its orders and order lists, its trades, and its order-rate counters.
:class:`~._exchange.Exchange` (one per fake) places, cancels and reports orders:

* a taker order (``MARKET``, or a ``LIMIT`` whose price crosses the book) takes liquidity
  from the true book, level by level, as :meth:`SymbolMarket.match` finds it; the fills get
  real trade ids and show up in the trade streams with the next tick;
* what is left of a ``LIMIT``/``LIMIT_MAKER`` order rests as ``NEW`` (or
  ``PARTIALLY_FILLED``) and locks its funds; it fills later only when a test says so
  (:meth:`~._exchange.Exchange.fill_resting`); stop and take-profit orders rest untriggered;
* the commission is 0.1 % of what is received, in that asset;
* every change produces the user-data events Binance sends (``executionReport``,
  ``outboundAccountPosition``, ``listStatus``), returned for the caller to deliver.

This module holds the accounts, orders and order requests; the wire shapes are in
:mod:`._trading_reports`. Amounts are integers in units of 1e-8 and rendered with eight
decimals. Errors are
:class:`~binance_twisted.testing._errors.ApiError` with Binance's codes and messages.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from binance_twisted.testing._errors import ApiError, mandatory
from binance_twisted.testing._limits import orders_limit
from binance_twisted.testing._market import E8, decimal
from binance_twisted.testing._marketdata import (
    STP_MODES,
)
from binance_twisted.testing._params import Reader, either, not_required

__all__ = [
    "SEED_BALANCES",
    "Event",
    "OrderRequest",
    "SpotAccount",
    "read_order",
]

#: Every new account starts with these Spot balances.
SEED_BALANCES = {"BTC": 10 * E8, "USDT": 100_000 * E8}
#: Commission in basis points of the received asset (0.1 %).
COMMISSION_BP = 10
SIDES = ("BUY", "SELL")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_LIMITS = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
_OPEN = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})
ID_ALPHABET = string.ascii_letters + string.digits
_TEN_SECONDS = 10_000
_DAY_MS = 86_400_000
ORDERS_PER_10S = 50
ORDERS_PER_DAY = 160_000

#: A user-data event to deliver: ``(product, event)``.
Event = tuple[str, dict[str, Any]]


def rejected(msg: str) -> ApiError:
    """400 -2010 with one of the matching engine's messages."""
    return ApiError(400, -2010, msg)


def filter_failure(name: str) -> ApiError:
    """400 -1013."""
    return ApiError(400, -1013, f"Filter failure: {name}")


UNKNOWN_ORDER = "Unknown order sent."
INSUFFICIENT = "Account has insufficient balance for requested action."


def no_such_order() -> ApiError:
    """400 -2013 (queries)."""
    return ApiError(400, -2013, "Order does not exist.")


def cancel_rejected(msg: str = UNKNOWN_ORDER) -> ApiError:
    """400 -2011 (cancels)."""
    return ApiError(400, -2011, msg)


# -- requests ---------------------------------------------------------------------------------


@attrs.define
class OrderRequest:
    """A validated new order (of ``order.place`` or one leg of an order list)."""

    symbol: str
    side: str
    type: str
    time_in_force: str | None = None
    price: int | None = None
    quantity: int | None = None
    quote_qty: int | None = None
    client_order_id: str | None = None
    stop_price: int | None = None
    trailing_delta: int | None = None
    iceberg_qty: int | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None
    stp: str = "EXPIRE_MAKER"
    resp_type: str = "FULL"


def read_order(
    reader: Reader,
    symbol: str,
    *,
    prefix: str = "",
    side: str | None = None,
    quantity: int | None = None,
    types: Iterable[str] | None = None,
) -> OrderRequest:
    """Read ``order.place``'s parameters (or an order-list leg's, named with ``prefix``).

    Raises -1102 for what the type needs and is missing, -1106 for what it does not take,
    -1116/-1117/-1115 for bad enums.
    """

    def name(field: str) -> str:
        return prefix + field[0].upper() + field[1:] if prefix else field

    allowed = (
        tuple(types)
        if types is not None
        else ("LIMIT", "LIMIT_MAKER", "MARKET", *sorted(STOP_TYPES))
    )
    if side is None:
        side = reader.choice(
            name("side"), SIDES, ApiError(400, -1117, "Invalid side."), required=True
        )
    assert side is not None
    order_type = reader.choice(
        name("type"), allowed, ApiError(400, -1116, "Invalid orderType."), required=True
    )
    assert order_type is not None
    request = OrderRequest(symbol, side, order_type)
    tif = reader.choice(
        name("timeInForce"), TIME_IN_FORCE, ApiError(400, -1115, "Invalid timeInForce.")
    )
    price = reader.amount(name("price"))
    if quantity is None:
        quantity = reader.amount(name("quantity"))
    quote_qty = reader.amount("quoteOrderQty") if not prefix else None
    stop_price = reader.amount(name("stopPrice"))
    trailing = reader.integer(name("trailingDelta"))
    iceberg = reader.amount(name("icebergQty"))
    request.client_order_id = reader.string(name("clientOrderId") if prefix else "newClientOrderId")
    request.strategy_id = reader.integer(name("strategyId"))
    request.strategy_type = reader.integer(name("strategyType"))
    if request.strategy_type is not None and request.strategy_type < 1_000_000:
        raise ApiError(400, -1134, "`strategyType` was less than 1000000.")
    if not prefix:
        request.stp = (
            reader.choice("selfTradePreventionMode", STP_MODES, default="EXPIRE_MAKER")
            or "EXPIRE_MAKER"
        )
        default_resp = "FULL" if order_type in ("LIMIT", "MARKET") else "ACK"
        request.resp_type = (
            reader.choice("newOrderRespType", RESPONSE_TYPES, default=default_resp) or default_resp
        )
    needs_tif = order_type in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    needs_price = order_type in _LIMITS
    needs_stop = order_type in STOP_TYPES
    if order_type == "MARKET":
        if quantity is None and quote_qty is None:
            raise either("quantity", "quoteOrderQty")
        if quantity is not None and quote_qty is not None:
            raise not_required("quoteOrderQty")
    else:
        if quantity is None:
            raise mandatory(name("quantity"))
        if quote_qty is not None:
            raise not_required("quoteOrderQty")
    if needs_price and price is None:
        raise mandatory(name("price"))
    if not needs_price and price is not None:
        raise not_required(name("price"))
    if needs_tif and tif is None:
        raise mandatory(name("timeInForce"))
    if not needs_tif and tif is not None:
        raise not_required(name("timeInForce"))
    if needs_stop and stop_price is None and trailing is None:
        raise either(name("stopPrice"), name("trailingDelta"))
    if not needs_stop and (stop_price is not None or trailing is not None):
        raise not_required(name("stopPrice" if stop_price is not None else "trailingDelta"))
    if iceberg is not None and (order_type not in _LIMITS or (tif not in (None, "GTC"))):
        raise rejected("Unsupported order combination")
    request.time_in_force = tif if needs_tif else ("GTC" if needs_price else None)
    request.price, request.quantity, request.quote_qty = price, quantity, quote_qty
    request.stop_price, request.trailing_delta, request.iceberg_qty = stop_price, trailing, iceberg
    return request


# -- state --------------------------------------------------------------------------------------


@attrs.define(eq=False)
class Fill:
    price: int
    qty: int
    commission: int
    commission_asset: str
    trade_id: int
    maker: bool
    time: int


@attrs.define(eq=False)
class SpotOrder:
    """One order of one account, with everything its reports show."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: int
    orig_qty: int
    time: int
    stop_price: int = 0
    trailing_delta: int | None = None
    iceberg_qty: int | None = None
    orig_quote_qty: int = 0
    order_list_id: int = -1
    executed: int = 0
    cum_quote: int = 0
    status: str = "NEW"
    update_time: int = 0
    working_time: int = -1
    is_working: bool = False
    stp: str = "EXPIRE_MAKER"
    strategy_id: int | None = None
    strategy_type: int | None = None
    lock_asset: str = ""
    locked: int = 0
    fills: list[Fill] = attrs.Factory(list)

    @property
    def open(self) -> bool:
        return self.status in _OPEN

    @property
    def remaining(self) -> int:
        return self.orig_qty - self.executed


@attrs.define(eq=False)
class OrderList:
    list_id: int
    client_id: str
    contingency: str
    symbol: str
    order_ids: list[int]
    time: int
    status_type: str = "EXEC_STARTED"
    order_status: str = "EXECUTING"
    lock_asset: str = ""
    locked: int = 0


class SpotAccount:
    """One account's Spot wallet, orders, order lists, trades and order counts."""

    def __init__(self, balances: Mapping[str, int] = SEED_BALANCES) -> None:
        self.balances: dict[str, list[int]] = {a: [v, 0] for a, v in balances.items()}
        self.orders: dict[tuple[str, int], SpotOrder] = {}
        self.lists: dict[int, OrderList] = {}
        self.trades: list[dict[str, Any]] = []
        self.update_time = 0
        self.placed: deque[int] = deque()

    def free(self, asset: str) -> int:
        return self.balances.get(asset, [0, 0])[0]

    def add(self, asset: str, free: int = 0, locked: int = 0) -> None:
        entry = self.balances.setdefault(asset, [0, 0])
        entry[0] += free
        entry[1] += locked

    def set(self, asset: str, free: int, locked: int) -> None:
        self.balances[asset] = [free, locked]

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> SpotOrder | None:
        """By ``orderId`` (then checked against ``client_id``), else by client order id."""
        if order_id is not None:
            order = self.orders.get((symbol, order_id))
            if order is None or (client_id is not None and order.client_order_id != client_id):
                return None
            return order
        matches = [
            o for (s, _), o in self.orders.items() if s == symbol and o.client_order_id == client_id
        ]
        open_ones = [o for o in matches if o.open]
        chosen = open_ones or matches
        return chosen[-1] if chosen else None

    def count_orders(self, now: int, n: int = 0) -> tuple[int, int]:
        """Add ``n`` placed orders; this 10-second window's and this day's counts."""
        for _ in range(n):
            self.placed.append(now)
        day = now // _DAY_MS * _DAY_MS
        while self.placed and self.placed[0] < day:
            self.placed.popleft()
        window = now // _TEN_SECONDS * _TEN_SECONDS
        recent = 0
        for placed_at in reversed(self.placed):
            if placed_at < window:
                break
            recent += 1
        return recent, len(self.placed)

    def rate_limits(self, now: int) -> list[dict[str, Any]]:
        """The ``ORDERS`` entries of ``rateLimits`` (and of ``account.rateLimits.orders``)."""
        recent, today = self.count_orders(now)
        return [
            orders_limit("SECOND", 10, ORDERS_PER_10S, recent),
            orders_limit("DAY", 1, ORDERS_PER_DAY, today),
        ]

    def balance_rows(self, omit_zero: bool = False) -> list[dict[str, str]]:
        return [
            {"asset": asset, "free": decimal(free), "locked": decimal(locked)}
            for asset, (free, locked) in sorted(self.balances.items())
            if not (omit_zero and free == 0 and locked == 0)
        ]


# -- reports ------------------------------------------------------------------------------------


# -- the exchange -----------------------------------------------------------------------------


Clock = Callable[[], int]
