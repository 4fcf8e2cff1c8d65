"""The fake's USD-M futures orders, positions and wallet, per account (pure).

A smaller sibling of :mod:`binance_twisted.testing._trading`: one-way mode (``BOTH``) or hedge
positions (``LONG``/``SHORT``, when a request names them), cross margin, leverage 20, a
USDT wallet. ``MARKET`` orders and crossing ``LIMIT`` orders take liquidity from the same
simulated book as Spot; the rest rests (``GTX`` that would cross expires); conditional
orders never trigger. A fill moves the position (weighted entry price; realised PnL when it
shrinks) and pays 0.04 % taker / 0.02 % maker commission in USDT. Every change yields
``ORDER_TRADE_UPDATE`` and, for fills, ``ACCOUNT_UPDATE`` events for the ``futures`` product.
The mark price is the book's mid price.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from binance_twisted.testing import _userevents
from binance_twisted.testing._errors import ApiError, mandatory
from binance_twisted.testing._limits import orders_limit
from binance_twisted.testing._market import E8, SymbolMarket, decimal
from binance_twisted.testing._marketdata import FUTURES_STEP, MAX_PRICE, split_symbol
from binance_twisted.testing._params import Reader, not_required
from binance_twisted.testing._trading import Event, Exchange, cancel_rejected, no_such_order

__all__ = ["FuturesAccount", "FuturesOrder", "place", "read_order"]

SEED_WALLET = {"USDT": 100_000 * E8}
LEVERAGE = 20
TAKER_BP = 4  # 0.04 %
MAKER_BP = 2
MAINT_BP = 40  # 0.4 %
MIN_NOTIONAL = 5 * E8
TYPES = (
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX", "GTD")
PRICE_MATCH = (
    "NONE",
    "OPPONENT",
    "OPPONENT_5",
    "OPPONENT_10",
    "OPPONENT_20",
    "QUEUE",
    "QUEUE_5",
    "QUEUE_10",
    "QUEUE_20",
)
_OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
_MINUTE = 60_000
_TEN_SECONDS = 10_000
ORDERS_PER_10S = 300
ORDERS_PER_MINUTE = 1200


def fixed(units: int, places: int) -> str:
    """``units`` (1e-8) with ``places`` decimals, as futures renders numbers."""
    sign, units = ("-", -units) if units < 0 else ("", units)
    text = f"{units // E8}.{units % E8:08d}"
    return sign + (text[: len(text) - 8 + places] if places else text.split(".")[0])


@attrs.define(eq=False)
class FuturesOrder:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    position_side: str
    type: str
    time_in_force: str
    price: int
    orig_qty: int
    time: int
    stop_price: int = 0
    reduce_only: bool = False
    close_position: bool = False
    working_type: str = "CONTRACT_PRICE"
    price_protect: bool = False
    price_match: str = "NONE"
    stp: str = "EXPIRE_MAKER"
    good_till: int = 0
    activate_price: int | None = None
    price_rate: str | None = None
    executed: int = 0
    cum_quote: int = 0
    status: str = "NEW"
    update_time: int = 0
    precision: int = 2

    @property
    def open(self) -> bool:
        return self.status in _OPEN

    @property
    def avg_price(self) -> int:
        return self.cum_quote * E8 // self.executed if self.executed else 0


@attrs.define
class Position:
    amount: int = 0  # signed, 1e-8 base units
    entry: int = 0
    realized: int = 0
    update_time: int = 0


class FuturesAccount:
    """One account's USD-M wallet, positions, orders and order counts."""

    def __init__(self, wallet: Mapping[str, int] = SEED_WALLET) -> None:
        self.wallet: dict[str, int] = dict(wallet)
        self.positions: dict[tuple[str, str], Position] = {}
        self.orders: dict[tuple[str, int], FuturesOrder] = {}
        self.update_time = 0
        self.placed: deque[int] = deque()

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> FuturesOrder | None:
        if order_id is not None:
            return self.orders.get((symbol, order_id))
        found = [
            o for (s, _), o in self.orders.items() if s == symbol and o.client_order_id == client_id
        ]
        return found[-1] if found else None

    def rate_limits(self, now: int, n: int = 0) -> list[dict[str, Any]]:
        for _ in range(n):
            self.placed.append(now)
        minute = now // _MINUTE * _MINUTE
        while self.placed and self.placed[0] < minute:
            self.placed.popleft()
        window = now // _TEN_SECONDS * _TEN_SECONDS
        recent = sum(1 for t in self.placed if t >= window)
        return [
            orders_limit("SECOND", 10, ORDERS_PER_10S, recent),
            orders_limit("MINUTE", 1, ORDERS_PER_MINUTE, len(self.placed)),
        ]

    # -- figures ----------------------------------------------------------------------------

    def unrealized(self, key: tuple[str, str], mark: int) -> int:
        position = self.positions[key]
        return (mark - position.entry) * position.amount // E8

    def margins(self, marks: Mapping[str, int]) -> tuple[int, int, int]:
        """``(unrealised PnL, position initial margin, open-order initial margin)``."""
        pnl = initial = orders = 0
        for key, position in self.positions.items():
            mark = marks[key[0]]
            pnl += self.unrealized(key, mark)
            initial += abs(position.amount) * mark // E8 // LEVERAGE
        for order in self.orders.values():
            if order.open:
                price = order.price or marks.get(order.symbol, 0)
                orders += (order.orig_qty - order.executed) * price // E8 // LEVERAGE
        return pnl, initial, orders


# -- requests ---------------------------------------------------------------------------------


def read_order(reader: Reader) -> dict[str, Any]:
    """``order.place``'s futures parameters, checked per type."""
    side = reader.choice(
        "side", ("BUY", "SELL"), ApiError(400, -1117, "Invalid side."), required=True
    )
    order_type = reader.choice(
        "type", TYPES, ApiError(400, -1116, "Invalid orderType."), required=True
    )
    request: dict[str, Any] = {
        "side": side,
        "type": order_type,
        "positionSide": reader.choice("positionSide", ("BOTH", "LONG", "SHORT"), default="BOTH"),
        "timeInForce": reader.choice(
            "timeInForce", TIME_IN_FORCE, ApiError(400, -1115, "Invalid timeInForce.")
        ),
        "quantity": reader.amount("quantity"),
        "price": reader.amount("price"),
        "stopPrice": reader.amount("stopPrice"),
        "reduceOnly": reader.boolean("reduceOnly"),
        "closePosition": reader.boolean("closePosition"),
        "activationPrice": reader.amount("activationPrice"),
        "callbackRate": reader.string("callbackRate"),
        "workingType": reader.choice(
            "workingType", ("MARK_PRICE", "CONTRACT_PRICE"), default="CONTRACT_PRICE"
        ),
        "priceProtect": reader.boolean("priceProtect"),
        "newClientOrderId": reader.string("newClientOrderId"),
        "newOrderRespType": reader.choice(
            "newOrderRespType",
            ("ACK", "RESULT"),
            ApiError(400, -1136, "Invalid newOrderRespType."),
            default="ACK",
        ),
        "priceMatch": reader.choice("priceMatch", PRICE_MATCH, default="NONE"),
        "selfTradePreventionMode": reader.choice(
            "selfTradePreventionMode",
            ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"),
            ApiError(400, -5039, "Invalid self trade prevention mode"),
            default="EXPIRE_MAKER",
        ),
        "goodTillDate": reader.integer("goodTillDate"),
    }
    limit_like = order_type in ("LIMIT", "STOP", "TAKE_PROFIT")
    stop_like = order_type in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET")
    if request["quantity"] is None and not (
        request["closePosition"] and order_type in ("STOP_MARKET", "TAKE_PROFIT_MARKET")
    ):
        raise mandatory("quantity")
    if limit_like and request["price"] is None and request["priceMatch"] == "NONE":
        raise mandatory("price")
    if order_type == "LIMIT" and request["timeInForce"] is None:
        raise mandatory("timeInForce")
    if stop_like and request["stopPrice"] is None:
        raise mandatory("stopPrice")
    if order_type == "TRAILING_STOP_MARKET" and request["callbackRate"] is None:
        raise mandatory("callbackRate")
    if not limit_like and request["price"] is not None:
        raise not_required("price")
    if request["timeInForce"] == "GTD" and request["goodTillDate"] is None:
        raise mandatory("goodTillDate")
    return request


# -- reports ----------------------------------------------------------------------------------


def report(order: FuturesOrder, *, query: bool = False) -> dict[str, Any]:
    """The futures order object (``order.place``/``modify``/``cancel``/``status``)."""
    p = order.precision
    answer: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id,
        "price": fixed(order.price, p),
        "avgPrice": fixed(order.avg_price, p),
        "origQty": fixed(order.orig_qty, 3),
        "executedQty": fixed(order.executed, 3),
        "cumQty": fixed(order.executed, 3),
        "cumQuote": fixed(order.cum_quote, 5),
        "timeInForce": order.time_in_force,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": order.side,
        "positionSide": order.position_side,
        "stopPrice": fixed(order.stop_price, p),
        "workingType": order.working_type,
        "priceProtect": order.price_protect,
        "origType": order.type,
        "priceMatch": order.price_match,
        "selfTradePreventionMode": order.stp,
        "goodTillDate": order.good_till,
        "updateTime": order.update_time,
    }
    if order.activate_price is not None:
        answer["activatePrice"] = fixed(order.activate_price, p)
        answer["priceRate"] = order.price_rate
    if query:
        answer.pop("cumQty")
        answer["time"] = order.time
    return answer


def order_event(
    order: FuturesOrder,
    exec_type: str,
    now: int,
    *,
    last_qty: int = 0,
    last_price: int = 0,
    commission: int = 0,
    trade_id: int = 0,
    maker: bool = False,
    realized: int = 0,
) -> dict[str, Any]:
    p = order.precision
    return _userevents.order_trade_update(
        now,
        s=order.symbol,
        c=order.client_order_id,
        S=order.side,
        o=order.type,
        f=order.time_in_force,
        q=fixed(order.orig_qty, 3),
        p=fixed(order.price, p),
        ap=fixed(order.avg_price, p),
        sp=fixed(order.stop_price, p),
        x=exec_type,
        X=order.status,
        i=order.order_id,
        l=fixed(last_qty, 3),
        z=fixed(order.executed, 3),
        L=fixed(last_price, p),
        N="USDT",
        n=decimal(commission),
        T=now,
        t=trade_id,
        m=maker,
        R=order.reduce_only,
        wt=order.working_type,
        ot=order.type,
        ps=order.position_side,
        cp=order.close_position,
        rp=decimal(realized),
        pP=order.price_protect,
        V=order.stp,
        pm=order.price_match,
        gtd=order.good_till,
    )


def account_event(account: FuturesAccount, symbol: str, side: str, mark: int, now: int) -> dict:
    position = account.positions[(symbol, side)]
    wallet = {asset: decimal(balance) for asset, balance in account.wallet.items()}
    entry = {
        "s": symbol,
        "pa": fixed(position.amount, 3),
        "ep": decimal(position.entry),
        "bep": decimal(position.entry),
        "cr": decimal(position.realized),
        "up": decimal(account.unrealized((symbol, side), mark)),
        "mt": "cross",
        "iw": "0",
        "ps": side,
    }
    return _userevents.account_update(now, "ORDER", wallet, [entry])


# -- the engine ---------------------------------------------------------------------------------


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


# -- account views --------------------------------------------------------------------------


def positions(
    account: FuturesAccount, exchange: Exchange, symbol: str | None, version: int, now: int
) -> list[dict[str, Any]]:
    """``account.position`` (``version=1``) or ``v2/account.position`` entries."""
    rows = []
    for (name, side), position in sorted(account.positions.items()):
        if symbol is not None and name != symbol:
            continue
        if version == 2 and position.amount == 0:
            continue
        market = exchange.symbol_market(name)
        mark = market.mid_price
        notional = position.amount * mark // E8
        unrealized = account.unrealized((name, side), mark)
        margin = abs(notional) // LEVERAGE
        common = {
            "symbol": name,
            "positionSide": side,
            "positionAmt": fixed(position.amount, 3),
            "entryPrice": decimal(position.entry),
            "breakEvenPrice": decimal(position.entry),
            "markPrice": decimal(mark),
            "unRealizedProfit": decimal(unrealized),
            "liquidationPrice": "0",
            "isolatedMargin": "0.00000000",
            "notional": decimal(notional),
            "isolatedWallet": "0",
            "updateTime": position.update_time,
        }
        if version == 1:
            rows.append(
                {
                    **common,
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "leverage": str(LEVERAGE),
                    "maxNotionalValue": "1000000",
                }
            )
        else:
            rows.append(
                {
                    **common,
                    "marginAsset": split_symbol(name)[1],
                    "initialMargin": decimal(margin),
                    "maintMargin": decimal(abs(notional) * MAINT_BP // 10_000),
                    "positionInitialMargin": decimal(margin),
                    "openOrderInitialMargin": "0",
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                }
            )
    return rows


def balances(account: FuturesAccount, exchange: Exchange, alias: str) -> list[dict[str, Any]]:
    marks = {s: exchange.symbol_market(s).mid_price for s, _ in account.positions}
    pnl, initial, ordered = account.margins(marks)
    rows = []
    for asset, balance in sorted(account.wallet.items()):
        unrealized = pnl if asset == "USDT" else 0
        available = balance + unrealized - (initial + ordered if asset == "USDT" else 0)
        rows.append(
            {
                "accountAlias": alias,
                "asset": asset,
                "balance": decimal(balance),
                "crossWalletBalance": decimal(balance),
                "crossUnPnl": decimal(unrealized),
                "availableBalance": decimal(available),
                "maxWithdrawAmount": decimal(max(0, min(balance, available))),
                "marginAvailable": True,
                "updateTime": account.update_time,
            }
        )
    return rows


def status(account: FuturesAccount, exchange: Exchange, version: int, now: int) -> dict:
    """``account.status`` / ``v2/account.status``."""
    marks = {s: exchange.symbol_market(s).mid_price for s, _ in account.positions}
    pnl, initial, ordered = account.margins(marks)
    wallet = account.wallet.get("USDT", 0)
    available = wallet + pnl - initial - ordered
    maint = sum(
        abs(p.amount) * marks[s] // E8 * MAINT_BP // 10_000
        for (s, _), p in account.positions.items()
    )
    totals = {
        "totalInitialMargin": decimal(initial + ordered),
        "totalMaintMargin": decimal(maint),
        "totalWalletBalance": decimal(wallet),
        "totalUnrealizedProfit": decimal(pnl),
        "totalMarginBalance": decimal(wallet + pnl),
        "totalPositionInitialMargin": decimal(initial),
        "totalOpenOrderInitialMargin": decimal(ordered),
        "totalCrossWalletBalance": decimal(wallet),
        "totalCrossUnPnl": decimal(pnl),
        "availableBalance": decimal(available),
        "maxWithdrawAmount": decimal(max(0, min(wallet, available))),
    }
    assets = []
    for asset, balance in sorted(account.wallet.items()):
        unrealized = pnl if asset == "USDT" else 0
        used = initial + ordered if asset == "USDT" else 0
        entry = {
            "asset": asset,
            "walletBalance": decimal(balance),
            "unrealizedProfit": decimal(unrealized),
            "marginBalance": decimal(balance + unrealized),
            "maintMargin": decimal(maint if asset == "USDT" else 0),
            "initialMargin": decimal(used),
            "positionInitialMargin": decimal(initial if asset == "USDT" else 0),
            "openOrderInitialMargin": decimal(ordered if asset == "USDT" else 0),
            "crossWalletBalance": decimal(balance),
            "crossUnPnl": decimal(unrealized),
            "availableBalance": decimal(balance + unrealized - used),
            "maxWithdrawAmount": decimal(max(0, min(balance, balance + unrealized - used))),
            "updateTime": account.update_time,
        }
        if version == 1:
            entry["marginAvailable"] = True
        assets.append(entry)
    rows = positions(account, exchange, None, 2, now)
    if version == 2:
        position_rows = [
            {k: r[k] for k in ("symbol", "positionSide", "positionAmt")}
            | {
                "unrealizedProfit": r["unRealizedProfit"],
                "isolatedMargin": r["isolatedMargin"],
                "notional": r["notional"],
                "isolatedWallet": r["isolatedWallet"],
                "initialMargin": r["initialMargin"],
                "maintMargin": r["maintMargin"],
                "updateTime": r["updateTime"],
            }
            for r in rows
        ]
        return {**totals, "assets": assets, "positions": position_rows}
    position_rows = [
        {
            "symbol": r["symbol"],
            "initialMargin": r["initialMargin"],
            "maintMargin": r["maintMargin"],
            "unrealizedProfit": r["unRealizedProfit"],
            "positionInitialMargin": r["positionInitialMargin"],
            "openOrderInitialMargin": "0",
            "leverage": str(LEVERAGE),
            "isolated": False,
            "entryPrice": r["entryPrice"],
            "breakEvenPrice": r["breakEvenPrice"],
            "maxNotional": "1000000",
            "bidNotional": "0",
            "askNotional": "0",
            "positionSide": r["positionSide"],
            "positionAmt": r["positionAmt"],
            "updateTime": r["updateTime"],
        }
        for r in rows
    ]
    head = {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    return {**head, **totals, "assets": assets, "positions": position_rows}
