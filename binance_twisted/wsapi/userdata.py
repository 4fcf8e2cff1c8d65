"""User-data subscriptions on the WebSocket API: Spot (signature or logon) and margin tokens.

A :class:`UserDataSubscription` is one account's event stream on a
:class:`~binance_twisted.wsapi.WebSocketAPI`. Binance numbers subscriptions per session, so it
subscribes again on every new session (reconnect, rotation) and after an
``eventStreamTerminated`` nobody asked for; a margin listenToken is renewed before it expires.
It talks to its connection through :class:`UserDataHost` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from binance_twisted._core.protocol import SessionProtocol
from binance_twisted.errors import BinanceAPIError, ClientClosedError, callable_name

__all__ = ["UserDataHost", "UserDataSubscription"]

log = Logger(namespace="binance_twisted.wsapi")

_INVALID_TIMESTAMP = -1021


class UserDataHost(Protocol):
    """What a subscription needs from its WebSocket API connection."""

    name: str

    @property
    def clock(self) -> IReactorTime:
        """The reactor the connection schedules on."""

    def current_session(self) -> SessionProtocol | None:
        """The session requests go to now, if one is open."""

    def send_on(
        self,
        proto: SessionProtocol,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
    ) -> defer.Deferred:
        """Send a request on this very session (a subscription lives on one session)."""

    def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        signed: bool = False,
        timeout: float | None = None,
    ) -> defer.Deferred:
        """Send a request on whatever session is current."""

    def sync_time(self) -> defer.Deferred:
        """Re-measure the offset to Binance's clock."""

    def subscription_live(self, proto: SessionProtocol) -> None:
        """A subscription is live on ``proto`` (a rotation may be waiting for it)."""

    def subscription_ended(self, subscription: UserDataSubscription) -> None:
        """Forget ``subscription``: it is not subscribed again."""


class UserDataSubscription:
    """One account's user-data stream; subscribed again on every new session."""

    def __init__(
        self,
        api: UserDataHost,
        kind: str,
        on_event: Callable[[dict], Any],
        on_error: Callable[[Exception], Any] | None,
        token_source: Callable[[], defer.Deferred] | None = None,
    ) -> None:
        self.api = api
        self.kind = kind
        self.on_event = on_event
        self.on_error = on_error
        self.token_source = token_source
        #: subscriptionId per session (Binance numbers them per connection)
        self.ids: dict[SessionProtocol, int] = {}
        self.active = True
        self.ready: defer.Deferred = defer.Deferred()
        self._renewal: IDelayedCall | None = None
        self._resynced = False

    def __repr__(self) -> str:
        return f"<UserDataSubscription {self.kind} {'active' if self.active else 'ended'}>"

    def unsubscribe(self) -> defer.Deferred:
        """End the subscription (``userDataStream.unsubscribe``); events stop."""
        self.active = False
        self._cancel_renewal()
        self.api.subscription_ended(self)
        session = self.api.current_session()
        subscription_id = self.ids.get(session) if session is not None else None
        self.ids.clear()
        if subscription_id is None:
            return defer.succeed(None)
        d = self.api.request("userDataStream.unsubscribe", {"subscriptionId": subscription_id})
        return d.addCallback(lambda _: None)

    def resubscribe(self, proto: SessionProtocol) -> None:
        """Subscribe on ``proto`` (a new session, or after an unrequested termination)."""
        if not self.active:
            return
        self.ids.pop(proto, None)
        d = self._subscribe_request(proto)
        d.addCallbacks(self._subscribed, self._failed, callbackArgs=(proto,), errbackArgs=(proto,))

    def deliver(self, proto: SessionProtocol, event: dict) -> None:
        if event.get("e") == "eventStreamTerminated":
            self.ids.pop(proto, None)
            if self.active and proto is self.api.current_session():
                log.info(
                    "{api}: user data stream ended by Binance; subscribing again", api=self.api.name
                )
                self.resubscribe(proto)
            return
        try:
            self.on_event(event)
        except Exception:
            log.failure(
                "{api}: user-data callback {callback} raised on {e}",
                api=self.api.name,
                callback=callable_name(self.on_event),
                e=event.get("e"),
            )

    def connection_ended(self, error: Exception) -> None:
        """The API connection closed or gave up: nothing more will come."""
        self.ids.clear()
        self._cancel_renewal()
        if not self.ready.called:
            self.ready.errback(error)
        elif self.active and not isinstance(error, ClientClosedError):
            self._report(error)

    # -- internals -----------------------------------------------------------------------

    def _subscribe_request(self, proto: SessionProtocol) -> defer.Deferred:
        api = self.api
        if self.kind == "signature":
            return api.send_on(proto, "userDataStream.subscribe.signature", signed=True)
        if self.kind == "logon":
            logged_on = api.send_on(proto, "session.logon", signed=True)
            return logged_on.addCallback(lambda _: api.send_on(proto, "userDataStream.subscribe"))
        assert self.token_source is not None
        d = defer.maybeDeferred(self.token_source)

        def subscribe(token: tuple[str, int]) -> defer.Deferred:
            listen_token, expiration = token
            self._schedule_renewal(expiration)
            return api.send_on(
                proto, "userDataStream.subscribe.listenToken", {"listenToken": listen_token}
            )

        return d.addCallback(subscribe)

    def _subscribed(self, result: Any, proto: SessionProtocol) -> None:
        self.ids[proto] = int(result["subscriptionId"])
        self._resynced = False
        if not self.ready.called:
            self.ready.callback(self)
        self.api.subscription_live(proto)

    def _failed(self, failure: Any, proto: SessionProtocol) -> None:
        error = failure.value
        if (
            isinstance(error, BinanceAPIError)
            and error.code == _INVALID_TIMESTAMP
            and not self._resynced
        ):
            self._resynced = True  # resync the clock once, then try once more
            self.api.sync_time().addCallbacks(
                lambda _: self.resubscribe(proto), lambda f: self._failed(f, proto)
            )
            return
        if not self.ready.called:
            self.active = False
            self.api.subscription_ended(self)
            self.ready.errback(failure)
            return
        self._report(error)

    def _report(self, error: Exception) -> None:
        log.error("{api}: user data: {error}", api=self.api.name, error=error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:
                log.failure("{api}: on_error raised", api=self.api.name)

    def _schedule_renewal(self, expiration_ms: int) -> None:
        """Subscribe a fresh token well before this one expires (10 % or 5 min early)."""
        self._cancel_renewal()
        remaining = expiration_ms / 1000 - self.api.clock.seconds()
        lead = max(remaining * 0.1, min(300.0, remaining / 2))
        self._renewal = self.api.clock.callLater(max(remaining - lead, 1.0), self._renew)

    def _renew(self) -> None:
        self._renewal = None
        session = self.api.current_session()
        if self.active and session is not None:
            self.resubscribe(session)

    def _cancel_renewal(self) -> None:
        if self._renewal is not None and self._renewal.active():
            self._renewal.cancel()
        self._renewal = None
