"""The market-data, trading and account methods of the fake's WebSocket API.

Each method is a :class:`Method`: a handler taking a :class:`Call`, a weight (fixed, or
computed from the params as Binance documents it), whether it needs a signed account, and
whether it counts toward the ``ORDERS`` limits. :data:`SPOT` serves ``/ws-api/v3``,
:data:`FUTURES` ``/ws-fapi/v1``. The session and user-data-stream methods live with the
connection (:mod:`binance_twisted.testing._wsapi`).

Handlers read every parameter through the call's :class:`~._params.Reader` and call
``reader.finish()`` before changing any state, so an unknown parameter (-1104) never leaves
a half-done order behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from binance_twisted.testing import _futures
from binance_twisted.testing import _marketdata as md
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._market import E8, SymbolMarket, decimal
from binance_twisted.testing._marketdata import SymbolInfo, split_symbol
from binance_twisted.testing._names import KLINE_INTERVALS
from binance_twisted.testing._params import Reader, either
from binance_twisted.testing._trading import (
    COMMISSION_BP,
    ORDERS_PER_10S,
    Event,
    Exchange,
    OrderList,
    OrderRequest,
    SpotOrder,
    cancel_rejected,
    list_status,
    no_such_order,
    read_order,
    result,
    status_report,
)
from binance_twisted.testing._userdata import FakeAccount

__all__ = ["FUTURES", "SPOT", "Call", "Method", "TradingHub"]

_DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_RATE = decimal(COMMISSION_BP * E8 // 10_000)
_ZERO = decimal(0)


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


# -- shared helpers -----------------------------------------------------------------------------


def _count(params: dict[str, Any], single: str = "symbol", multi: str = "symbols") -> int | None:
    """How many symbols a request names (``None``: all)."""
    if params.get(single) not in (None, ""):
        return 1
    symbols = params.get(multi)
    if symbols in (None, ""):
        return None
    if isinstance(symbols, str):
        return max(1, symbols.count(",") + 1)
    return len(symbols) if isinstance(symbols, list) else 1


def _limit(r: Reader, default: int, maximum: int) -> int:
    value = r.integer("limit", default=default)
    assert value is not None
    return max(1, min(value, maximum))


def _one_or_many(
    call: Call, build: Callable[[SymbolMarket], Any], *, required: bool = False
) -> Any:
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


def _symbol_info(market: SymbolMarket) -> SymbolInfo:
    return md.info(market)


# -- Spot market data -----------------------------------------------------------------------


def exchange_info(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol(required=False)
    symbols = r.symbols()
    permissions = r.raw("permissions")
    show = r.boolean("showPermissionSets", True)
    status = r.choice(
        "symbolStatus", ("TRADING", "HALT", "BREAK"), ApiError(400, -1122, "Invalid symbolStatus.")
    )
    given = [x for x in (symbol, symbols, permissions) if x is not None]
    if len(given) > 1 or (status is not None and (symbol or symbols)):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    r.finish()
    hub = call.hub
    if symbol is not None or symbols is not None:
        names = [symbol] if symbol is not None else list(symbols or [])
        for name in names:
            if not hub.knows(name.lower()):
                raise ApiError(400, -1121, "Invalid symbol.")
    else:
        names = hub.known_symbols()
        wanted = {permissions} if isinstance(permissions, str) else set(permissions or [])
        if status in ("HALT", "BREAK") or (wanted and not wanted & {"SPOT", "MARGIN"}):
            names = []
    infos = [_symbol_info(hub.exchange.symbol_market(n)) for n in names]
    return md.exchange_info(infos, call.now, show)


def _depth_weight(params: dict[str, Any]) -> int:
    limit = int(params.get("limit") or 100)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def depth(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = _limit(r, 100, 5000)
    r.finish()
    assert symbol is not None
    return md.depth(call.market(symbol), limit)


def trades_recent(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = _limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.trades(call.market(symbol), limit)


def trades_historical(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    from_id = r.integer("fromId")
    limit = _limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.trades(call.market(symbol), limit, from_id)


def trades_aggregate(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    from_id = r.integer("fromId")
    start, end = r.integer("startTime"), r.integer("endTime")
    limit = _limit(r, 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    r.finish()
    assert symbol is not None
    return md.agg_trades(call.market(symbol), limit, from_id, start, end)


def klines(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    interval = r.choice(
        "interval", KLINE_INTERVALS, ApiError(400, -1120, "Invalid interval."), required=True
    )
    start, end = r.integer("startTime"), r.integer("endTime")
    offset = md.parse_time_zone(r.string("timeZone"))
    limit = _limit(r, 500, 1000)
    r.finish()
    assert symbol is not None and interval is not None
    return md.klines(
        call.market(symbol), interval, call.now, limit=limit, start=start, end=end, offset=offset
    )


def avg_price(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    r.finish()
    assert symbol is not None
    return md.avg_price(call.market(symbol))


def _ticker_type(r: Reader) -> bool:
    kind = r.choice(
        "type", ("FULL", "MINI"), ApiError(400, -1139, "Invalid ticker type."), default="FULL"
    )
    return kind == "MINI"


def _24hr_weight(params: dict[str, Any]) -> int:
    count = _count(params)
    return 80 if count is None or count > 100 else 40 if count > 20 else 2


def ticker_24hr(call: Call) -> Any:
    mini = _ticker_type(call.reader)
    now = call.now
    return _one_or_many(call, lambda m: md.ticker(m, now - _DAY_MS, now, mini=mini, book=not mini))


def _per_symbol_weight(params: dict[str, Any]) -> int:
    count = _count(params) or 1
    return min(4 * count, 200)


def ticker_trading_day(call: Call) -> Any:
    r = call.reader
    mini = _ticker_type(r)
    offset = md.parse_time_zone(r.string("timeZone"))
    local = call.now + offset
    opened = local // _DAY_MS * _DAY_MS - offset
    return _one_or_many(
        call, lambda m: md.ticker(m, opened, opened + _DAY_MS - 1, mini=mini), required=True
    )


def ticker_rolling(call: Call) -> Any:
    r = call.reader
    mini = _ticker_type(r)
    window = md.parse_window(r.string("windowSize"))
    now = call.now
    opened = (now - window) // _MINUTE_MS * _MINUTE_MS
    return _one_or_many(call, lambda m: md.ticker(m, opened, now, mini=mini), required=True)


def _2_or_4(params: dict[str, Any]) -> int:
    return 2 if params.get("symbol") not in (None, "") else 4


def ticker_price(call: Call) -> Any:
    return _one_or_many(call, md.price_ticker)


def ticker_book(call: Call) -> Any:
    return _one_or_many(call, md.book_ticker)


# -- Spot account and orders --------------------------------------------------------------------


def _check_order_rate(account: FakeAccount, now: int, n: int) -> None:
    recent, _ = account.spot.count_orders(now)
    if recent + n > ORDERS_PER_10S:
        msg = f"Too many new orders; current limit is {ORDERS_PER_10S} orders per 10 SECOND."
        raise ApiError(429, -1015, msg)


def account_status(call: Call) -> Any:
    account = call.auth()
    omit = call.reader.boolean("omitZeroBalances")
    call.reader.finish()
    spot = account.spot
    return {
        "makerCommission": COMMISSION_BP,
        "takerCommission": COMMISSION_BP,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "commissionRates": {"maker": _RATE, "taker": _RATE, "buyer": _ZERO, "seller": _ZERO},
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": spot.update_time,
        "accountType": "SPOT",
        "balances": spot.balance_rows(omit),
        "permissions": ["SPOT"],
        "uid": _uid(account),
    }


def _uid(account: FakeAccount) -> int:
    return int.from_bytes(hashlib.sha256(account.api_key.encode()).digest()[:4], "big")


def account_rate_limits(call: Call) -> Any:
    account = call.auth()
    call.reader.finish()
    return account.spot.rate_limits(call.now)


def account_commission(call: Call) -> Any:
    call.auth()
    symbol = call.reader.symbol()
    call.reader.finish()
    assert symbol is not None
    call.market(symbol)
    return {
        "symbol": symbol,
        "standardCommission": {"maker": _RATE, "taker": _RATE, "buyer": _ZERO, "seller": _ZERO},
        "taxCommission": {"maker": _ZERO, "taker": _ZERO, "buyer": _ZERO, "seller": _ZERO},
        "discount": {
            "enabledForAccount": True,
            "enabledForSymbol": True,
            "discountAsset": "BNB",
            "discount": "0.25000000",
        },
    }


def _find(
    call: Call,
    id_name: str = "orderId",
    client_name: str = "origClientOrderId",
) -> tuple[str, int | None, str | None]:
    r = call.reader
    symbol = r.symbol()
    order_id = r.integer(id_name)
    client_id = r.string(client_name)
    if order_id is None and client_id is None:
        raise either(id_name, client_name)
    assert symbol is not None
    return symbol, order_id, client_id


def order_status(call: Call) -> Any:
    account = call.auth()
    symbol, order_id, client_id = _find(call)
    call.reader.finish()
    call.market(symbol)
    order = account.spot.find(symbol, order_id, client_id)
    if order is None:
        raise no_such_order()
    return status_report(order)


def _open_weight(params: dict[str, Any]) -> int:
    return 6 if params.get("symbol") not in (None, "") else 80


def open_orders_status(call: Call) -> Any:
    account = call.auth()
    symbol = call.reader.symbol(required=False)
    call.reader.finish()
    if symbol is not None:
        call.market(symbol)
    return [
        status_report(o)
        for o in account.spot.orders.values()
        if o.open and (symbol is None or o.symbol == symbol)
    ]


def _window(r: Reader) -> tuple[int | None, int | None]:
    start, end = r.integer("startTime"), r.integer("endTime")
    if start is not None and end is not None and end - start > _DAY_MS:
        raise ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
    return start, end


def _select(
    items: Iterable[Any],
    limit: int,
    start: int | None,
    end: int | None,
    key_time: Callable[[Any], int],
    key_id: Callable[[Any], int],
    from_id: int | None,
) -> list[Any]:
    chosen = list(items)
    if start is not None or end is not None:
        chosen = [
            x
            for x in chosen
            if (start is None or key_time(x) >= start) and (end is None or key_time(x) <= end)
        ][:limit]
    elif from_id is not None:
        chosen = sorted((x for x in chosen if key_id(x) >= from_id), key=key_id)[:limit]
    else:
        chosen = chosen[-limit:]
    return chosen


def all_orders(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    from_id = r.integer("orderId")
    start, end = _window(r)
    limit = _limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    call.market(symbol)
    orders = [o for o in account.spot.orders.values() if o.symbol == symbol]
    chosen = _select(
        orders, limit, start, end, lambda o: o.update_time, lambda o: o.order_id, from_id
    )
    return [status_report(o) for o in chosen]


def _my_trades_weight(params: dict[str, Any]) -> int:
    return 5 if params.get("orderId") not in (None, "") else 20


def my_trades(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    order_id = r.integer("orderId")
    start, end = _window(r)
    from_id = r.integer("fromId")
    limit = _limit(r, 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if order_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    r.finish()
    assert symbol is not None
    call.market(symbol)
    trades = [
        t
        for t in account.spot.trades
        if t["symbol"] == symbol and (order_id is None or t["orderId"] == order_id)
    ]
    return _select(trades, limit, start, end, lambda t: t["time"], lambda t: t["id"], from_id)


def _new_order(call: Call) -> tuple[FakeAccount, OrderRequest]:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    assert symbol is not None
    request = read_order(r, symbol)
    return account, request


def order_place(call: Call) -> Any:
    account, request = _new_order(call)
    call.reader.finish()
    call.market(request.symbol)
    _check_order_rate(account, call.now, 1)
    order, events = call.hub.exchange.place(account.spot, request, call.now)
    assert order is not None
    call.placed, call.events = 1, events
    return result(order, call.now, request.resp_type)


def _order_test_weight(params: dict[str, Any]) -> int:
    return 20 if str(params.get("computeCommissionRates", "")).lower() == "true" else 1


def order_test(call: Call) -> Any:
    account, request = _new_order(call)
    rates = call.reader.boolean("computeCommissionRates")
    call.reader.finish()
    call.market(request.symbol)
    call.hub.exchange.place(account.spot, request, call.now, test=True)
    if not rates:
        return {}
    return {
        "standardCommissionForOrder": {"maker": _RATE, "taker": _RATE},
        "taxCommissionForOrder": {"maker": _ZERO, "taker": _ZERO},
        "discount": {
            "enabledForAccount": True,
            "enabledForSymbol": True,
            "discountAsset": "BNB",
            "discount": "0.25000000",
        },
    }


_RESTRICTIONS = ApiError(400, -1145, "Invalid cancelRestrictions")


def order_cancel(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol, order_id, client_id = _find(call)
    new_client = r.string("newClientOrderId")
    restriction = r.choice(
        "cancelRestrictions", ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"), _RESTRICTIONS
    )
    r.finish()
    call.market(symbol)
    order = account.spot.find(symbol, order_id, client_id)
    if order is None:
        raise cancel_rejected()
    answer, call.events = call.hub.exchange.cancel(
        account.spot, order, call.now, new_client, restriction
    )
    return answer


def open_orders_cancel_all(call: Call) -> Any:
    account = call.auth()
    symbol = call.reader.symbol()
    call.reader.finish()
    assert symbol is not None
    call.market(symbol)
    spot = account.spot
    open_orders = [o for o in spot.orders.values() if o.open and o.symbol == symbol]
    if not open_orders:
        raise cancel_rejected()
    answers = []
    done_lists: set[int] = set()
    for order in open_orders:
        if order.order_list_id in done_lists or not order.open:
            continue
        answer, events = call.hub.exchange.cancel(spot, order, call.now)
        if order.order_list_id != -1:
            done_lists.add(order.order_list_id)
        answers.append(answer)
        call.events.extend(events)
    return answers


def order_cancel_replace(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    assert symbol is not None
    mode = r.choice("cancelReplaceMode", ("STOP_ON_FAILURE", "ALLOW_FAILURE"), required=True)
    cancel_id = r.integer("cancelOrderId")
    cancel_client = r.string("cancelOrigClientOrderId")
    if cancel_id is None and cancel_client is None:
        raise either("cancelOrderId", "cancelOrigClientOrderId")
    cancel_new_client = r.string("cancelNewClientOrderId")
    restriction = r.choice(
        "cancelRestrictions", ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"), _RESTRICTIONS
    )
    r.choice("orderRateLimitExceededMode", ("DO_NOTHING", "CANCEL_ONLY"))
    request = read_order(r, symbol)
    r.finish()
    exchange = call.hub.exchange
    exchange.check_filters(call.market(symbol), request)
    _check_order_rate(account, call.now, 1)
    call.placed = 1
    spot = account.spot
    cancel_answer: Any
    new_answer: Any = None
    try:
        order = spot.find(symbol, cancel_id, cancel_client)
        if order is None:
            raise cancel_rejected()
        cancel_answer, events = exchange.cancel(
            spot, order, call.now, cancel_new_client, restriction
        )
        call.events.extend(events)
        cancelled = True
    except ApiError as error:
        cancel_answer, cancelled = error.error(), False
    placed = False
    if cancelled or mode == "ALLOW_FAILURE":
        try:
            new_order, events = exchange.place(spot, request, call.now)
            assert new_order is not None
            new_answer = result(new_order, call.now, request.resp_type)
            call.events.extend(events)
            placed = True
        except ApiError as error:
            new_answer = error.error()
    data = {
        "cancelResult": "SUCCESS" if cancelled else "FAILURE",
        "newOrderResult": "SUCCESS"
        if placed
        else ("FAILURE" if cancelled or mode == "ALLOW_FAILURE" else "NOT_ATTEMPTED"),
        "cancelResponse": cancel_answer,
        "newOrderResponse": new_answer,
    }
    if cancelled and placed:
        return data
    if cancelled or placed:
        raise ApiError(409, -2021, "Order cancel-replace partially failed.", data)
    raise ApiError(400, -2022, "Order cancel-replace failed.", data)


# -- order lists ------------------------------------------------------------------------------


def _list_common(call: Call) -> tuple[FakeAccount, str, str | None, str]:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    assert symbol is not None
    list_client = r.string("listClientOrderId")
    resp_type = r.choice("newOrderRespType", ("ACK", "RESULT", "FULL"), default="FULL")
    r.choice("selfTradePreventionMode", md.STP_MODES)
    assert resp_type is not None
    return account, symbol, list_client, resp_type


_OCO_TYPES = ("STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_OCO_REJECTED = ApiError(400, -1158, "Order type not supported in OCO.")


def _oco_lock(legs: list[OrderRequest], symbol: str) -> tuple[str, int]:
    base, quote = split_symbol(symbol)
    first = legs[0]
    assert first.quantity is not None
    if first.side == "SELL":
        return base, first.quantity
    prices = [leg.price for leg in legs if leg.price is not None]
    return quote, max(prices, default=0) * first.quantity // E8


def _place_list(
    call: Call,
    account: FakeAccount,
    contingency: str,
    symbol: str,
    legs: list[tuple[OrderRequest, bool]],
    list_client: str | None,
    resp_type: str,
    oco: bool,
) -> Any:
    call.reader.finish()
    call.market(symbol)
    _check_order_rate(account, call.now, len(legs))
    lock = _oco_lock([leg for leg, _ in legs], symbol) if oco else None
    answer, call.events = call.hub.exchange.place_list(
        account.spot, contingency, symbol, legs, call.now, list_client, resp_type, lock
    )
    call.placed = len(legs)
    return answer


def order_list_oco(call: Call) -> Any:
    account, symbol, list_client, resp_type = _list_common(call)
    r = call.reader
    side = r.choice("side", ("BUY", "SELL"), ApiError(400, -1117, "Invalid side."), required=True)
    qty = r.amount("quantity", required=True)
    above = read_order(r, symbol, prefix="above", side=side, quantity=qty, types=_OCO_TYPES)
    below = read_order(r, symbol, prefix="below", side=side, quantity=qty, types=_OCO_TYPES)
    if (above.type in ("STOP_LOSS", "STOP_LOSS_LIMIT")) == (
        below.type in ("STOP_LOSS", "STOP_LOSS_LIMIT")
    ) and "LIMIT_MAKER" not in (above.type, below.type):
        raise _OCO_REJECTED
    legs = [(below, False), (above, False)]
    return _place_list(call, account, "OCO", symbol, legs, list_client, resp_type, True)


def order_list_oto(call: Call) -> Any:
    account, symbol, list_client, resp_type = _list_common(call)
    r = call.reader
    working = read_order(r, symbol, prefix="working", types=("LIMIT", "LIMIT_MAKER"))
    pending = read_order(r, symbol, prefix="pending")
    legs = [(working, False), (pending, True)]
    return _place_list(call, account, "OTO", symbol, legs, list_client, resp_type, False)


def order_list_otoco(call: Call) -> Any:
    account, symbol, list_client, resp_type = _list_common(call)
    r = call.reader
    working = read_order(r, symbol, prefix="working", types=("LIMIT", "LIMIT_MAKER"))
    side = r.choice(
        "pendingSide", ("BUY", "SELL"), ApiError(400, -1117, "Invalid side."), required=True
    )
    qty = r.amount("pendingQuantity", required=True)
    above = read_order(r, symbol, prefix="pendingAbove", side=side, quantity=qty, types=_OCO_TYPES)
    below = read_order(r, symbol, prefix="pendingBelow", side=side, quantity=qty, types=_OCO_TYPES)
    legs = [(working, False), (above, True), (below, True)]
    return _place_list(call, account, "OTO", symbol, legs, list_client, resp_type, False)


def _find_list(
    account: FakeAccount, list_id: int | None, client_id: str | None
) -> OrderList | None:
    lists = account.spot.lists
    if client_id is not None:
        found = [ol for ol in lists.values() if ol.client_id == client_id]
        return found[-1] if found else None
    return lists.get(list_id) if list_id is not None else None


def _legs(account: FakeAccount, order_list: OrderList) -> list[SpotOrder]:
    return [account.spot.orders[(order_list.symbol, i)] for i in order_list.order_ids]


def order_list_cancel(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    list_id = r.integer("orderListId")
    client_id = r.string("listClientOrderId")
    if list_id is None and client_id is None:
        raise either("orderListId", "listClientOrderId")
    new_client = r.string("newClientOrderId")
    r.finish()
    assert symbol is not None
    call.market(symbol)
    order_list = _find_list(account, list_id, None if list_id is not None else client_id)
    if order_list is None or order_list.symbol != symbol:
        raise cancel_rejected()
    answer, call.events = call.hub.exchange.cancel_list(
        account.spot, order_list, call.now, new_client
    )
    return answer


def order_list_status(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    client_id = r.string("origClientOrderId")
    list_id = r.integer("orderListId")
    if list_id is None and client_id is None:
        raise either("orderListId", "origClientOrderId")
    r.finish()
    order_list = _find_list(account, list_id, client_id)
    if order_list is None:
        raise ApiError(400, -2013, "Order list does not exist.")
    return list_status(order_list, _legs(account, order_list))


def all_order_lists(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    from_id = r.integer("fromId")
    start, end = _window(r)
    limit = _limit(r, 500, 1000)
    r.finish()
    chosen = _select(
        account.spot.lists.values(),
        limit,
        start,
        end,
        lambda ol: ol.time,
        lambda ol: ol.list_id,
        from_id,
    )
    return [list_status(ol, _legs(account, ol)) for ol in chosen]


def open_order_lists(call: Call) -> Any:
    account = call.auth()
    call.reader.finish()
    return [
        list_status(ol, _legs(account, ol))
        for ol in account.spot.lists.values()
        if ol.status_type != "ALL_DONE"
    ]


# -- USD-M futures ------------------------------------------------------------------------------


def _futures_depth_weight(params: dict[str, Any]) -> int:
    limit = int(params.get("limit") or 500)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def futures_depth(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = _limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.futures_depth(call.market(symbol), limit, call.now)


def _1_or_2(params: dict[str, Any]) -> int:
    return 1 if params.get("symbol") not in (None, "") else 2


def _2_or_5(params: dict[str, Any]) -> int:
    return 2 if params.get("symbol") not in (None, "") else 5


def futures_price(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol(required=False)
    r.finish()
    now = call.now
    if symbol is not None:
        return md.futures_price(call.market(symbol), now)
    return [md.futures_price(call.market(s), now) for s in call.hub.known_symbols()]


def futures_book(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol(required=False)
    r.finish()
    now = call.now
    if symbol is not None:
        return md.futures_book_ticker(call.market(symbol), now)
    return [md.futures_book_ticker(call.market(s), now) for s in call.hub.known_symbols()]


def _check_futures_rate(account: FakeAccount, now: int) -> None:
    recent = account.futures.rate_limits(now)[0]["count"]
    if recent >= _futures.ORDERS_PER_10S:
        msg = "Too many new orders; current limit is 300 orders per 10 SECOND."
        raise ApiError(429, -1015, msg)


def futures_place(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    request = _futures.read_order(r)
    r.finish()
    assert symbol is not None
    market = call.market(symbol)
    _check_futures_rate(account, call.now)
    _, answer, call.events = _futures.place(
        call.hub.exchange, account.futures, market, request, call.now
    )
    call.placed = 1
    return answer


def _futures_find(call: Call) -> tuple[FakeAccount, SymbolMarket, Any]:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    order_id = r.integer("orderId")
    client_id = r.string("origClientOrderId")
    if order_id is None and client_id is None:
        raise either("orderId", "origClientOrderId")
    assert symbol is not None
    return account, call.market(symbol), (symbol, order_id, client_id)


def futures_modify(call: Call) -> Any:
    account, market, (symbol, order_id, client_id) = _futures_find(call)
    r = call.reader
    side = r.choice("side", ("BUY", "SELL"), ApiError(400, -1117, "Invalid side."), required=True)
    qty = r.amount("quantity", required=True)
    price = r.amount("price", required=True)
    r.choice("priceMatch", _futures.PRICE_MATCH)
    r.finish()
    assert side is not None and qty is not None and price is not None
    order = account.futures.find(symbol, order_id, client_id)
    answer, call.events = _futures.modify(
        account.futures, order, market, side, qty, price, call.now
    )
    call.placed = 1
    return answer


def futures_cancel(call: Call) -> Any:
    account, _, (symbol, order_id, client_id) = _futures_find(call)
    call.reader.finish()
    order = account.futures.find(symbol, order_id, client_id)
    answer, call.events = _futures.cancel(account.futures, order, call.now)
    return answer


def futures_status(call: Call) -> Any:
    account, _, (symbol, order_id, client_id) = _futures_find(call)
    call.reader.finish()
    order = account.futures.find(symbol, order_id, client_id)
    if order is None:
        raise no_such_order()
    return _futures.report(order, query=True)


def _futures_positions(version: int) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        account = call.auth()
        symbol = call.reader.symbol(required=False)
        call.reader.finish()
        if symbol is not None:
            call.market(symbol)
        return _futures.positions(account.futures, call.hub.exchange, symbol, version, call.now)

    return handler


def _alias(account: FakeAccount) -> str:
    digest = hashlib.sha256(account.api_key.encode()).hexdigest()
    return "".join(c for c in digest if c.isalpha())[:4].capitalize() or "SgsR"


def futures_balance(call: Call) -> Any:
    account = call.auth()
    call.reader.finish()
    return _futures.balances(account.futures, call.hub.exchange, _alias(account))


def _futures_status(version: int) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        account = call.auth()
        call.reader.finish()
        return _futures.status(account.futures, call.hub.exchange, version, call.now)

    return handler


# -- the tables -------------------------------------------------------------------------------

SPOT: dict[str, Method] = {
    "exchangeInfo": Method(exchange_info, 20),
    "depth": Method(depth, _depth_weight),
    "trades.recent": Method(trades_recent, 25),
    "trades.historical": Method(trades_historical, 25),
    "trades.aggregate": Method(trades_aggregate, 4),
    "klines": Method(klines, 2),
    "uiKlines": Method(klines, 2),
    "avgPrice": Method(avg_price, 2),
    "ticker.24hr": Method(ticker_24hr, _24hr_weight),
    "ticker.tradingDay": Method(ticker_trading_day, _per_symbol_weight),
    "ticker": Method(ticker_rolling, _per_symbol_weight),
    "ticker.price": Method(ticker_price, _2_or_4),
    "ticker.book": Method(ticker_book, _2_or_4),
    "account.status": Method(account_status, 20, signed=True),
    "account.rateLimits.orders": Method(account_rate_limits, 40, signed=True),
    "account.commission": Method(account_commission, 20, signed=True),
    "order.status": Method(order_status, 4, signed=True),
    "openOrders.status": Method(open_orders_status, _open_weight, signed=True),
    "allOrders": Method(all_orders, 20, signed=True),
    "myTrades": Method(my_trades, _my_trades_weight, signed=True),
    "order.place": Method(order_place, 1, signed=True, orders=True, free_on_success=True),
    "order.test": Method(order_test, _order_test_weight, signed=True),
    "order.cancel": Method(order_cancel, 1, signed=True, free_on_success=True),
    "openOrders.cancelAll": Method(open_orders_cancel_all, 1, signed=True, free_on_success=True),
    "order.cancelReplace": Method(
        order_cancel_replace, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.oco": Method(
        order_list_oco, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.oto": Method(
        order_list_oto, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.otoco": Method(
        order_list_otoco, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.cancel": Method(order_list_cancel, 1, signed=True, free_on_success=True),
    "orderList.status": Method(order_list_status, 4, signed=True),
    "allOrderLists": Method(all_order_lists, 20, signed=True),
    "openOrderLists.status": Method(open_order_lists, 6, signed=True),
}

FUTURES: dict[str, Method] = {
    "depth": Method(futures_depth, _futures_depth_weight),
    "ticker.price": Method(futures_price, _1_or_2),
    "ticker.book": Method(futures_book, _2_or_5),
    "order.place": Method(futures_place, 0, signed=True, orders=True),
    "order.modify": Method(futures_modify, 1, signed=True, orders=True),
    "order.cancel": Method(futures_cancel, 1, signed=True),
    "order.status": Method(futures_status, 1, signed=True),
    "account.position": Method(_futures_positions(1), 5, signed=True),
    "v2/account.position": Method(_futures_positions(2), 5, signed=True),
    "account.balance": Method(futures_balance, 5, signed=True),
    "v2/account.balance": Method(futures_balance, 5, signed=True),
    "account.status": Method(_futures_status(1), 5, signed=True),
    "v2/account.status": Method(_futures_status(2), 5, signed=True),
}
