"""The fake's WebSocket API order methods: place, test, cancel, cancel-replace, and order lists.

Handlers read every parameter through the call's :class:`~._params.Reader` and call
``reader.finish()`` before changing any state, so an unknown parameter (-1104) never leaves
a half-done order behind.
"""

from __future__ import annotations

from typing import Any

from binance_twisted.testing import _marketdata as md
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._market import E8
from binance_twisted.testing._marketdata import split_symbol
from binance_twisted.testing._params import either
from binance_twisted.testing._trading import (
    OrderList,
    OrderRequest,
    SpotOrder,
    cancel_rejected,
    read_order,
)
from binance_twisted.testing._trading_reports import list_status, result
from binance_twisted.testing._userdata import FakeAccount
from binance_twisted.testing._wsapi_account import (
    check_order_rate,
    find_order,
    read_window,
    select_orders,
)
from binance_twisted.testing._wsapi_call import COMMISSION_RATE, ZERO, Call, read_limit

__all__ = [
    "all_order_lists",
    "open_order_lists",
    "open_orders_cancel_all",
    "order_cancel",
    "order_cancel_replace",
    "order_list_cancel",
    "order_list_oco",
    "order_list_oto",
    "order_list_otoco",
    "order_list_status",
    "order_place",
    "order_test",
    "order_test_weight",
]


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
    check_order_rate(account, call.now, 1)
    order, events = call.hub.exchange.place(account.spot, request, call.now)
    assert order is not None
    call.placed, call.events = 1, events
    return result(order, call.now, request.resp_type)


def order_test_weight(params: dict[str, Any]) -> int:
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
        "standardCommissionForOrder": {"maker": COMMISSION_RATE, "taker": COMMISSION_RATE},
        "taxCommissionForOrder": {"maker": ZERO, "taker": ZERO},
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
    symbol, order_id, client_id = find_order(call)
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
    check_order_rate(account, call.now, 1)
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
    check_order_rate(account, call.now, len(legs))
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
    start, end = read_window(r)
    limit = read_limit(r, 500, 1000)
    r.finish()
    chosen = select_orders(
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
