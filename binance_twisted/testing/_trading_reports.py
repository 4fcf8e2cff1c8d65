"""What Spot orders and order lists look like on the wire: responses, queries, execution reports.

``ack``/``result``/``FULL`` responses of a placement, ``order.status`` reports, cancel reports,
order-list status, and the ``executionReport`` user-data events (binance-platform.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from binance_twisted.testing import _userevents
from binance_twisted.testing._market import E8, decimal
from binance_twisted.testing._trading import STOP_TYPES, Fill, OrderList, SpotOrder

__all__ = ["ack", "cancel_report", "execution_report", "list_status", "result", "status_report"]


def _conditional(order: SpotOrder, report: dict[str, Any], *, always: bool = False) -> None:
    if always or order.type in STOP_TYPES:
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
