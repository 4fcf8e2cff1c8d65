"""The fake's USD-M futures orders, positions and wallet, per account (pure).

A smaller sibling of :mod:`binance_twisted.testing._trading`: one-way mode (``BOTH``) or hedge
positions (``LONG``/``SHORT``, when a request names them), cross margin, leverage 20, a
USDT wallet. ``MARKET`` orders and crossing ``LIMIT`` orders take liquidity from the same
simulated book as Spot; the rest rests (``GTX`` that would cross expires); conditional
orders never trigger. A fill moves the position (weighted entry price; realised PnL when it
shrinks) and pays 0.04 % taker / 0.02 % maker commission in USDT. Every change yields
``ORDER_TRADE_UPDATE`` and, for fills, ``ACCOUNT_UPDATE`` events for the ``futures`` product.
The mark price is the book's mid price. This module holds the account model, the order
reader and the reports; :mod:`._futures_matching` places and fills orders and
:mod:`._futures_wallet` reports positions and balances.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from binance_twisted.testing import _userevents
from binance_twisted.testing._errors import ApiError, mandatory
from binance_twisted.testing._futures_algo import AlgoBook
from binance_twisted.testing._limits import orders_limit
from binance_twisted.testing._market import E8, decimal
from binance_twisted.testing._params import Reader, not_required

__all__ = ["FuturesAccount", "FuturesOrder", "Position", "read_order", "report"]

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
        self.algos = AlgoBook()

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


# -- account views --------------------------------------------------------------------------
