"""The fake's Spot exchange: it places, fills and cancels orders and order lists (pure).

:class:`Exchange` (one per fake) applies the rules of :mod:`._exchange_rules` to the accounts
of :mod:`._trading` and answers in the shapes of :mod:`._trading_reports`.
"""

from __future__ import annotations

from typing import Any

from binance_twisted.testing._exchange_rules import ExchangeRules
from binance_twisted.testing._market import E8
from binance_twisted.testing._marketdata import (
    SPOT_STEP,
    split_symbol,
)
from binance_twisted.testing._trading import (
    INSUFFICIENT,
    STOP_TYPES,
    Event,
    OrderList,
    OrderRequest,
    SpotAccount,
    SpotOrder,
    cancel_rejected,
    rejected,
)
from binance_twisted.testing._trading_reports import (
    cancel_report,
    execution_report,
    list_status,
    result,
)

__all__ = ["Exchange"]


class Exchange(ExchangeRules):
    """Order ids, and the rules that place, fill and cancel Spot orders, for one fake."""

    # -- placement --------------------------------------------------------------------------

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
            order.is_working = request.type not in STOP_TYPES
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
