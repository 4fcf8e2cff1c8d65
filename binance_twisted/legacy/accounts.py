"""Account sockets of the legacy managers, on the mechanisms Binance offers today.

python-binance 0.7.11 fetched a Spot or margin listenKey over REST and kept it alive from a
timer thread; Binance removed those keys on 2026-02-20. Here ``start_user_socket`` rides on
the WebSocket API (``userDataStream.subscribe.signature``), ``start_margin_socket`` and
``start_isolated_margin_socket`` on a margin listenToken, and python-binance 1.x's futures
user sockets on a listenKey that is kept alive and recreated when it dies. The callback
gets the same event dicts as before, and problems as the flat legacy error dict.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer

from binance_twisted.accounts.margin import subscribe_margin
from binance_twisted.accounts.streams import ListenKeyStream
from binance_twisted.legacy.sockets import LegacySocket, SocketRegistry
from binance_twisted.legacy.venue import Venue
from binance_twisted.wsapi.userdata import UserDataSubscription

__all__ = ["ACCOUNT_API_KINDS", "KINDS", "AccountSocket"]

#: kind → the conn_key the legacy method returns (a name, never a key or token)
KINDS = {
    "user": "user",
    "us_spot": "user",  # Binance.US Spot user data over a listenKey
    "margin": "margin",
    "isolated": "isolated_margin:{symbol}",
    "futures": "futures_user",
    "coin_futures": "coin_futures_user",
}
#: kinds carried by the venue's one account WebSocket API connection
ACCOUNT_API_KINDS = ("user", "margin", "isolated")
#: kinds carried by a listen-key stream of their own
_LISTEN_KEY_KINDS = ("futures", "coin_futures", "us_spot")


class AccountSocket(LegacySocket):
    """A legacy account socket: a WebSocket API subscription or a listen-key stream."""

    def __init__(
        self,
        venue: Venue,
        registry: SocketRegistry,
        key: str,
        kind: str,
        callback: Callable,
        symbol: str | None,
    ) -> None:
        super().__init__(venue, registry, key, callback)
        self.kind = kind
        self.symbol = symbol
        self.subscription: UserDataSubscription | None = None
        self.stream: ListenKeyStream | None = None

    def open(self) -> defer.Deferred:
        """On the reactor thread: start the right mechanism for this kind."""
        if self.stopped:
            return defer.succeed(None)
        venue = self.venue
        if self.kind in _LISTEN_KEY_KINDS:
            self.stream = venue.listen_key_stream(self.kind, self)
            return self.stream.start().addErrback(self.failed)
        api = venue.account_api()
        if self.kind == "user":
            d = api.subscribe_user_data(self.deliver, on_error=self.report)
        else:
            rest = venue.rest("rest_url")
            d = subscribe_margin(api, rest, self.deliver, symbol=self.symbol, on_error=self.report)
        return d.addCallbacks(self.subscribed, self.failed)

    def subscribed(self, subscription: UserDataSubscription) -> None:
        if self.stopped:
            subscription.unsubscribe().addErrback(lambda _: None)
        else:
            self.subscription = subscription

    def close(self) -> defer.Deferred:
        """On the reactor thread: end the subscription or stream (idempotent)."""
        self.stopped = True
        if self.subscription is not None:
            subscription, self.subscription = self.subscription, None
            return subscription.unsubscribe().addErrback(lambda _: None)
        if self.stream is not None:
            stream, self.stream = self.stream, None
            return stream.close()
        return defer.succeed(None)
