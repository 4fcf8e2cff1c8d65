"""USD-M futures orders meeting the simulated book: place, fill resting, cancel, modify (pure).

A fill moves the position (weighted entry price; realised PnL when it shrinks) and pays the
taker or maker commission in USDT; every change yields the ``ORDER_TRADE_UPDATE`` and, for
fills, ``ACCOUNT_UPDATE`` events the caller delivers (:mod:`._futures` builds them).
"""

from __future__ import annotations

from typing import Any

from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._futures import (
    LEVERAGE,
    MAKER_BP,
    MIN_NOTIONAL,
    TAKER_BP,
    FuturesAccount,
    FuturesOrder,
    Position,
    account_event,
    order_event,
    report,
)
from binance_twisted.testing._market import E8, SymbolMarket
from binance_twisted.testing._marketdata import FUTURES_STEP, MAX_PRICE, split_symbol
from binance_twisted.testing._trading import Event, cancel_rejected, no_such_order

__all__ = ["cancel", "fill_resting", "modify", "place"]


def _apply(
    account: FuturesAccount, order: FuturesOrder, price: int, qty: int, maker: bool, now: int
) -> tuple[int, int]:
    """Move the position and wallet for one fill; ``(commission, realised PnL)``."""
    key = (order.symbol, order.position_side)
    position = account.positions.setdefault(key, Position())
    signed = qty if order.side == "BUY" else -qty
    realized = 0
    if position.amount == 0 or (position.amount > 0) == (signed > 0):
        total = abs(position.amount) + qty
        position.entry = (position.entry * abs(position.amount) + price * qty) // total
        position.amount += signed
    else:
        closing = min(qty, abs(position.amount))
        direction = 1 if position.amount > 0 else -1
        realized = (price - position.entry) * closing * direction // E8
        position.amount += signed
        if position.amount == 0:
            position.entry = 0
        elif (position.amount > 0) != (direction > 0):  # flipped
            position.entry = price
    position.realized += realized
    position.update_time = now
    commission = price * qty // E8 * (MAKER_BP if maker else TAKER_BP) // 10_000
    quote = split_symbol(order.symbol)[1]
    account.wallet[quote] = account.wallet.get(quote, 0) + realized - commission
    order.executed += qty
    order.cum_quote += price * qty // E8
    order.update_time = now
    order.status = "FILLED" if order.executed >= order.orig_qty else "PARTIALLY_FILLED"
    account.update_time = now
    return commission, realized


def place(
    exchange: Exchange,
    account: FuturesAccount,
    market: SymbolMarket,
    request: dict[str, Any],
    now: int,
) -> tuple[FuturesOrder, dict[str, Any], list[Event]]:
    """Place a futures order; ``(order, response, events)``."""
    tick = market.tick_size
    for name in ("price", "stopPrice"):
        price = request[name]
        if price is not None and (price < tick or price > MAX_PRICE or price % tick):
            raise ApiError(400, -4014, "Price not increased by tick size.")
    qty = request["quantity"] or 0
    if qty % FUTURES_STEP:
        raise ApiError(400, -1111, "Precision is over the maximum defined for this asset.")
    buy = request["side"] == "BUY"
    order_type = request["type"]
    price = request["price"]
    if price is None and request["priceMatch"] != "NONE" and order_type == "LIMIT":
        price = (market.best_ask if buy else market.best_bid)[0]
    estimate = price if price is not None else market.mid_price
    if qty and estimate * qty // E8 < MIN_NOTIONAL and not request["reduceOnly"]:
        raise ApiError(
            400,
            -4164,
            "Order's notional must be no smaller than 5 (unless you choose reduce only).",
        )
    marks = {s: exchange.symbol_market(s).mid_price for s, _ in account.positions}
    marks[market.name] = market.mid_price
    pnl, initial, ordered = account.margins(marks)
    available = sum(account.wallet.values()) + pnl - initial - ordered
    if not request["reduceOnly"] and estimate * qty // E8 // LEVERAGE > available:
        raise ApiError(400, -2019, "Margin is insufficient.")
    client_id = request["newClientOrderId"]
    if client_id is not None and any(
        o.client_order_id == client_id and o.open for o in account.orders.values()
    ):
        raise ApiError(400, -4116, "ClientOrderId is duplicated.")
    tif = request["timeInForce"] or "GTC"
    order = FuturesOrder(
        symbol=market.name,
        order_id=exchange.order_id("f:" + market.name),
        client_order_id=client_id or exchange.client_id(),
        side=request["side"],
        position_side=request["positionSide"],
        type=order_type,
        time_in_force=tif,
        price=price or 0,
        orig_qty=qty,
        time=now,
        stop_price=request["stopPrice"] or 0,
        reduce_only=request["reduceOnly"],
        close_position=request["closePosition"],
        working_type=request["workingType"],
        price_protect=request["priceProtect"],
        price_match=request["priceMatch"],
        stp=request["selfTradePreventionMode"],
        good_till=request["goodTillDate"] or 0,
        activate_price=request["activationPrice"],
        price_rate=request["callbackRate"],
        update_time=now,
        precision=_places(tick),
    )
    account.orders[(order.symbol, order.order_id)] = order
    acknowledged = report(order)
    events: list[Event] = [("futures", order_event(order, "NEW", now))]
    fills: list[tuple[int, int]] = []
    may_rest = True
    if order_type == "MARKET":
        fills = market.match(buy, qty, None, None, FUTURES_STEP)
        may_rest = False
    elif order_type == "LIMIT":
        fills = market.match(buy, qty, None, price, FUTURES_STEP)
        if (tif == "GTX" and fills) or (tif == "FOK" and sum(q for _, q in fills) < qty):
            fills, may_rest = [], False
        elif tif == "IOC":
            may_rest = False
    for trade in market.fill(buy, fills, now) if fills else []:
        commission, realized = _apply(account, order, trade.price, trade.qty, False, now)
        events.append(
            (
                "futures",
                order_event(
                    order,
                    "TRADE",
                    now,
                    last_qty=trade.qty,
                    last_price=trade.price,
                    commission=commission,
                    trade_id=trade.id,
                    realized=realized,
                ),
            )
        )
        events.append(
            (
                "futures",
                account_event(account, order.symbol, order.position_side, market.mid_price, now),
            )
        )
    if order.open and not may_rest:
        order.status = "EXPIRED"
        order.update_time = now
        events.append(("futures", order_event(order, "EXPIRED", now)))
    response = acknowledged if request["newOrderRespType"] == "ACK" else report(order)
    return order, response, events


def _places(tick: int) -> int:
    places = 8
    while places and tick % 10 == 0:
        tick //= 10
        places -= 1
    return places


def fill_resting(
    account: FuturesAccount,
    order: FuturesOrder,
    market: SymbolMarket,
    qty: int,
    price: int,
    now: int,
) -> list[Event]:
    """Fill (part of) a resting futures order as the maker."""
    if not order.open:
        raise ValueError(f"order {order.order_id} is not open")
    qty = min(qty, order.orig_qty - order.executed)
    trade = market.record(order.side == "SELL", price, qty, now)
    commission, realized = _apply(account, order, price, qty, True, now)
    return [
        (
            "futures",
            order_event(
                order,
                "TRADE",
                now,
                last_qty=qty,
                last_price=price,
                commission=commission,
                trade_id=trade.id,
                maker=True,
                realized=realized,
            ),
        ),
        (
            "futures",
            account_event(account, order.symbol, order.position_side, market.mid_price, now),
        ),
    ]


def cancel(account: FuturesAccount, order: FuturesOrder | None, now: int) -> tuple[dict, list]:
    if order is None or not order.open:
        raise cancel_rejected()
    order.status = "CANCELED"
    order.update_time = now
    return report(order), [("futures", order_event(order, "CANCELED", now))]


def modify(
    account: FuturesAccount,
    order: FuturesOrder | None,
    market: SymbolMarket,
    side: str,
    qty: int,
    price: int,
    now: int,
) -> tuple[dict, list]:
    if order is None:
        raise no_such_order()
    if not order.open:
        raise ApiError(400, -2013, "Order does not exist.")
    if order.type != "LIMIT":
        raise ApiError(400, -5025, "Only limit order is supported.")
    if side != order.side:
        raise ApiError(400, -1130, "Data sent for parameter 'side' is not valid.")
    if price % market.tick_size or price < market.tick_size:
        raise ApiError(400, -4014, "Price not increased by tick size.")
    if qty % FUTURES_STEP:
        raise ApiError(400, -1111, "Precision is over the maximum defined for this asset.")
    if qty == order.orig_qty and price == order.price:
        raise ApiError(400, -5027, "No need to modify the order.")
    order.update_time = now
    if qty <= order.executed:
        order.status = "CANCELED"
        return report(order), [("futures", order_event(order, "CANCELED", now))]
    order.orig_qty, order.price = qty, price
    return report(order), [("futures", order_event(order, "AMENDMENT", now))]
