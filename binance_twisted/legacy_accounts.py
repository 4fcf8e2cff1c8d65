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
from typing import Any
from urllib.parse import urlsplit

import attrs
from twisted.internet import defer

from binance_twisted.errors import MissingCredentialsError
from binance_twisted.legacy_sockets import LegacySocket
from binance_twisted.signing import Signer, load_signer
from binance_twisted.userdata import ListenKeyStream, subscribe_margin
from binance_twisted.wsapi import UserDataSubscription

__all__ = ["KINDS", "AccountSocket", "Credentials", "rest_root"]

#: kind → the conn_key the legacy method returns (a name, never a key or token)
KINDS = {
    "user": "user",
    "us_spot": "user",  # Binance.US Spot user data over a listenKey
    "margin": "margin",
    "isolated": "isolated_margin:{symbol}",
    "futures": "futures_user",
    "coin_futures": "coin_futures_user",
}


@attrs.frozen
class Credentials:
    """The API key and its loaded signer; the secret itself is not kept.

    Loading happens in the caller's thread when a socket or request is started, so a bad
    key or PEM file raises there, before any I/O, and the reactor thread never reads files.
    """

    api_key: str
    signer: Signer = attrs.field(repr=False)

    @classmethod
    def find(cls, options: Any, client: Any) -> Credentials:
        """From the ``api_key``/``api_secret`` options, else ``client.API_KEY``/``API_SECRET``."""
        key = options.api_key or getattr(client, "API_KEY", None)
        secret = options.api_secret or getattr(client, "API_SECRET", None)
        missing = [n for n, v in (("api_key", key), ("api_secret", secret)) if not v]
        if missing:
            raise MissingCredentialsError(
                f"account sockets need {' and '.join(missing)}: pass them as options or "
                "give a client with API_KEY and API_SECRET"
            )
        assert secret is not None
        return cls(str(key), load_signer(secret))


def rest_root(url: str | None) -> str | None:
    """``https://api.binance.com`` from python-binance's ``API_URL`` (``…/api``) and the like."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class AccountSocket(LegacySocket):
    """A legacy account socket: a WebSocket API subscription or a listen-key stream."""

    def __init__(self, key: str, kind: str, callback: Callable, symbol: str | None) -> None:
        super().__init__(None, key, callback)
        self.kind = kind
        self.symbol = symbol
        self.subscription: UserDataSubscription | None = None
        self.stream: ListenKeyStream | None = None

    def open(self, manager: Any) -> None:
        """On the reactor thread: start the right mechanism for this kind."""
        self.manager = manager
        if self.stopped:
            return
        if self.kind in ("futures", "coin_futures", "us_spot"):
            self.stream = manager._listen_key_stream(self.kind, self)
            self.stream.start().addErrback(self.failed)
            return
        api = manager._account_api()
        if self.kind == "user":
            d = api.subscribe_user_data(self.deliver, on_error=self.report)
        else:
            rest = manager._rest("rest_url")
            d = subscribe_margin(api, rest, self.deliver, symbol=self.symbol, on_error=self.report)
        d.addCallbacks(self.subscribed, self.failed)

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
