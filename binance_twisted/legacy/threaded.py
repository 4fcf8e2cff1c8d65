"""python-binance 1.x's ``ThreadedWebsocketManager``, on the same facade as the 0.x manager.

1.x code calls ``twm.start()``, then ``twm.start_kline_socket(callback=handle,
symbol="BNBBTC", interval=...)`` (callback first, usually by keyword), gets the stream name
back, and ends with ``twm.stop()`` and ``twm.join()``. The inherited ``start_*`` methods
accept that order already; this class adds 1.x's constructor, ``stop()`` and the 1.x-only
sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from binance_twisted.legacy import plans
from binance_twisted.legacy.manager import BinanceSocketManager

__all__ = ["ThreadedWebsocketManager"]


class ThreadedWebsocketManager(BinanceSocketManager):
    """Drop-in for ``binance.ThreadedWebsocketManager`` (python-binance 1.x).

    ``requests_params``, ``session_params``, ``https_proxy``, ``loop`` and ``max_queue_size``
    are accepted for compatibility and ignored: there is no asyncio loop and no queue;
    callbacks run on the reactor thread as soon as a message is decoded. Other keyword
    options are those of :class:`~binance_twisted.BinanceSocketManager`; retries default to
    ``None`` (forever) instead of 0.x's 5.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        requests_params: dict | None = None,
        tld: str = "com",
        testnet: bool = False,
        session_params: dict | None = None,
        https_proxy: str | None = None,
        loop: Any = None,
        max_queue_size: int = 100,
        **options: Any,
    ) -> None:
        options.setdefault("max_retries", None)
        super().__init__(
            None, api_key=api_key, api_secret=api_secret, tld=tld, testnet=testnet, **options
        )
        self.name = "ThreadedWebsocketManager"

    def stop(self) -> None:
        """Stop every socket and end the manager thread (``join()`` then returns)."""
        self.close()

    def start_symbol_miniticker_socket(self, callback: Callable, symbol: str) -> str | bool:
        """``<sym>@miniTicker`` (1.x)."""
        return self._start(plans.symbol_miniticker(symbol), callback)

    def start_futures_multiplex_socket(
        self, callback: Callable, streams: Iterable[str], futures_type: Any = None
    ) -> str | bool:
        """Several futures streams on one key (1.x); messages are ``{stream, data}``.

        ``futures_type``: python-binance's ``FuturesType.USD_M`` (default) or ``COIN_M``.
        """
        market = plans.futures_market(futures_type)
        return self._start(plans.on_market(plans.futures_multiplex(streams), market), callback)
