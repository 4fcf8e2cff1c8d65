"""The fake's WebSocket API method tables: :data:`SPOT` serves ``/ws-api/v3``, :data:`FUTURES`
``/ws-fapi/v1``.

Each entry is a :class:`~._wsapi_call.Method`: a handler (from :mod:`._wsapi_market`,
:mod:`._wsapi_account`, :mod:`._wsapi_orders` or :mod:`._wsapi_futures`), a weight (fixed, or
computed from the params as Binance documents it), whether it needs a signed account, and
whether it counts toward the ``ORDERS`` limits. The session and user-data-stream methods live
with the connection (:mod:`binance_twisted.testing._wsapi`).
"""

from __future__ import annotations

from binance_twisted.testing._wsapi_account import (
    account_commission,
    account_rate_limits,
    account_status,
    all_orders,
    my_trades,
    my_trades_weight,
    open_orders_status,
    open_weight,
    order_status,
)
from binance_twisted.testing._wsapi_call import Method
from binance_twisted.testing._wsapi_futures import (
    futures_account_status,
    futures_algo_cancel,
    futures_algo_place,
    futures_balance,
    futures_book,
    futures_cancel,
    futures_depth,
    futures_depth_weight,
    futures_modify,
    futures_place,
    futures_positions,
    futures_price,
    futures_status,
    one_or_two,
    two_or_five,
)
from binance_twisted.testing._wsapi_market import (
    avg_price,
    depth,
    depth_weight,
    exchange_info,
    klines,
    per_symbol_weight,
    ticker_24hr,
    ticker_24hr_weight,
    ticker_book,
    ticker_price,
    ticker_rolling,
    ticker_trading_day,
    trades_aggregate,
    trades_historical,
    trades_recent,
    two_or_four,
)
from binance_twisted.testing._wsapi_orders import (
    all_order_lists,
    open_order_lists,
    open_orders_cancel_all,
    order_cancel,
    order_cancel_replace,
    order_list_cancel,
    order_list_oco,
    order_list_oto,
    order_list_otoco,
    order_list_status,
    order_place,
    order_test,
    order_test_weight,
)

__all__ = ["FUTURES", "SPOT"]


# -- shared helpers -----------------------------------------------------------------------------


# -- Spot market data -----------------------------------------------------------------------


# -- Spot account and orders --------------------------------------------------------------------


# -- order lists ------------------------------------------------------------------------------


# -- USD-M futures ------------------------------------------------------------------------------


# -- the tables -------------------------------------------------------------------------------

SPOT: dict[str, Method] = {
    "exchangeInfo": Method(exchange_info, 20),
    "depth": Method(depth, depth_weight),
    "trades.recent": Method(trades_recent, 25),
    "trades.historical": Method(trades_historical, 25),
    "trades.aggregate": Method(trades_aggregate, 4),
    "klines": Method(klines, 2),
    "uiKlines": Method(klines, 2),
    "avgPrice": Method(avg_price, 2),
    "ticker.24hr": Method(ticker_24hr, ticker_24hr_weight),
    "ticker.tradingDay": Method(ticker_trading_day, per_symbol_weight),
    "ticker": Method(ticker_rolling, per_symbol_weight),
    "ticker.price": Method(ticker_price, two_or_four),
    "ticker.book": Method(ticker_book, two_or_four),
    "account.status": Method(account_status, 20, signed=True),
    "account.rateLimits.orders": Method(account_rate_limits, 40, signed=True),
    "account.commission": Method(account_commission, 20, signed=True),
    "order.status": Method(order_status, 4, signed=True),
    "openOrders.status": Method(open_orders_status, open_weight, signed=True),
    "allOrders": Method(all_orders, 20, signed=True),
    "myTrades": Method(my_trades, my_trades_weight, signed=True),
    "order.place": Method(order_place, 1, signed=True, orders=True, free_on_success=True),
    "order.test": Method(order_test, order_test_weight, signed=True),
    "order.cancel": Method(order_cancel, 1, signed=True, free_on_success=True),
    "openOrders.cancelAll": Method(open_orders_cancel_all, 1, signed=True, free_on_success=True),
    "order.cancelReplace": Method(
        order_cancel_replace, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.oco": Method(
        order_list_oco, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.oto": Method(
        order_list_oto, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.place.otoco": Method(
        order_list_otoco, 1, signed=True, orders=True, free_on_success=True
    ),
    "orderList.cancel": Method(order_list_cancel, 1, signed=True, free_on_success=True),
    "orderList.status": Method(order_list_status, 4, signed=True),
    "allOrderLists": Method(all_order_lists, 20, signed=True),
    "openOrderLists.status": Method(open_order_lists, 6, signed=True),
}

FUTURES: dict[str, Method] = {
    "depth": Method(futures_depth, futures_depth_weight),
    "ticker.price": Method(futures_price, one_or_two),
    "ticker.book": Method(futures_book, two_or_five),
    "order.place": Method(futures_place, 0, signed=True, orders=True),
    "order.modify": Method(futures_modify, 1, signed=True, orders=True),
    "order.cancel": Method(futures_cancel, 1, signed=True),
    "algoOrder.place": Method(futures_algo_place, 0, signed=True, orders=True),
    "algoOrder.cancel": Method(futures_algo_cancel, 1, signed=True),
    "order.status": Method(futures_status, 1, signed=True),
    "account.position": Method(futures_positions(1), 5, signed=True),
    "v2/account.position": Method(futures_positions(2), 5, signed=True),
    "account.balance": Method(futures_balance, 5, signed=True),
    "v2/account.balance": Method(futures_balance, 5, signed=True),
    "account.status": Method(futures_account_status(1), 5, signed=True),
    "v2/account.status": Method(futures_account_status(2), 5, signed=True),
}
