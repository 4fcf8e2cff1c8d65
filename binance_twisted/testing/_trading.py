"""The fake's Spot matching and accounting, per account, against the simulated market (pure).

Each :class:`~binance_twisted.testing.FakeAccount` has a :class:`SpotAccount`: balances
(``free``/``locked``), its orders and order lists, its trades, and its order-rate counters.
:class:`Exchange` (one per fake) places, cancels and reports orders:

* a taker order (``MARKET``, or a ``LIMIT`` whose price crosses the book) takes liquidity
  from the true book, level by level, as :meth:`SymbolMarket.match` finds it; the fills get
  real trade ids and show up in the trade streams with the next tick;
* what is left of a ``LIMIT``/``LIMIT_MAKER`` order rests as ``NEW`` (or
  ``PARTIALLY_FILLED``) and locks its funds; it fills later only when a test says so
  (:meth:`Exchange.fill_resting`); stop and take-profit orders rest untriggered;
* the commission is 0.1 % of what is received, in that asset;
* every change produces the user-data events Binance sends (``executionReport``,
  ``outboundAccountPosition``, ``listStatus``), returned for the caller to deliver.

Amounts are integers in units of 1e-8 and rendered with eight decimals. Errors are
:class:`~binance_twisted.testing._errors.ApiError` with Binance's codes and messages.
"""

from __future__ import annotations

import random
import string
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from binance_twisted.testing import _userevents
from binance_twisted.testing._errors import ApiError, mandatory
from binance_twisted.testing._limits import orders_limit
from binance_twisted.testing._market import E8, Market, SymbolMarket, decimal
from binance_twisted.testing._marketdata import (
    MAX_PRICE,
    MIN_NOTIONAL,
    SPOT_MAX_QTY,
    SPOT_MIN_QTY,
    SPOT_STEP,
    STP_MODES,
    split_symbol,
)
from binance_twisted.testing._params import Reader, either, not_required

__all__ = [
    "SEED_BALANCES",
    "Event",
    "Exchange",
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
_STOPS = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
_OPEN = frozenset({"NEW", "PARTIALLY_FILLED", "PENDING_NEW"})
_ID_ALPHABET = string.ascii_letters + string.digits
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
        tuple(types) if types is not None else ("LIMIT", "LIMIT_MAKER", "MARKET", *sorted(_STOPS))
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
    needs_stop = order_type in _STOPS
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


def _conditional(order: SpotOrder, report: dict[str, Any], *, always: bool = False) -> None:
    if always or order.type in _STOPS:
        report["stopPrice"] = decimal(order.stop_price)
    if order.trailing_delta is not None:
        report["trailingDelta"] = order.trailing_delta
        report["trailingTime"] = -1
    if always or order.iceberg_qty is not None:
        report["icebergQty"] = decimal(order.iceberg_qty or 0)
    if order.strategy_id is not None:
        report["strategyId"] = order.strategy_id
    if order.strategy_type is not None:
        report["strategyType"] = order.strategy_type


def ack(order: SpotOrder, now: int) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": now,
    }


def result(order: SpotOrder, now: int, resp_type: str = "RESULT") -> dict[str, Any]:
    """The ``order.place`` answer in the shape ``resp_type`` asks for."""
    report = ack(order, now)
    if resp_type == "ACK":
        return report
    report.update(
        price=decimal(order.price),
        origQty=decimal(order.orig_qty),
        executedQty=decimal(order.executed),
        origQuoteOrderQty=decimal(order.orig_quote_qty),
        cummulativeQuoteQty=decimal(order.cum_quote),
        status=order.status,
        timeInForce=order.time_in_force,
        type=order.type,
        side=order.side,
    )
    _conditional(order, report)
    report["workingTime"] = order.working_time
    if resp_type == "FULL":
        report["fills"] = [
            {
                "price": decimal(f.price),
                "qty": decimal(f.qty),
                "commission": decimal(f.commission),
                "commissionAsset": f.commission_asset,
                "tradeId": f.trade_id,
            }
            for f in order.fills
        ]
    report["selfTradePreventionMode"] = order.stp
    return report


def status_report(order: SpotOrder) -> dict[str, Any]:
    """An ``order.status`` / ``openOrders.status`` / ``allOrders`` entry."""
    report: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "price": decimal(order.price),
        "origQty": decimal(order.orig_qty),
        "executedQty": decimal(order.executed),
        "cummulativeQuoteQty": decimal(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    }
    _conditional(order, report, always=True)
    report.update(
        time=order.time,
        updateTime=order.update_time,
        isWorking=order.is_working,
        workingTime=order.working_time,
        origQuoteOrderQty=decimal(order.orig_quote_qty),
        selfTradePreventionMode=order.stp,
    )
    return report


def cancel_report(order: SpotOrder, orig_client_id: str, now: int) -> dict[str, Any]:
    report: dict[str, Any] = {
        "symbol": order.symbol,
        "origClientOrderId": orig_client_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": now,
        "price": decimal(order.price),
        "origQty": decimal(order.orig_qty),
        "executedQty": decimal(order.executed),
        "origQuoteOrderQty": decimal(order.orig_quote_qty),
        "cummulativeQuoteQty": decimal(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    }
    _conditional(order, report)
    report["selfTradePreventionMode"] = order.stp
    return report


def list_status(order_list: OrderList, orders: Iterable[SpotOrder]) -> dict[str, Any]:
    return {
        "orderListId": order_list.list_id,
        "contingencyType": order_list.contingency,
        "listStatusType": order_list.status_type,
        "listOrderStatus": order_list.order_status,
        "listClientOrderId": order_list.client_id,
        "transactionTime": order_list.time,
        "symbol": order_list.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in orders
        ],
    }


def execution_report(
    order: SpotOrder, exec_type: str, now: int, fill: Fill | None = None, orig_client: str = ""
) -> dict[str, Any]:
    """The ``executionReport`` of one change of ``order``."""
    fields: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": decimal(order.orig_qty),
        "p": decimal(order.price),
        "P": decimal(order.stop_price),
        "F": decimal(order.iceberg_qty or 0),
        "g": order.order_list_id,
        "C": orig_client,
        "x": exec_type,
        "X": order.status,
        "r": "NONE",
        "i": order.order_id,
        "l": decimal(fill.qty if fill else 0),
        "z": decimal(order.executed),
        "L": decimal(fill.price if fill else 0),
        "n": decimal(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": now,
        "t": fill.trade_id if fill else -1,
        "w": order.is_working,
        "m": fill.maker if fill else False,
        "O": order.time,
        "Z": decimal(order.cum_quote),
        "Y": decimal(fill.price * fill.qty // E8 if fill else 0),
        "Q": decimal(order.orig_quote_qty),
        "W": order.working_time,
        "V": order.stp,
    }
    if order.strategy_id is not None:
        fields["j"] = order.strategy_id
    if order.strategy_type is not None:
        fields["J"] = order.strategy_type
    return _userevents.execution_report(now, **fields)


# -- the exchange -----------------------------------------------------------------------------


class Exchange:
    """Order ids, and the rules that place, fill and cancel Spot orders, for one fake."""

    def __init__(self, market: Market, seed: int) -> None:
        self.market = market
        self._rng = random.Random(f"exchange {seed}")
        self._order_ids: dict[str, int] = {}
        self._next_list_id = self._rng.randint(1_000, 100_000)

    def client_id(self) -> str:
        """A fresh 22-character client order id, as Binance generates them."""
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(22))

    def order_id(self, symbol: str) -> int:
        next_id = self._order_ids.get(symbol)
        if next_id is None:
            next_id = self._rng.randint(1_000_000, 100_000_000)
        self._order_ids[symbol] = next_id + 1
        return next_id

    def list_id(self) -> int:
        self._next_list_id += 1
        return self._next_list_id - 1

    def symbol_market(self, symbol: str) -> SymbolMarket:
        return self.market.get(symbol.lower())

    # -- placement --------------------------------------------------------------------------

    def check_filters(self, market: SymbolMarket, request: OrderRequest) -> None:
        """PRICE_FILTER, LOT_SIZE and NOTIONAL (-1013), as exchangeInfo states them."""
        for price in (request.price, request.stop_price):
            if price is not None and (
                price < market.tick_size or price > MAX_PRICE or price % market.tick_size
            ):
                raise filter_failure("PRICE_FILTER")
        qty = request.quantity
        if qty is not None and (qty < SPOT_MIN_QTY or qty > SPOT_MAX_QTY or qty % SPOT_STEP):
            raise filter_failure("LOT_SIZE")
        if request.iceberg_qty is not None and qty is not None and request.iceberg_qty >= qty:
            raise rejected("IcebergQty exceeds QTY.")
        if request.quote_qty is not None:
            notional = request.quote_qty
        elif qty is not None:
            price = request.price if request.price is not None else market.stats.last
            notional = price * qty // E8
        else:  # pragma: no cover - read_order needs one of them
            notional = 0
        if notional < MIN_NOTIONAL:
            raise filter_failure("NOTIONAL")

    def _taker_fills(
        self, market: SymbolMarket, request: OrderRequest
    ) -> tuple[list[tuple[int, int]], bool]:
        """The fills a new order gets now, and whether it may rest afterwards."""
        buy = request.side == "BUY"
        if request.type == "MARKET":
            return market.match(buy, request.quantity, request.quote_qty, None, SPOT_STEP), False
        if request.type in _STOPS:
            return [], True
        assert request.price is not None and request.quantity is not None
        fills = market.match(buy, request.quantity, None, request.price, SPOT_STEP)
        if request.type == "LIMIT_MAKER":
            if fills:
                raise rejected("Order would immediately match and take.")
            return [], True
        if request.time_in_force == "FOK" and sum(q for _, q in fills) < request.quantity:
            return [], False
        return fills, request.time_in_force == "GTC"

    def _lock_of(self, request: OrderRequest, remaining: int) -> tuple[str, int]:
        base, quote = split_symbol(request.symbol)
        if request.side == "SELL":
            return base, remaining
        if request.price is None:  # a market-type stop buy locks nothing
            return quote, 0
        return quote, request.price * remaining // E8

    def place(
        self,
        account: SpotAccount,
        request: OrderRequest,
        now: int,
        *,
        test: bool = False,
        check_only: bool = False,
        order_list: OrderList | None = None,
        pending: bool = False,
        lock: bool = True,
    ) -> tuple[SpotOrder | None, list[Event]]:
        """Validate and (unless ``test``) execute one new order; ``(order, events)``.

        ``test`` (``order.test``) stops after the parameters and filters, as Binance's API
        server does; ``check_only`` also checks the balance.

        ``pending``: an order-list leg waiting for its working leg (``PENDING_NEW``, no
        matching, no lock). ``lock=False``: the list holds the lock (OCO legs).
        """
        market = self.symbol_market(request.symbol)
        self.check_filters(market, request)
        base, quote = split_symbol(request.symbol)
        buy = request.side == "BUY"
        client_id = request.client_order_id
        if client_id is not None and any(
            o.client_order_id == client_id and o.open and o.symbol == request.symbol
            for o in account.orders.values()
        ):
            raise rejected("Duplicate order sent.")
        fills, may_rest = ([], True) if pending else self._taker_fills(market, request)
        if test:
            return None, []
        filled = sum(q for _, q in fills)
        spent = sum(p * q // E8 for p, q in fills)
        orig_qty = request.quantity if request.quantity is not None else filled
        remaining = orig_qty - filled if may_rest else 0
        lock_asset, locked = self._lock_of(request, remaining) if lock and not pending else ("", 0)
        need_quote = (spent if buy else 0) + (locked if lock_asset == quote else 0)
        need_base = (0 if buy else filled) + (locked if lock_asset == base else 0)
        if not buy and request.quantity is not None:
            need_base = max(need_base, request.quantity)
        if account.free(quote) < need_quote or account.free(base) < need_base:
            raise rejected(INSUFFICIENT)
        if check_only:
            return None, []
        order = SpotOrder(
            symbol=request.symbol,
            order_id=self.order_id(request.symbol),
            client_order_id=client_id or self.client_id(),
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force or "GTC",
            price=request.price or 0,
            orig_qty=orig_qty,
            time=now,
            stop_price=request.stop_price or 0,
            trailing_delta=request.trailing_delta,
            iceberg_qty=request.iceberg_qty,
            orig_quote_qty=request.quote_qty or 0,
            order_list_id=order_list.list_id if order_list else -1,
            update_time=now,
            stp=request.stp,
            strategy_id=request.strategy_id,
            strategy_type=request.strategy_type,
        )
        account.orders[(order.symbol, order.order_id)] = order
        if pending:
            order.status = "PENDING_NEW"
        else:
            order.is_working = request.type not in _STOPS
            order.working_time = now if order.is_working else -1
        events: list[Event] = [("spot", execution_report(order, "NEW", now))]
        changed: set[str] = set()
        trades = market.fill(buy, fills, now) if fills else []
        for trade in trades:  # taker fills are paid from the free balance...
            fill = self._book_fill(account, order, trade.price, trade.qty, trade.id, False, now)
            events.append(("spot", execution_report(order, "TRADE", now, fill)))
            changed.update((base, quote))
        if locked:  # ...and what rests is locked
            order.lock_asset, order.locked = lock_asset, locked
            account.add(lock_asset, -locked, locked)
            changed.add(lock_asset)
        if pending:
            pass
        elif order.executed and order.executed >= order.orig_qty:
            order.status = "FILLED"
        elif not may_rest:
            order.status = "EXPIRED"
            order.is_working = False
            events.append(("spot", execution_report(order, "EXPIRED", now)))
        if order.status == "FILLED":
            order.is_working = False
        events.extend(self._position(account, changed, now))
        return order, events

    def _book_fill(
        self,
        account: SpotAccount,
        order: SpotOrder,
        price: int,
        qty: int,
        trade_id: int,
        maker: bool,
        now: int,
    ) -> Fill:
        """Move the money of one fill and record it on the order and the account."""
        base, quote = split_symbol(order.symbol)
        notional = price * qty // E8
        if order.side == "BUY":
            received, asset = qty, base
            if order.locked:
                release = min(order.locked, order.price * qty // E8)
                order.locked -= release
                account.add(quote, 0, -release)
                account.add(quote, release - notional)
            else:
                account.add(quote, -notional)
        else:
            received, asset = notional, quote
            if order.locked:
                release = min(order.locked, qty)
                order.locked -= release
                account.add(base, 0, -release)
                account.add(base, release - qty)
            else:
                account.add(base, -qty)
        commission = received * COMMISSION_BP // 10_000
        account.add(asset, received - commission)
        order.executed += qty
        order.cum_quote += notional
        order.update_time = now
        order.status = "FILLED" if order.executed >= order.orig_qty else "PARTIALLY_FILLED"
        fill = Fill(price, qty, commission, asset, trade_id, maker, now)
        order.fills.append(fill)
        account.update_time = now
        account.trades.append(
            {
                "symbol": order.symbol,
                "id": trade_id,
                "orderId": order.order_id,
                "orderListId": order.order_list_id,
                "price": decimal(price),
                "qty": decimal(qty),
                "quoteQty": decimal(notional),
                "commission": decimal(commission),
                "commissionAsset": asset,
                "time": now,
                "isBuyer": order.side == "BUY",
                "isMaker": maker,
                "isBestMatch": True,
            }
        )
        return fill

    def _position(self, account: SpotAccount, assets: Iterable[str], now: int) -> list[Event]:
        changed = sorted(set(assets))
        if not changed:
            return []
        account.update_time = now
        balances = {}
        for asset in changed:
            free, locked = account.balances.get(asset, [0, 0])
            balances[asset] = (decimal(free), decimal(locked))
        return [("spot", _userevents.outbound_account_position(now, balances, u=now))]

    # -- resting orders -----------------------------------------------------------------------

    def fill_resting(
        self, account: SpotAccount, order: SpotOrder, qty: int, price: int, now: int
    ) -> list[Event]:
        """Fill (part of) a resting order as the maker; the list's rules follow."""
        if not order.open or order.status == "PENDING_NEW" or not order.is_working:
            raise ValueError(f"order {order.order_id} is not working on the book")
        qty = min(qty, order.remaining)
        trade = self.symbol_market(order.symbol).record(order.side == "SELL", price, qty, now)
        fill = self._book_fill(account, order, price, qty, trade.id, True, now)
        events: list[Event] = [("spot", execution_report(order, "TRADE", now, fill))]
        if order.status == "FILLED":
            order.is_working = False
            self._release(account, order)
        base, quote = split_symbol(order.symbol)
        assets = {base, quote}
        if order.order_list_id != -1 and order.status == "FILLED":
            events.extend(self._list_progress(account, order, now, assets))
        events.extend(self._position(account, assets, now))
        return events

    def _release(self, account: SpotAccount, order: SpotOrder) -> None:
        if order.locked:
            account.add(order.lock_asset, order.locked, -order.locked)
            order.locked = 0

    def _list_progress(
        self, account: SpotAccount, filled: SpotOrder, now: int, assets: set[str]
    ) -> list[Event]:
        order_list = account.lists[filled.order_list_id]
        legs = [account.orders[(order_list.symbol, i)] for i in order_list.order_ids]
        events: list[Event] = []
        pending = [o for o in legs if o.status == "PENDING_NEW"]
        if order_list.contingency == "OTO" and pending:
            for leg in pending:  # the working order filled: the pending legs go live
                leg.status = "NEW"
                leg.is_working = leg.type not in _STOPS
                leg.working_time = now if leg.is_working else -1
                leg.update_time = now
                request = OrderRequest(leg.symbol, leg.side, leg.type, price=leg.price or None)
                asset, amount = self._lock_of(request, leg.remaining)
                amount = min(amount, account.free(asset)) if len(pending) == 1 else amount
                if len(pending) == 2:  # the OCO pair shares one lock
                    amount = 0
                if amount:
                    leg.lock_asset, leg.locked = asset, amount
                    account.add(asset, -amount, amount)
                    assets.add(asset)
                events.append(("spot", execution_report(leg, "NEW", now)))
            if len(pending) == 2:
                request = OrderRequest(
                    pending[0].symbol,
                    pending[0].side,
                    "LIMIT",
                    price=max(o.price for o in pending) or None,
                )
                asset, amount = self._lock_of(request, pending[0].remaining)
                amount = min(amount, account.free(asset))
                order_list.lock_asset, order_list.locked = asset, amount
                account.add(asset, -amount, amount)
                assets.add(asset)
            return events
        # an OCO leg filled: the other one expires, the list is done
        for leg in legs:
            if leg is not filled and leg.open:
                leg.status = "EXPIRED"
                leg.is_working = False
                leg.update_time = now
                self._release(account, leg)
                events.append(("spot", execution_report(leg, "EXPIRED", now)))
        if order_list.locked:
            account.add(order_list.lock_asset, order_list.locked, -order_list.locked)
            assets.add(order_list.lock_asset)
            order_list.locked = 0
        order_list.status_type = order_list.order_status = "ALL_DONE"
        order_list.time = now
        events.append(("spot", self._list_event(order_list, legs, now)))
        return events

    def _list_event(self, order_list: OrderList, legs: list[SpotOrder], now: int) -> dict:
        return {
            "e": "listStatus",
            "E": now,
            "s": order_list.symbol,
            "g": order_list.list_id,
            "c": order_list.contingency,
            "l": order_list.status_type,
            "L": order_list.order_status,
            "r": "NONE",
            "C": order_list.client_id,
            "T": now,
            "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in legs],
        }

    # -- cancels ----------------------------------------------------------------------------

    def cancel(
        self,
        account: SpotAccount,
        order: SpotOrder,
        now: int,
        new_client_id: str | None = None,
        restriction: str | None = None,
    ) -> tuple[dict[str, Any], list[Event]]:
        """Cancel an open order (its whole list if it has one); ``(report, events)``."""
        if not order.open:
            raise cancel_rejected()
        if (restriction == "ONLY_NEW" and order.status != "NEW") or (
            restriction == "ONLY_PARTIALLY_FILLED" and order.status != "PARTIALLY_FILLED"
        ):
            raise cancel_rejected("Order was not canceled due to cancel restrictions.")
        if order.order_list_id != -1:
            return self.cancel_list(account, account.lists[order.order_list_id], now, new_client_id)
        events: list[Event] = []
        report = self._cancel_one(account, order, now, new_client_id, events)
        events.extend(self._position(account, [order.lock_asset] if order.lock_asset else [], now))
        return report, events

    def _cancel_one(
        self,
        account: SpotAccount,
        order: SpotOrder,
        now: int,
        new_client_id: str | None,
        events: list[Event],
    ) -> dict[str, Any]:
        orig = order.client_order_id
        order.client_order_id = new_client_id or self.client_id()
        order.status = "CANCELED"
        order.is_working = False
        order.update_time = now
        self._release(account, order)
        events.append(("spot", execution_report(order, "CANCELED", now, orig_client=orig)))
        return cancel_report(order, orig, now)

    def cancel_list(
        self,
        account: SpotAccount,
        order_list: OrderList,
        now: int,
        new_client_id: str | None = None,
    ) -> tuple[dict[str, Any], list[Event]]:
        if order_list.status_type == "ALL_DONE":
            raise cancel_rejected()
        legs = [account.orders[(order_list.symbol, i)] for i in order_list.order_ids]
        events: list[Event] = []
        reports = []
        assets = {o.lock_asset for o in legs if o.lock_asset}
        for leg in legs:
            if leg.open:
                reports.append(self._cancel_one(account, leg, now, None, events))
            else:
                reports.append(cancel_report(leg, leg.client_order_id, now))
        if order_list.locked:
            account.add(order_list.lock_asset, order_list.locked, -order_list.locked)
            assets.add(order_list.lock_asset)
            order_list.locked = 0
        order_list.status_type = order_list.order_status = "ALL_DONE"
        order_list.client_id = new_client_id or self.client_id()
        order_list.time = now
        events.append(("spot", self._list_event(order_list, legs, now)))
        events.extend(self._position(account, assets, now))
        return {**list_status(order_list, legs), "orderReports": reports}, events

    # -- order lists ----------------------------------------------------------------------

    def place_list(
        self,
        account: SpotAccount,
        contingency: str,
        symbol: str,
        legs: list[tuple[OrderRequest, bool]],
        now: int,
        list_client_id: str | None,
        resp_type: str,
        oco_lock: tuple[str, int] | None = None,
    ) -> tuple[dict[str, Any], list[Event]]:
        """Place an OCO / OTO / OTOCO: ``legs`` are ``(request, pending)``."""
        if list_client_id is not None and any(
            ol.client_id == list_client_id and ol.status_type != "ALL_DONE"
            for ol in account.lists.values()
        ):
            raise rejected("Duplicate order sent.")
        market = self.symbol_market(symbol)
        for request, _ in legs:
            self.check_filters(market, request)
            if request.type == "LIMIT_MAKER" and request.price is not None:
                buy = request.side == "BUY"
                if market.match(buy, request.quantity, None, request.price, SPOT_STEP):
                    raise rejected("Order would immediately match and take.")
        if oco_lock is not None and account.free(oco_lock[0]) < oco_lock[1]:
            raise rejected(INSUFFICIENT)
        for request, pending in legs:  # dry run: the balances of each leg on its own
            if not pending and oco_lock is None:
                self.place(account, request, now, check_only=True)
        order_list = OrderList(
            self.list_id(), list_client_id or self.client_id(), contingency, symbol, [], now
        )
        account.lists[order_list.list_id] = order_list
        orders: list[SpotOrder] = []
        events: list[Event] = []
        assets: set[str] = set()
        for request, pending in legs:
            request.resp_type = "RESULT"
            order, placed = self.place(
                account,
                request,
                now,
                order_list=order_list,
                pending=pending,
                lock=oco_lock is None,
            )
            assert order is not None
            order_list.order_ids.append(order.order_id)
            orders.append(order)
            events.extend(e for e in placed if e[1]["e"] == "executionReport")
            assets.update(split_symbol(symbol))
        if oco_lock is not None and oco_lock[1]:
            order_list.lock_asset, order_list.locked = oco_lock
            account.add(oco_lock[0], -oco_lock[1], oco_lock[1])
        events.insert(0, ("spot", self._list_event(order_list, orders, now)))
        events.extend(self._position(account, assets, now))
        answer = list_status(order_list, orders)
        if resp_type != "ACK":
            answer["orderReports"] = [result(o, now, resp_type) for o in orders]
        return answer, events


Clock = Callable[[], int]
