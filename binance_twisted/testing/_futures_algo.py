"""USD-M conditional (algo) orders as the WebSocket API takes them (``algoOrder.place`` /
``algoOrder.cancel``): accepted, listed as ``NEW``, cancelled; pure.

Triggering is not simulated (the fake's prices never reach a trigger on their own); what a
client must handle is: the checks (``callbackRate`` up to 20 % since 2026-10-23), the
answers, and the ``ALGO_UPDATE`` events, including the two ``NEW`` events of a trailing
stop that is not active yet (``ia`` false, then true; 2026-08-21).
"""

from __future__ import annotations

from typing import Any

import attrs

from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._market import decimal
from binance_twisted.testing._params import Reader

__all__ = ["AlgoBook", "read_algo_order"]

ALGO_TYPES = ("CONDITIONAL",)
ORDER_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
#: a trailing stop's callbackRate, in percent (the maximum was 10 until 2026-10-23)
CALLBACK_RATE = (0.1, 20.0)


def read_algo_order(reader: Reader) -> dict[str, Any]:
    """``algoOrder.place``'s parameters, checked as Binance does for the fake's purposes."""
    reader.choice("algoType", ALGO_TYPES, ApiError(400, -4500, "Invalid algoType."), required=True)
    side = reader.choice(
        "side", ("BUY", "SELL"), ApiError(400, -1117, "Invalid side."), required=True
    )
    kind = reader.choice(
        "type", ORDER_TYPES, ApiError(400, -1116, "Invalid orderType."), required=True
    )
    order: dict[str, Any] = {
        "side": side,
        "orderType": kind,
        "positionSide": reader.choice("positionSide", ("BOTH", "LONG", "SHORT"), default="BOTH"),
        "quantity": reader.amount("quantity"),
        "price": reader.amount("price"),
        "triggerPrice": reader.amount("triggerPrice"),
        "activatePrice": reader.amount("activatePrice") or reader.amount("activationPrice"),
        "callbackRate": reader.string("callbackRate"),
        "clientAlgoId": reader.string("clientAlgoId"),
        "reduceOnly": reader.boolean("reduceOnly"),
    }
    for name in ("timeInForce", "workingType", "priceMatch", "closePosition", "priceProtect"):
        reader.string(name)
    for name in ("selfTradePreventionMode", "goodTillDate", "newOrderRespType"):
        reader.string(name)
    if kind == "TRAILING_STOP_MARKET":
        rate = order["callbackRate"]
        low, high = CALLBACK_RATE
        try:
            valid = rate is not None and low <= float(rate) <= high
        except ValueError:
            valid = False
        if not valid:
            raise ApiError(400, -4136, f"Invalid callBack rate: must be {low:g} to {high:g}.")
    elif order["triggerPrice"] is None:
        raise ApiError(400, -1102, "Mandatory parameter 'triggerPrice' was not sent.")
    if order["quantity"] is None and not order["reduceOnly"]:
        raise ApiError(400, -1102, "Mandatory parameter 'quantity' was not sent.")
    return order


@attrs.define
class AlgoBook:
    """One account's algo orders by ``algoId``."""

    orders: dict[int, dict[str, Any]] = attrs.Factory(dict)
    next_id: int = 1_000_000_001

    def place(self, symbol: str, order: dict[str, Any], now: int) -> tuple[dict, list]:
        algo_id = self.next_id
        self.next_id += 1
        client_id = order["clientAlgoId"] or f"fakeAlgo{algo_id}"
        record = {
            "algoId": algo_id,
            "clientAlgoId": client_id,
            "algoType": "CONDITIONAL",
            "orderType": order["orderType"],
            "symbol": symbol.upper(),
            "side": order["side"],
            "positionSide": order["positionSide"],
            "quantity": _text(order["quantity"]),
            "algoStatus": "NEW",
            "triggerPrice": _text(order["triggerPrice"]),
            "price": _text(order["price"]),
            "activatePrice": _text(order["activatePrice"]),
            "callbackRate": order["callbackRate"] or "",
            "createTime": now,
            "updateTime": now,
        }
        self.orders[algo_id] = record
        events = [("futures", _update(record, now, activated=False))]
        if order["orderType"] == "TRAILING_STOP_MARKET":
            events.append(("futures", _update(record, now, activated=True)))  # a second NEW
        return dict(record), events

    def cancel(self, algo_id: int | None, client_id: str | None, now: int) -> tuple[dict, list]:
        found = [
            r
            for r in self.orders.values()
            if (algo_id is not None and r["algoId"] == algo_id)
            or (algo_id is None and r["clientAlgoId"] == client_id)
        ]
        if not found or found[-1]["algoStatus"] != "NEW":
            raise ApiError(400, -2011, "Unknown order sent.")
        record = found[-1]
        record["algoStatus"] = "CANCELED"
        record["updateTime"] = now
        answer = {k: record[k] for k in ("algoId", "clientAlgoId")}
        return {**answer, "code": "200", "msg": "success"}, [("futures", _update(record, now))]


def _text(amount: int | None) -> str:
    return "" if amount is None else decimal(amount)


def _update(record: dict[str, Any], now: int, activated: bool | None = None) -> dict[str, Any]:
    """``ALGO_UPDATE``; ``ia`` (is activated) is part of the order object since 2026-08-21."""
    order = {
        "caid": record["clientAlgoId"],
        "aid": record["algoId"],
        "at": "CONDITIONAL",
        "o": record["orderType"],
        "s": record["symbol"],
        "S": record["side"],
        "ps": record["positionSide"],
        "q": record["quantity"],
        "X": record["algoStatus"],
        "tp": record["triggerPrice"],
        "p": record["price"],
        "ia": bool(activated) if activated is not None else record["algoStatus"] != "NEW",
    }
    return {"e": "ALGO_UPDATE", "T": now, "E": now, "o": order}
