"""Listen-key streams: USD-M and COIN-M futures, portfolio margin, margin risk, Binance.US Spot.

A :class:`ListenKeyStream` creates the key over REST, connects to the product's stream host
(the 2026 layout, :func:`listen_key_stream_url`), keeps the key alive with a
:class:`KeepaliveService` and recreates it when it dies. Its silence limit follows the
product's market (futures servers ping every 3 minutes, :mod:`binance_twisted.venues`).

A listenKey is a credential: it never appears in logs, reprs or error text here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from binance_twisted import venues
from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._core.protocol import SessionProtocol
from binance_twisted._core.rotation import Rotation
from binance_twisted._core.session import ReconnectingSession
from binance_twisted._core.tls import TrustRoot, load_trust_root
from binance_twisted.accounts.listenkeys import ListenKeys
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import BinanceAPIError, callable_name
from binance_twisted.events import ConnectionEvent

__all__ = ["KeepaliveService", "ListenKeyStream", "listen_key_stream_url"]

log = Logger(namespace="binance_twisted.accounts")

_INVALID_LISTEN_KEY = -1125
#: a failed keepalive is retried after 10 s, doubling up to 5 min (the key lives 60 min)
_RETRY_FIRST = 10.0
_RETRY_MAX = 300.0


#: product → (the Endpoints field of its stream host, how the key is put in the URL)
_STREAM_FORMS = {
    "futures": ("futures_private_url", "/ws?listenKey="),
    "coin_futures": ("coin_futures_stream_url", "/ws/"),
    "portfolio_margin": ("portfolio_margin_stream_url", "/ws/"),
    "margin_risk": ("margin_risk_stream_url", "/ws/"),
    "us_spot": ("stream_url", "/ws/"),
}


def _stream_base(endpoints: Endpoints, product: str) -> str:
    if product not in _STREAM_FORMS:
        raise ValueError(f"product must be one of {', '.join(_STREAM_FORMS)}, got {product!r}")
    base = getattr(endpoints, _STREAM_FORMS[product][0])
    if base is None:
        raise ValueError(f"{endpoints.name} has no stream endpoint for {product}")
    return str(base).rstrip("/")


def listen_key_stream_url(endpoints: Endpoints, product: str, key: str) -> str:
    """Where the events of ``product``'s listenKey ``key`` are served (2026 layout)."""
    return f"{_stream_base(endpoints, product)}{_STREAM_FORMS[product][1]}{key}"


@attrs.define(slots=False, eq=False)
class KeepaliveService(Service):
    """A :class:`~twisted.application.service.Service` that calls ``extend()`` every
    ``interval`` seconds while it runs, and backs off when that fails.

    In the shape of txacme's issuing service: a small attrs object with an injected clock,
    so tests drive it with :class:`~twisted.internet.task.Clock`. A failure is handed to
    ``failed(error, retry_in)`` and retried after 10 s, doubling up to 5 min; a success
    resets the backoff. Nothing runs between :meth:`stopService` and the next
    :meth:`startService`; starting a running service restarts its period.
    """

    clock: IReactorTime
    interval: float
    extend: Callable[[], defer.Deferred]
    failed: Callable[[Exception, float], Any]
    _call: IDelayedCall | None = attrs.field(default=None, init=False)
    _failures: int = attrs.field(default=0, init=False)

    def startService(self) -> None:
        """(Re)start the period: the next call is ``interval`` seconds from now."""
        Service.startService(self)
        self._failures = 0
        self._schedule(self.interval)

    def stopService(self) -> None:
        Service.stopService(self)
        self._cancel()

    def retry_soon(self) -> float:
        """Try again after the next backoff step; returns the delay."""
        self._failures += 1
        delay = min(_RETRY_FIRST * 2 ** (self._failures - 1), _RETRY_MAX)
        self._schedule(delay)
        return delay

    def _cancel(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _schedule(self, delay: float) -> None:
        self._cancel()
        self._call = self.clock.callLater(delay, self._run)

    def _run(self) -> None:
        self._call = None
        self.extend().addCallbacks(self._extended, self._extend_failed)

    def _extended(self, _: Any) -> None:
        self._failures = 0
        self._schedule(self.interval)

    def _extend_failed(self, failure: Any) -> None:
        self.failed(failure.value, self.retry_soon())


class _KeyRotation(Rotation):
    """Moving to a new listenKey: the new socket carries everything as soon as it is open."""

    def begin(self, proto: SessionProtocol) -> None:
        self.finish()


class ListenKeyStream(ReconnectingSession):
    """A listenKey stream: create the key, connect, keep it alive, recreate it when it dies.

    Every ``keepalive_every`` seconds (default 30 min, half the key's 60-min life) the key
    is extended with PUT. A transient keepalive failure is retried with backoff (10 s,
    doubling up to 5 min); ``-1125``
    (key unknown), ``listenKeyExpired`` or a failed keepalive recreate the key, and the
    socket moves to it make-before-break (the stale socket is closed, never leaked).
    ``on_error`` hears about what failed; ``on_event`` receives each event dict.
    """

    rotation_class = _KeyRotation

    def __init__(
        self,
        reactor: IReactorTime,
        endpoints: Endpoints,
        listen_keys: ListenKeys,
        on_event: Callable[[dict], Any],
        *,
        on_error: Callable[[Exception], Any] | None = None,
        keepalive_every: float = 1800.0,
        policy: ConnectionPolicy | None = None,
        trust_root: TrustRoot = None,
        on_connection_event: Callable[[ConnectionEvent], Any] | None = None,
    ) -> None:
        if keepalive_every <= 0:
            raise ValueError(f"keepalive_every must be positive, got {keepalive_every!r}")
        product = listen_keys.product.name
        super().__init__(
            reactor,
            product,
            _stream_base(endpoints, product),  # fails here, before I/O, if there is none
            policy=policy if policy is not None else ConnectionPolicy(),
            profile=venues.profile(venues.listen_key_market(product), endpoints.name),
            trust_root=load_trust_root(trust_root),
            on_event=on_connection_event,
        )
        self.endpoints = endpoints
        self.listen_keys = listen_keys
        self.on_event = on_event
        self.on_error = on_error
        self.keepalive_every = keepalive_every
        self._key: str | None = None
        self._keepalive = KeepaliveService(
            reactor, keepalive_every, self._extend, self._keepalive_failed
        )
        self._opened_d: list[defer.Deferred] = []
        self._renewing = False

    def __repr__(self) -> str:
        return f"<ListenKeyStream {self.name} {self._state}>"

    def start(self) -> defer.Deferred:
        """Create the key and connect; fires with this stream once the socket is open."""
        d: defer.Deferred = defer.Deferred()
        self._opened_d.append(d)
        created = self.listen_keys.start()

        def connect(key: str) -> None:
            self._key = key
            if self._state == "idle":
                self._start()

        created.addCallbacks(connect, self._start_failed)
        return d

    # -- the session hooks ------------------------------------------------------------------

    def url_for_attempt(self) -> str:
        assert self._key is not None
        return listen_key_stream_url(self.endpoints, self.name, self._key)

    def _became_current(self) -> None:
        self._keepalive.startService()
        waiting, self._opened_d = self._opened_d, []
        for d in waiting:
            d.callback(self)

    def _stopping(self, error: Exception) -> None:
        self._keepalive.stopService()
        waiting, self._opened_d = self._opened_d, []
        for d in waiting:
            d.errback(error)

    def response_received(self, proto: SessionProtocol, message: dict) -> None:
        self.unwrapped_message(proto, message)  # no requests here: it is an event

    def unwrapped_message(self, proto: SessionProtocol, message: Any) -> None:
        if type(message) is not dict:
            self._report_error("unexpected message dropped", None, key="raw")
            return
        if type(message.get("data")) is dict:
            message = message["data"]  # /stream form
        kind = message.get("e")
        if kind == "listenKeyExpired":
            self._renew("the listen key expired")
            return
        if kind == "serverShutdown":
            self.rotate("serverShutdown")
            return
        try:
            self.on_event(message)
        except Exception:
            log.failure(
                "{name}: user-data callback {callback} raised on {e}",
                name=self.name,
                callback=callable_name(self.on_event),
                e=kind,
            )

    # -- renewal ------------------------------------------------------------------------------

    def _keepalive_failed(self, error: Exception, retry_in: float) -> None:
        if isinstance(error, BinanceAPIError) and error.code == _INVALID_LISTEN_KEY:
            self._renew("the listen key is no longer valid (-1125)")
            return
        self._tell(error)
        log.warn(
            "{name}: keepalive failed ({error}); retrying in {delay:g} s",
            name=self.name,
            error=error,
            delay=retry_in,
        )

    def _renew(self, reason: str) -> None:
        """Create a key (Binance may hand back the same one) and move the socket to it."""
        if self._renewing or self._state != "running":
            return
        self._renewing = True
        log.info("{name}: {reason}; creating a new listen key", name=self.name, reason=reason)

        def switch(key: str) -> None:
            self._renewing = False
            changed = key != self._key
            self._key = key
            if changed:
                self.rotate("new listen key")
            self._keepalive.startService()

        def failed(failure: Any) -> None:
            self._renewing = False
            self._tell(failure.value)
            self._keepalive.retry_soon()

        self.listen_keys.start().addCallbacks(switch, failed)

    def _extend(self) -> defer.Deferred:
        assert self._key is not None
        return self.listen_keys.keepalive(self._key)

    def _start_failed(self, failure: Any) -> None:
        self._tell(failure.value)
        waiting, self._opened_d = self._opened_d, []
        for d in waiting:
            d.errback(failure)

    def _tell(self, error: Exception) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(error)
        except Exception:
            log.failure("{name}: on_error raised", name=self.name)
