"""Account (user-data) streams on today's Binance, one module per mechanism.

* **Spot**: the WebSocket API (``userDataStream.subscribe.signature``), see
  :meth:`binance_twisted.wsapi.WebSocketAPI.subscribe_user_data`.
* **Margin** (cross and isolated): a ``listenToken`` subscribed on the WebSocket API and
  renewed before it expires: :func:`subscribe_margin`.
* **USD-M and COIN-M futures, portfolio margin, the margin risk stream, Binance.US Spot**:
  a listenKey, kept alive, on its own stream socket: :class:`ListenKeyStream`.
"""

from binance_twisted.accounts.listenkeys import (
    LISTEN_KEY_PRODUCTS,
    ListenKeyProduct,
    ListenKeys,
    create_listen_token,
)
from binance_twisted.accounts.margin import subscribe_margin
from binance_twisted.accounts.streams import (
    KeepaliveService,
    ListenKeyStream,
    listen_key_stream_url,
)

__all__ = [
    "LISTEN_KEY_PRODUCTS",
    "KeepaliveService",
    "ListenKeyProduct",
    "ListenKeyStream",
    "ListenKeys",
    "create_listen_token",
    "listen_key_stream_url",
    "subscribe_margin",
]
