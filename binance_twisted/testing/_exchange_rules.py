"""The rules under the fake's Spot exchange: ids, filters, taking liquidity, locks, lists (pure).

:class:`ExchangeRules` holds what placing, filling and cancelling share: client and order
ids, the symbol filters, fills taken from the simulated book, the funds an order locks and
releases, balance updates, and how an order list moves when one of its legs fills.
:class:`~._exchange.Exchange` builds the operations on top.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from binance_twisted.testing import _userevents
from binance_twisted.testing._market import E8, Market, SymbolMarket, decimal
from binance_twisted.testing._marketdata import (
    MAX_PRICE,
    MIN_NOTIONAL,
    SPOT_MAX_QTY,
    SPOT_MIN_QTY,
    SPOT_STEP,
    split_symbol,
)
from binance_twisted.testing._trading import (
    COMMISSION_BP,
    ID_ALPHABET,
    STOP_TYPES,
    Event,
    Fill,
    OrderList,
    OrderRequest,
    SpotAccount,
    SpotOrder,
    filter_failure,
    rejected,
)
from binance_twisted.testing._trading_reports import execution_report

__all__ = ["ExchangeRules"]


class ExchangeRules:
    """Order ids, filters, book fills, locks and list progress of one fake's exchange."""

    def __init__(self, market: Market, seed: int) -> None:
        self.market = market
        self._rng = random.Random(f"exchange {seed}")
        self._order_ids: dict[str, int] = {}
        self._next_list_id = self._rng.randint(1_000, 100_000)

    def client_id(self) -> str:
        """A fresh 22-character client order id, as Binance generates them."""
        return "".join(self._rng.choice(ID_ALPHABET) for _ in range(22))

    def order_id(self, symbol: str) -> int:
        next_id = self._order_ids.get(symbol)
        if next_id is None:
            next_id = self._rng.randint(1_000_000, 100_000_000)
        self._order_ids[symbol] = next_id + 1
        return next_id

    def list_id(self) -> int:
        self._next_list_id += 1
        return self._next_list_id - 1

    def symbol_market(self, symbol: str) -> SymbolMarket:
        return self.market.get(symbol.lower())

    def check_filters(self, market: SymbolMarket, request: OrderRequest) -> None:
        """PRICE_FILTER, LOT_SIZE and NOTIONAL (-1013), as exchangeInfo states them."""
        for price in (request.price, request.stop_price):
            if price is not None and (
                price < market.tick_size or price > MAX_PRICE or price % market.tick_size
            ):
                raise filter_failure("PRICE_FILTER")
        qty = request.quantity
        if qty is not None and (qty < SPOT_MIN_QTY or qty > SPOT_MAX_QTY or qty % SPOT_STEP):
            raise filter_failure("LOT_SIZE")
        if request.iceberg_qty is not None and qty is not None and request.iceberg_qty >= qty:
            raise rejected("IcebergQty exceeds QTY.")
        if request.quote_qty is not None:
            notional = request.quote_qty
        elif qty is not None:
            price = request.price if request.price is not None else market.stats.last
            notional = price * qty // E8
        else:  # pragma: no cover - read_order needs one of them
            notional = 0
        if notional < MIN_NOTIONAL:
            raise filter_failure("NOTIONAL")

    def _taker_fills(
        self, market: SymbolMarket, request: OrderRequest
    ) -> tuple[list[tuple[int, int]], bool]:
        """The fills a new order gets now, and whether it may rest afterwards."""
        buy = request.side == "BUY"
        if request.type == "MARKET":
            return market.match(buy, request.quantity, request.quote_qty, None, SPOT_STEP), False
        if request.type in STOP_TYPES:
            return [], True
        assert request.price is not None and request.quantity is not None
        fills = market.match(buy, request.quantity, None, request.price, SPOT_STEP)
        if request.type == "LIMIT_MAKER":
            if fills:
                raise rejected("Order would immediately match and take.")
            return [], True
        if request.time_in_force == "FOK" and sum(q for _, q in fills) < request.quantity:
            return [], False
        return fills, request.time_in_force == "GTC"

    def _lock_of(self, request: OrderRequest, remaining: int) -> tuple[str, int]:
        base, quote = split_symbol(request.symbol)
        if request.side == "SELL":
            return base, remaining
        if request.price is None:  # a market-type stop buy locks nothing
            return quote, 0
        return quote, request.price * remaining // E8

    def _book_fill(
        self,
        account: SpotAccount,
        order: SpotOrder,
        price: int,
        qty: int,
        trade_id: int,
        maker: bool,
        now: int,
    ) -> Fill:
        """Move the money of one fill and record it on the order and the account."""
        base, quote = split_symbol(order.symbol)
        notional = price * qty // E8
        if order.side == "BUY":
            received, asset = qty, base
            if order.locked:
                release = min(order.locked, order.price * qty // E8)
                order.locked -= release
                account.add(quote, 0, -release)
                account.add(quote, release - notional)
            else:
                account.add(quote, -notional)
        else:
            received, asset = notional, quote
            if order.locked:
                release = min(order.locked, qty)
                order.locked -= release
                account.add(base, 0, -release)
                account.add(base, release - qty)
            else:
                account.add(base, -qty)
        commission = received * COMMISSION_BP // 10_000
        account.add(asset, received - commission)
        order.executed += qty
        order.cum_quote += notional
        order.update_time = now
        order.status = "FILLED" if order.executed >= order.orig_qty else "PARTIALLY_FILLED"
        fill = Fill(price, qty, commission, asset, trade_id, maker, now)
        order.fills.append(fill)
        account.update_time = now
        account.trades.append(
            {
                "symbol": order.symbol,
                "id": trade_id,
                "orderId": order.order_id,
                "orderListId": order.order_list_id,
                "price": decimal(price),
                "qty": decimal(qty),
                "quoteQty": decimal(notional),
                "commission": decimal(commission),
                "commissionAsset": asset,
                "time": now,
                "isBuyer": order.side == "BUY",
                "isMaker": maker,
                "isBestMatch": True,
            }
        )
        return fill

    def _position(self, account: SpotAccount, assets: Iterable[str], now: int) -> list[Event]:
        changed = sorted(set(assets))
        if not changed:
            return []
        account.update_time = now
        balances = {}
        for asset in changed:
            free, locked = account.balances.get(asset, [0, 0])
            balances[asset] = (decimal(free), decimal(locked))
        return [("spot", _userevents.outbound_account_position(now, balances, u=now))]

    def _release(self, account: SpotAccount, order: SpotOrder) -> None:
        if order.locked:
            account.add(order.lock_asset, order.locked, -order.locked)
            order.locked = 0

    def _list_progress(
        self, account: SpotAccount, filled: SpotOrder, now: int, assets: set[str]
    ) -> list[Event]:
        order_list = account.lists[filled.order_list_id]
        legs = [account.orders[(order_list.symbol, i)] for i in order_list.order_ids]
        events: list[Event] = []
        pending = [o for o in legs if o.status == "PENDING_NEW"]
        if order_list.contingency == "OTO" and pending:
            for leg in pending:  # the working order filled: the pending legs go live
                leg.status = "NEW"
                leg.is_working = leg.type not in STOP_TYPES
                leg.working_time = now if leg.is_working else -1
                leg.update_time = now
                request = OrderRequest(leg.symbol, leg.side, leg.type, price=leg.price or None)
                asset, amount = self._lock_of(request, leg.remaining)
                amount = min(amount, account.free(asset)) if len(pending) == 1 else amount
                if len(pending) == 2:  # the OCO pair shares one lock
                    amount = 0
                if amount:
                    leg.lock_asset, leg.locked = asset, amount
                    account.add(asset, -amount, amount)
                    assets.add(asset)
                events.append(("spot", execution_report(leg, "NEW", now)))
            if len(pending) == 2:
                request = OrderRequest(
                    pending[0].symbol,
                    pending[0].side,
                    "LIMIT",
                    price=max(o.price for o in pending) or None,
                )
                asset, amount = self._lock_of(request, pending[0].remaining)
                amount = min(amount, account.free(asset))
                order_list.lock_asset, order_list.locked = asset, amount
                account.add(asset, -amount, amount)
                assets.add(asset)
            return events
        # an OCO leg filled: the other one expires, the list is done
        for leg in legs:
            if leg is not filled and leg.open:
                leg.status = "EXPIRED"
                leg.is_working = False
                leg.update_time = now
                self._release(account, leg)
                events.append(("spot", execution_report(leg, "EXPIRED", now)))
        if order_list.locked:
            account.add(order_list.lock_asset, order_list.locked, -order_list.locked)
            assets.add(order_list.lock_asset)
            order_list.locked = 0
        order_list.status_type = order_list.order_status = "ALL_DONE"
        order_list.time = now
        events.append(("spot", self._list_event(order_list, legs, now)))
        return events

    def _list_event(self, order_list: OrderList, legs: list[SpotOrder], now: int) -> dict:
        return {
            "e": "listStatus",
            "E": now,
            "s": order_list.symbol,
            "g": order_list.list_id,
            "c": order_list.contingency,
            "l": order_list.status_type,
            "L": order_list.order_status,
            "r": "NONE",
            "C": order_list.client_id,
            "T": now,
            "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in legs],
        }
