"""The user-data side of the fake's WebSocket API connection: subscriptions and their events.

``userDataStream.subscribe`` (over a ``session.logon``), ``.subscribe.signature``,
``.subscribe.listenToken`` (which expires with its token), ``.unsubscribe`` and
``session.subscriptions``; events go out as ``{"subscriptionId": N, "event": {...}}`` and an
ended subscription says ``eventStreamTerminated`` (binance-platform.md §3.3, §3.5).
:class:`~._wsapi.WsApiConnection` adds the requests, weights and sessions on top.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

import attrs
from twisted.internet.interfaces import IDelayedCall

from binance_twisted._json import dumps
from binance_twisted.testing._auth import check_timestamp, wsapi_payload
from binance_twisted.testing._errors import ApiError, invalid_signature, mandatory
from binance_twisted.testing._protocol import Connection, Hub
from binance_twisted.testing._userdata import FakeAccount, UserData
from binance_twisted.testing._wsapi_call import TradingHub

__all__ = ["UserDataConnection", "UserSubscription", "WsApiHub"]

_MAX_SUBSCRIPTION_IDS = 65535


@attrs.define(eq=False)
class UserSubscription:
    """One user-data subscription on one connection."""

    id: int
    account: FakeAccount
    product: str
    via: str  # "signature", "logon" or "listenToken"
    expiration_ms: int | None = None
    call: IDelayedCall | None = None

    def cancel_timer(self) -> None:
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None


class WsApiHub(Hub, TradingHub, Protocol):
    """What a WebSocket API connection needs from the fake on top of :class:`Hub`."""

    userdata: UserData
    logon_key_types: frozenset[str]

    def server_ms(self) -> int:
        """The server clock in ms, skew included."""

    def weigh(self, weight: int, venue: str = "spot") -> int:
        """Count a request's weight; this minute's total for the venue."""

    def take_wsapi_fault(self, method: str) -> Any:
        """The :class:`~._state.Fault` for this request of ``method``, if any."""


class UserDataConnection(Connection):
    """A WebSocket API connection's user-data subscriptions (the base of ``WsApiConnection``)."""

    _logon: FakeAccount | None = None
    _after: list[Callable[[], None]] | None = None
    _subs: dict[int, UserSubscription]
    _ids_used: int

    @property
    def api_hub(self) -> WsApiHub:
        """The fake, seen as a WebSocket API server."""
        return cast(WsApiHub, self.hub)

    @property
    def logged_on(self) -> str | None:
        """The API key this session is logged on with, if any."""
        return self._logon.api_key if self._logon else None

    @property
    def subscriptions(self) -> dict[int, tuple[str, str]]:
        """The active user-data subscriptions: id to ``(api_key, product)``."""
        return {n: (s.account.api_key, s.product) for n, s in self._subs.items()}

    def deliver_user_event(self, account: FakeAccount, product: str, event: Any) -> int:
        """Send ``event`` on every subscription of ``account`` for ``product`` here."""
        sent = 0
        for subscription in list(self._subs.values()):
            if subscription.account is account and subscription.product == product:
                frame = {"subscriptionId": subscription.id, "event": event}
                sent += self.send(dumps(frame))
        return sent

    def end_subscription(self, subscription: UserSubscription, why: str) -> None:
        """Drop a live subscription now and send its ``eventStreamTerminated``."""
        if self._subs.get(subscription.id) is subscription:
            self._drop(subscription)
            self._terminated(subscription, why)

    def terminate(self, api_key: str | None) -> int:
        """End every subscription (of ``api_key``, if given); returns how many."""
        ended = [s for s in self._subs.values() if api_key is None or s.account.api_key == api_key]
        for subscription in ended:
            self.end_subscription(subscription, "server")
        return len(ended)

    def _drop(self, subscription: UserSubscription) -> None:
        subscription.cancel_timer()
        self._subs.pop(subscription.id, None)

    def _drop_after_response(self, subscription: UserSubscription, why: str) -> None:
        """Drop now; ``eventStreamTerminated`` follows the response being built."""
        self._drop(subscription)
        if self._after is None:
            self._after = []
        self._after.append(lambda: self._terminated(subscription, why))

    def _terminated(self, subscription: UserSubscription, why: str) -> None:
        hub = self.api_hub
        event = {"e": "eventStreamTerminated", "E": hub.server_ms()}
        self.send(dumps({"subscriptionId": subscription.id, "event": event}))
        detail = {"subscriptionId": subscription.id, "product": subscription.product, "by": why}
        hub.record("subscription-ended", self, detail)

    def _subscribe(self, account: FakeAccount, product: str, via: str) -> UserSubscription:
        for subscription in self._subs.values():
            if subscription.account is account and subscription.product == product:
                raise ApiError(400, -2035, "User Data Stream subscription already active.")
        if self._ids_used >= _MAX_SUBSCRIPTION_IDS:
            raise ApiError(400, -2042, "Maximum subscription ID reached for this connection.")
        subscription = UserSubscription(self._ids_used, account, product, via)
        self._ids_used += 1
        self._subs[subscription.id] = subscription
        return subscription

    def _verified(self, params: dict[str, Any], product: str) -> FakeAccount:
        """The account of a signed request whose key, timestamp and signature check out."""
        hub = self.api_hub
        for name in ("apiKey", "timestamp", "signature"):
            if params.get(name) in (None, ""):
                raise mandatory(name)
        account = hub.userdata.authorise(params["apiKey"], product)
        check_timestamp(params, hub.server_ms())
        signature = params["signature"]
        if not isinstance(signature, str) or not account.credential.verify(
            wsapi_payload(params), signature
        ):
            raise invalid_signature()
        return account

    def _subscribe_logon(self, params: dict[str, Any]) -> Any:
        if self._logon is None:
            raise ApiError(401, -1002, "You are not authorized to execute this request.")
        account = self.api_hub.userdata.authorise(self._logon.api_key, "spot")
        return {"subscriptionId": self._subscribe(account, "spot", "logon").id}

    def _subscribe_signature(self, params: dict[str, Any]) -> Any:
        account = self._verified(params, "spot")
        return {"subscriptionId": self._subscribe(account, "spot", "signature").id}

    def _subscribe_token(self, params: dict[str, Any]) -> Any:
        hub = self.api_hub
        value = params.get("listenToken")
        if value in (None, ""):
            raise mandatory("listenToken")
        token = hub.userdata.live_token(value) if isinstance(value, str) else None
        if token is None:
            raise ApiError(400, -1209, "Invalid listenToken.")
        existing = [
            s
            for s in self._subs.values()
            if s.account is token.account and s.product == token.product and s.via == "listenToken"
        ]
        if existing:
            subscription = existing[0]
        else:
            subscription = self._subscribe(token.account, token.product, "listenToken")
        if subscription.expiration_ms is None or token.expiration_ms > subscription.expiration_ms:
            subscription.expiration_ms = token.expiration_ms
        subscription.cancel_timer()
        delay = max(0.0, (subscription.expiration_ms - hub.server_ms()) / 1000)
        subscription.call = hub.clock.callLater(
            delay, self.end_subscription, subscription, "expired"
        )
        return {"subscriptionId": subscription.id, "expirationTime": subscription.expiration_ms}

    def _unsubscribe(self, params: dict[str, Any]) -> Any:
        wanted = params.get("subscriptionId")
        if wanted is None:
            ending = list(self._subs.values())
        else:
            if isinstance(wanted, str) and wanted.isascii() and wanted.isdigit():
                wanted = int(wanted)
            found = self._subs.get(wanted) if isinstance(wanted, int) else None
            if found is None:
                raise ApiError(400, -2036, "User Data Stream subscription not active.")
            ending = [found]
        for subscription in ending:
            self._drop_after_response(subscription, "client")
        return {}

    def _subscriptions(self, params: dict[str, Any]) -> Any:
        return [{"subscriptionId": n} for n in sorted(self._subs)]
