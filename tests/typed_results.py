"""What an IDE completes after ``await``: checked by mypy (``tox -e typing``), never run.

Each ``assert_type`` fails the typing job if an awaited result loses its type again (it
was a bare ``Deferred``, so ``sub.`` completed nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import assert_type

    from binance_twisted import StreamClient
    from binance_twisted.aio import AsyncSocket, BinanceSocketManager
    from binance_twisted.market.client import Subscription
    from binance_twisted.wsapi import UserDataSubscription, WebSocketAPI

    async def awaited(client: StreamClient, api: WebSocketAPI, bm: BinanceSocketManager) -> None:
        sub = await client.subscribe(["btcusdt@trade"], print)
        assert_type(sub, Subscription)
        assert_type(await sub.add(["ethusdt@trade"]), Subscription)
        assert_type(await client.list_subscriptions(), list[str])
        assert_type(await api.subscribe_user_data(print), UserDataSubscription)
        assert_type(await api.sync_time(), float)
        assert_type(bm.trade_socket("BNBBTC"), AsyncSocket)
