"""The constants of python-binance 0.7.11's ``binance.enums``, for drop-in compatibility.

Code written against the legacy Twisted ``BinanceSocketManager`` often does
``from binance.enums import *`` to get ``KLINE_INTERVAL_1MINUTE``, ``WEBSOCKET_DEPTH_5``,
``SIDE_BUY`` and the like. python-binance 1.0 dropped Twisted, so such code can switch to
``from binance_twisted.enums import *`` without installing python-binance at all.

Every constant of 0.7.11's ``binance/enums.py`` is here with its exact value. Two documented
additions, which 0.7.11's ``binance.enums`` did not have:

* ``KLINE_INTERVAL_1SECOND = "1s"``: Binance serves one-second candles now; in 0.7.11 the
  interval did not exist.
* ``AGG_*``: the keys of an aggregate-trade payload. In 0.7.11 they were attributes of
  ``binance.client.Client`` only (``Client.AGG_ID`` …); python-binance 1.0 moved them into
  ``binance.enums``. The values are those of 0.7.11's ``Client``.

Left out on purpose: ``WEBSOCKET_DEPTH_1``, ``WEBSOCKET_UPDATE_0SECOND`` and
``WEBSOCKET_UPDATE_1SECOND`` (in ``binance.enums`` only from 0.3.4 to 0.4.1, and the
``@depth1`` and ``@0ms`` streams they built are long retired), and the ``Client`` attributes
0.7.11 did not put in ``binance.enums`` (URLs, API versions, the asset-transfer types such
as ``SPOT_TO_FIAT``).

The module is plain constants: no imports, nothing else is exported by ``import *``.
"""

__all__ = [
    "AGG_BEST_MATCH",
    "AGG_BUYER_MAKES",
    "AGG_FIRST_TRADE_ID",
    "AGG_ID",
    "AGG_LAST_TRADE_ID",
    "AGG_PRICE",
    "AGG_QUANTITY",
    "AGG_TIME",
    "FUTURE_ORDER_TYPE_LIMIT",
    "FUTURE_ORDER_TYPE_LIMIT_MAKER",
    "FUTURE_ORDER_TYPE_MARKET",
    "FUTURE_ORDER_TYPE_STOP",
    "FUTURE_ORDER_TYPE_STOP_MARKET",
    "FUTURE_ORDER_TYPE_TAKE_PROFIT",
    "FUTURE_ORDER_TYPE_TAKE_PROFIT_MARKET",
    "KLINE_INTERVAL_1DAY",
    "KLINE_INTERVAL_1HOUR",
    "KLINE_INTERVAL_1MINUTE",
    "KLINE_INTERVAL_1MONTH",
    "KLINE_INTERVAL_1SECOND",
    "KLINE_INTERVAL_1WEEK",
    "KLINE_INTERVAL_2HOUR",
    "KLINE_INTERVAL_3DAY",
    "KLINE_INTERVAL_3MINUTE",
    "KLINE_INTERVAL_4HOUR",
    "KLINE_INTERVAL_5MINUTE",
    "KLINE_INTERVAL_6HOUR",
    "KLINE_INTERVAL_8HOUR",
    "KLINE_INTERVAL_12HOUR",
    "KLINE_INTERVAL_15MINUTE",
    "KLINE_INTERVAL_30MINUTE",
    "ORDER_RESP_TYPE_ACK",
    "ORDER_RESP_TYPE_FULL",
    "ORDER_RESP_TYPE_RESULT",
    "ORDER_STATUS_CANCELED",
    "ORDER_STATUS_EXPIRED",
    "ORDER_STATUS_FILLED",
    "ORDER_STATUS_NEW",
    "ORDER_STATUS_PARTIALLY_FILLED",
    "ORDER_STATUS_PENDING_CANCEL",
    "ORDER_STATUS_REJECTED",
    "ORDER_TYPE_LIMIT",
    "ORDER_TYPE_LIMIT_MAKER",
    "ORDER_TYPE_MARKET",
    "ORDER_TYPE_STOP_LOSS",
    "ORDER_TYPE_STOP_LOSS_LIMIT",
    "ORDER_TYPE_TAKE_PROFIT",
    "ORDER_TYPE_TAKE_PROFIT_LIMIT",
    "SIDE_BUY",
    "SIDE_SELL",
    "SYMBOL_TYPE_SPOT",
    "TIME_IN_FORCE_FOK",
    "TIME_IN_FORCE_GTC",
    "TIME_IN_FORCE_GTX",
    "TIME_IN_FORCE_IOC",
    "WEBSOCKET_DEPTH_5",
    "WEBSOCKET_DEPTH_10",
    "WEBSOCKET_DEPTH_20",
]

SYMBOL_TYPE_SPOT = "SPOT"

ORDER_STATUS_NEW = "NEW"
ORDER_STATUS_PARTIALLY_FILLED = "PARTIALLY_FILLED"
ORDER_STATUS_FILLED = "FILLED"
ORDER_STATUS_CANCELED = "CANCELED"
ORDER_STATUS_PENDING_CANCEL = "PENDING_CANCEL"
ORDER_STATUS_REJECTED = "REJECTED"
ORDER_STATUS_EXPIRED = "EXPIRED"

# Candle intervals, as in stream names (``btcusdt@kline_1m``). "1M" is a month, "1m" a minute.
KLINE_INTERVAL_1SECOND = "1s"  # addition: not in 0.7.11
KLINE_INTERVAL_1MINUTE = "1m"
KLINE_INTERVAL_3MINUTE = "3m"
KLINE_INTERVAL_5MINUTE = "5m"
KLINE_INTERVAL_15MINUTE = "15m"
KLINE_INTERVAL_30MINUTE = "30m"
KLINE_INTERVAL_1HOUR = "1h"
KLINE_INTERVAL_2HOUR = "2h"
KLINE_INTERVAL_4HOUR = "4h"
KLINE_INTERVAL_6HOUR = "6h"
KLINE_INTERVAL_8HOUR = "8h"
KLINE_INTERVAL_12HOUR = "12h"
KLINE_INTERVAL_1DAY = "1d"
KLINE_INTERVAL_3DAY = "3d"
KLINE_INTERVAL_1WEEK = "1w"
KLINE_INTERVAL_1MONTH = "1M"

SIDE_BUY = "BUY"
SIDE_SELL = "SELL"

ORDER_TYPE_LIMIT = "LIMIT"
ORDER_TYPE_MARKET = "MARKET"
ORDER_TYPE_STOP_LOSS = "STOP_LOSS"
ORDER_TYPE_STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
ORDER_TYPE_TAKE_PROFIT = "TAKE_PROFIT"
ORDER_TYPE_TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"
ORDER_TYPE_LIMIT_MAKER = "LIMIT_MAKER"

# USD-M futures order types.
FUTURE_ORDER_TYPE_LIMIT = "LIMIT"
FUTURE_ORDER_TYPE_MARKET = "MARKET"
FUTURE_ORDER_TYPE_STOP = "STOP"
FUTURE_ORDER_TYPE_STOP_MARKET = "STOP_MARKET"
FUTURE_ORDER_TYPE_TAKE_PROFIT = "TAKE_PROFIT"
FUTURE_ORDER_TYPE_TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
FUTURE_ORDER_TYPE_LIMIT_MAKER = "LIMIT_MAKER"

TIME_IN_FORCE_GTC = "GTC"  # Good till cancelled
TIME_IN_FORCE_IOC = "IOC"  # Immediate or cancel
TIME_IN_FORCE_FOK = "FOK"  # Fill or kill
TIME_IN_FORCE_GTX = "GTX"  # Post only order

ORDER_RESP_TYPE_ACK = "ACK"
ORDER_RESP_TYPE_RESULT = "RESULT"
ORDER_RESP_TYPE_FULL = "FULL"

# Partial book depth levels (``btcusdt@depth5``); the manager's ``depth=`` argument.
WEBSOCKET_DEPTH_5 = "5"
WEBSOCKET_DEPTH_10 = "10"
WEBSOCKET_DEPTH_20 = "20"

# Keys of an aggregate trade (``aggTrade`` stream, ``GET /api/v3/aggTrades``).
# Addition: in 0.7.11 these were ``Client.AGG_*`` only.
AGG_ID = "a"
AGG_PRICE = "p"
AGG_QUANTITY = "q"
AGG_FIRST_TRADE_ID = "f"
AGG_LAST_TRADE_ID = "l"
AGG_TIME = "T"
AGG_BUYER_MAKES = "m"
AGG_BEST_MATCH = "M"
