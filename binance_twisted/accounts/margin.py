"""Margin user data (cross and isolated): a listenToken subscribed on the WebSocket API.

Binance removed margin listenKeys on 2026-02-20. A token from ``POST /sapi/v1/userListenToken``
is subscribed with ``userDataStream.subscribe.listenToken`` and renewed (a new token subscribed)
before it expires and after every new session (binance-platform.md §3.5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from binance_twisted.accounts.listenkeys import create_listen_token
from binance_twisted.rest import RestClient
from binance_twisted.wsapi.connection import WebSocketAPI
from binance_twisted.wsapi.userdata import UserDataSubscription

__all__ = ["subscribe_margin"]


def subscribe_margin(
    api: WebSocketAPI,
    rest: RestClient,
    on_event: Callable[[dict], Any],
    *,
    symbol: str | None = None,
    on_error: Callable[[Exception], Any] | None = None,
) -> defer.Deferred[UserDataSubscription]:
    """Cross-margin (or, with ``symbol``, isolated-margin) user data via a listenToken.

    ``rest`` must be signed (API key and secret) on the Spot REST base (``/sapi``). Fires
    with the :class:`~binance_twisted.wsapi.UserDataSubscription`; tokens are renewed
    before they expire and after every reconnect.
    """
    return api.subscribe_listen_token(
        lambda: create_listen_token(rest, symbol=symbol), on_event, on_error=on_error
    )
