"""The fake's WebSocket API USD-M futures methods (``/ws-fapi/v1``): book, prices, orders,
positions, balances."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from binance_twisted.testing import _futures, _futures_matching, _futures_wallet, _marketdata as md
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._futures_algo import read_algo_order
from binance_twisted.testing._market import SymbolMarket
from binance_twisted.testing._params import either
from binance_twisted.testing._trading import (
    no_such_order,
)
from binance_twisted.testing._userdata import FakeAccount
from binance_twisted.testing._wsapi_call import Call, read_limit

__all__ = [
    "futures_account_status",
    "futures_balance",
    "futures_book",
    "futures_cancel",
    "futures_depth",
    "futures_depth_weight",
    "futures_modify",
    "futures_place",
    "futures_positions",
    "futures_price",
    "futures_status",
    "one_or_two",
    "two_or_five",
]


def futures_depth_weight(params: dict[str, Any]) -> int:
    limit = int(params.get("limit") or 500)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def futures_depth(call: Call) -> Any:
    r = call.reader
    symbol = r.symbol()
    limit = read_limit(r, 500, 1000)
    r.finish()
    assert symbol is not None
    return md.futures_depth(call.market(symbol), limit, call.now)


def one_or_two(params: dict[str, Any]) -> int:
    return 1 if params.get("symbol") not in (None, "") else 2


def two_or_five(params: dict[str, Any]) -> int:
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
    _, answer, call.events = _futures_matching.place(
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
    modify_id = r.integer("modifyId")  # since 2026-07: echoed in the answer
    r.finish()
    assert side is not None and qty is not None and price is not None
    order = account.futures.find(symbol, order_id, client_id)
    answer, call.events = _futures_matching.modify(
        account.futures, order, market, side, qty, price, call.now
    )
    call.placed = 1
    if modify_id is not None:
        answer = {**answer, "modifyId": modify_id}
    return answer


def futures_cancel(call: Call) -> Any:
    account, _, (symbol, order_id, client_id) = _futures_find(call)
    call.reader.finish()
    order = account.futures.find(symbol, order_id, client_id)
    answer, call.events = _futures_matching.cancel(account.futures, order, call.now)
    return answer


def futures_algo_place(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    symbol = r.symbol()
    order = read_algo_order(r)
    r.finish()
    assert symbol is not None
    call.market(symbol)
    _check_futures_rate(account, call.now)
    answer, call.events = account.futures.algos.place(symbol, order, call.now)
    call.placed = 1
    return answer


def futures_algo_cancel(call: Call) -> Any:
    account = call.auth()
    r = call.reader
    algo_id = r.integer("algoId")
    client_id = r.string("clientAlgoId")
    if algo_id is None and client_id is None:
        raise either("algoId", "clientAlgoId")
    r.finish()
    answer, call.events = account.futures.algos.cancel(algo_id, client_id, call.now)
    return answer


def futures_status(call: Call) -> Any:
    account, _, (symbol, order_id, client_id) = _futures_find(call)
    call.reader.finish()
    order = account.futures.find(symbol, order_id, client_id)
    if order is None:
        raise no_such_order()
    return _futures.report(order, query=True)


def futures_positions(version: int) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        account = call.auth()
        symbol = call.reader.symbol(required=False)
        call.reader.finish()
        if symbol is not None:
            call.market(symbol)
        return _futures_wallet.positions(
            account.futures, call.hub.exchange, symbol, version, call.now
        )

    return handler


def _alias(account: FakeAccount) -> str:
    digest = hashlib.sha256(account.api_key.encode()).hexdigest()
    return "".join(c for c in digest if c.isalpha())[:4].capitalize() or "SgsR"


def futures_balance(call: Call) -> Any:
    account = call.auth()
    call.reader.finish()
    return _futures_wallet.balances(account.futures, call.hub.exchange, _alias(account))


def futures_account_status(version: int) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        account = call.auth()
        call.reader.finish()
        return _futures_wallet.status(account.futures, call.hub.exchange, version, call.now)

    return handler
