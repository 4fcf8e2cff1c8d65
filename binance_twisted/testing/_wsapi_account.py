"""The fake's WebSocket API account queries: status, rate limits, commission, orders, trades."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._params import Reader, either
from binance_twisted.testing._trading import COMMISSION_BP, ORDERS_PER_10S, no_such_order
from binance_twisted.testing._trading_reports import status_report
from binance_twisted.testing._userdata import FakeAccount
from binance_twisted.testing._wsapi_call import COMMISSION_RATE, DAY_MS, ZERO, Call, read_limit

__all__ = [
    "account_commission",
    "account_rate_limits",
    "account_status",
    "all_orders",
    "check_order_rate",
    "find_order",
    "my_trades",
    "my_trades_weight",
    "open_orders_status",
    "open_weight",
    "order_status",
    "read_window",
    "select_orders",
]


def check_order_rate(account: FakeAccount, now: int, n: int) -> None:
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
        "commissionRates": {
            "maker": COMMISSION_RATE,
            "taker": COMMISSION_RATE,
            "buyer": ZERO,
            "seller": ZERO,
        },
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
        "standardCommission": {
            "maker": COMMISSION_RATE,
            "taker": COMMISSION_RATE,
            "buyer": ZERO,
            "seller": ZERO,
        },
        "taxCommission": {"maker": ZERO, "taker": ZERO, "buyer": ZERO, "seller": ZERO},
        "discount": {
            "enabledForAccount": True,
            "enabledForSymbol": True,
            "discountAsset": "BNB",
            "discount": "0.25000000",
        },
    }


def find_order(
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
    symbol, order_id, client_id = find_order(call)
    call.reader.finish()
    call.market(symbol)
    order = account.spot.find(symbol, order_id, client_id)
    if order is None:
        raise no_such_order()
    return status_report(order)


def open_weight(params: dict[str, Any]) -> int:
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


def read_window(r: Reader) -> tuple[int | None, int | None]:
    start, end = r.integer("startTime"), r.integer("endTime")
    if start is not None and end is not None and end - start > DAY_MS:
        raise ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
    return start, end


def select_orders(
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
    start, end = read_window(r)
    limit = read_limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    call.market(symbol)
    orders = [o for o in account.spot.orders.values() if o.symbol == symbol]
    chosen = select_orders(
        orders, limit, start, end, lambda o: o.update_time, lambda o: o.order_id, from_id
    )
    return [status_report(o) for o in chosen]


def my_trades_weight(params: dict[str, Any]) -> int:
    return 5 if params.get("orderId") not in (None, "") else 20


def my_trades(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    order_id = r.integer("orderId")
    start, end = read_window(r)
    from_id = r.integer("fromId")
    limit = read_limit(r, 500, 1000)
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
    return select_orders(trades, limit, start, end, lambda t: t["time"], lambda t: t["id"], from_id)
