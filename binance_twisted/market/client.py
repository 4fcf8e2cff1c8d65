"""``StreamClient``: the Twisted-native entry point for market streams.

It plans streams over connections (at most ``policy.max_streams`` each, new connections
beyond that), shares a stream between subscriptions that ask for the same one (Binance
sends it once), and gives each caller a :class:`Subscription` handle. No threads: every
method must be called on the reactor thread, and every result is a Deferred (``await``
them inside ``ensureDeferred`` coroutines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from binance_twisted import streams as stream_names, venues
from binance_twisted._core.policy import ConnectionPolicy, check_seconds
from binance_twisted._core.tls import TrustRoot, load_trust_root
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import ClientClosedError, RequestTimeoutError, callable_name
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.market.connection import DATA, ENVELOPE, RAW, StreamConnection

__all__ = ["StreamClient", "StreamSource", "Subscription"]

log = Logger(namespace="binance_twisted.client")

OnMessage = Callable[..., Any]
OnEvent = Callable[[ConnectionEvent], Any]
Validator = Callable[[str], str]

#: the Endpoints field of each market's stream host
_STREAM_HOSTS = {
    "spot": "stream_url",
    "usdm": "futures_stream_url",
    "coinm": "coin_futures_stream_url",
}
_BY_MARKET: Any = object()  # validate's default: Spot names checked, futures names as given


class StreamSource(Protocol):
    """Where market streams come from: Binance (``StreamClient``) or the Redis bus
    (:class:`~binance_twisted.bus.RedisStreamSource`); subscribers take either."""

    def subscribe(
        self,
        streams: Iterable[str] | str,
        on_message: OnMessage,
        on_event: OnEvent | None = None,
        *,
        envelope: bool = False,
        raw: bool = False,
    ) -> defer.Deferred[Subscription]: ...

    def stats(self) -> dict[str, dict[str, Any]]: ...

    def close(self) -> defer.Deferred[None]: ...


class _SubscriptionOwner(Protocol):
    """What a :class:`Subscription` asks of its source (``StreamClient``, the bus's
    ``RedisStreamSource``): the names checked, and streams attached or detached."""

    def _check_names(self, streams: Iterable[str] | str) -> list[str]: ...

    def _attach(self, subscription: Subscription, names: list[str]) -> defer.Deferred: ...

    def _detach(self, subscription: Subscription, names: list[str]) -> defer.Deferred: ...


class Subscription:
    """A caller's set of streams, one ``on_message`` and an optional ``on_event``.

    ``on_message(stream, data)`` receives each payload unwrapped, or, when subscribed with
    ``envelope=True``, ``on_message(envelope)`` receives Binance's combined-stream dict
    ``{"stream": ..., "data": ...}`` as decoded (nothing is copied either way), or, with
    ``raw=True``, ``on_message(stream, data, raw)`` also gets the frame's bytes as received
    (gzip-compressed for a binary frame): what a recorder keeps.
    """

    def __init__(
        self,
        client: _SubscriptionOwner,
        on_message: OnMessage,
        on_event: OnEvent | None,
        envelope: bool,
        raw: bool = False,
    ) -> None:
        self._client = client
        self.on_message = on_message
        self.on_event = on_event
        self.envelope = envelope
        #: the route shape: what ``on_message`` takes (see ``market.connection.Route``)
        self.shape = RAW if raw else ENVELOPE if envelope else DATA
        self._streams: dict[str, None] = {}
        self.active = True

    def __repr__(self) -> str:
        name = getattr(self.on_message, "__qualname__", repr(self.on_message))
        return f"<Subscription {name} streams={len(self._streams)}>"

    @property
    def streams(self) -> tuple[str, ...]:
        """The streams this subscription receives, in the order they were added."""
        return tuple(self._streams)

    def add(self, streams: Iterable[str] | str) -> defer.Deferred[Subscription]:
        """Receive more streams; fires with this subscription once Binance confirmed them."""
        self._check_active()
        names = self._client._check_names(streams)
        d = self._client._attach(self, names)
        d.addCallback(lambda _: self)
        return d

    def remove(self, streams: Iterable[str] | str) -> defer.Deferred[None]:
        """Stop receiving some streams; fires once Binance confirmed the UNSUBSCRIBE."""
        self._check_active()
        names = self._client._check_names(streams)
        return self._client._detach(self, [n for n in names if n in self._streams])

    def unsubscribe(self) -> defer.Deferred[None]:
        """Stop receiving everything; the handle is inactive afterwards."""
        if not self.active:
            return defer.succeed(None)
        self.active = False
        return self._client._detach(self, list(self._streams))

    def _check_active(self) -> None:
        if not self.active:
            raise ClientClosedError("this subscription was unsubscribed or its client closed")


class StreamClient:
    """Subscribe to Binance market streams from Twisted code.

    >>> client = StreamClient(reactor, endpoints=Endpoints.for_tld("com"))
    >>> sub = await client.subscribe(["btcusdt@trade"], on_message)

    ``market`` is ``"spot"``, ``"usdm"`` (USD-M futures: each stream goes to its ``/public``
    or ``/market`` route) or ``"coinm"``; it decides the stream host and the defaults that
    follow the server's ping cadence (:mod:`binance_twisted.venues`).
    ``stream_url`` overrides the host taken from ``endpoints`` (USD-M routes are appended).
    ``validate`` checks and normalises each stream name before any I/O (default: the current
    Spot streams on Spot, any well-formed name on futures; ``None``: any well-formed name).
    ``trust_root`` is ``None`` for the platform store, or a CA to trust instead.
    """

    def __init__(
        self,
        reactor: IReactorTime | None = None,
        endpoints: Endpoints | None = None,
        *,
        market: str = "spot",
        stream_url: str | None = None,
        policy: ConnectionPolicy | None = None,
        trust_root: TrustRoot = None,
        validate: Validator | None = _BY_MARKET,
        name: str | None = None,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as global_reactor

            reactor = global_reactor
        self.endpoints = endpoints if endpoints is not None else Endpoints.for_tld("com")
        self.profile = venues.profile(market, self.endpoints.name)
        self.market = market
        base = (
            stream_url if stream_url is not None else getattr(self.endpoints, _STREAM_HOSTS[market])
        )
        if base is None:
            raise ValueError(f"{self.endpoints.name} has no {market} streams; pass stream_url=")
        if not base.startswith(("wss://", "ws://")):
            raise ValueError(f"stream_url must start with wss:// or ws://, got {base!r}")
        self.stream_url = base.rstrip("/")
        self.policy = policy if policy is not None else ConnectionPolicy()
        self._reactor = reactor
        self._trust_root = load_trust_root(trust_root)
        if validate is _BY_MARKET:
            validate = default_validator(market)
        self._validate = validate if validate is not None else _well_formed
        self._name = name if name is not None else market
        self._connections: list[StreamConnection] = []
        self._carrier: dict[str, StreamConnection] = {}
        self._subscriptions: set[Subscription] = set()
        self._opened = 0
        self._closed = False
        self._closing: dict[StreamConnection, set[object]] = {}

    def subscribe(
        self,
        streams: Iterable[str] | str,
        on_message: OnMessage,
        on_event: OnEvent | None = None,
        *,
        envelope: bool = False,
        raw: bool = False,
        timeout: float | None = None,
    ) -> defer.Deferred[Subscription]:
        """Start receiving ``streams``; fires with a :class:`Subscription` once confirmed.

        ``envelope=True``: ``on_message(envelope)``; ``raw=True``: ``on_message(stream, data,
        raw)`` (see :class:`Subscription`).

        Bad names raise ``ValueError`` here, before any I/O. The Deferred fails with
        :class:`~binance_twisted.errors.ConnectionGaveUpError` if the retry limit is hit
        first, or :class:`~binance_twisted.errors.StreamRequestError` if Binance refuses.
        With ``timeout`` (seconds), a subscription not confirmed by then is withdrawn and
        the Deferred fails with :class:`~binance_twisted.errors.RequestTimeoutError` naming
        the attempts and the last error (otherwise it waits as long as retries go on).
        """
        if timeout is not None:
            check_seconds("timeout", timeout)
        if self._closed:
            raise ClientClosedError("this StreamClient is closed")
        check_callbacks(on_message, on_event, envelope, raw)
        names = self._check_names(streams)
        subscription = Subscription(self, on_message, on_event, envelope, raw)
        self._subscriptions.add(subscription)
        d = self._attach(subscription, names)
        d.addCallback(lambda _: subscription)
        if timeout is None:
            return d
        return self._bounded(d, subscription, float(timeout))

    def connection_of(self, stream: str) -> str | None:
        """The name of the connection carrying ``stream`` (``"spot-1"``…), or ``None``."""
        connection = self._carrier.get(stream)
        return connection.name if connection is not None else None

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters per connection name: messages, bytes, errors, reconnects, last message…"""
        return {c.name: {**c.stats.as_dict(), "state": c.state} for c in self._connections}

    def list_subscriptions(self) -> defer.Deferred[list[str]]:
        """Ask Binance (LIST_SUBSCRIPTIONS) what every open connection carries; sorted."""
        asked = [c.request("LIST_SUBSCRIPTIONS") for c in self._connections if c.connected]
        d = defer.gatherResults(asked, consumeErrors=True)
        d.addCallback(lambda lists: sorted(s for found in lists for s in found or ()))
        d.addErrback(_first_error)
        return d

    def close(self) -> defer.Deferred[None]:
        """Close every connection and deactivate every subscription; fires when all are gone."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription.active = False
        self._subscriptions.clear()
        self._carrier.clear()
        connections, self._connections = self._connections, []
        for connection in connections:
            # frames read during the close handshake reach no callback; the final events
            # (disconnected: closed by the client) still reach the subscribers' on_event
            self._closing[connection] = _owners(connection)
            connection.routes.clear()
        d = defer.gatherResults([c.close() for c in connections], consumeErrors=True)
        return d.addCallback(lambda _: self._closing.clear())

    # -- planning ----------------------------------------------------------------------------

    def _check_names(self, streams: Iterable[str] | str) -> list[str]:
        return check_names(streams, self._validate)

    def _attach(self, subscription: Subscription, names: list[str]) -> defer.Deferred:
        planned: dict[StreamConnection, list[str]] = {}
        added: list[str] = []
        for name in names:
            if name in subscription._streams:
                continue
            connection = self._carrier.get(name) or self._place(planned, self._base_for(name))
            self._carrier[name] = connection
            planned.setdefault(connection, []).append(name)
            connection.routes.setdefault(name, []).append(
                (subscription.on_message, subscription.shape, subscription)
            )
            subscription._streams[name] = None
            added.append(name)
        confirmations = [c.add_streams(group) for c, group in planned.items()]
        d = defer.gatherResults(confirmations, consumeErrors=True)

        def roll_back(failure: Any) -> Any:
            self._detach(subscription, added).addErrback(lambda _: None)
            return _first_error(failure)

        d.addErrback(roll_back)
        return d

    def _bounded(
        self, d: defer.Deferred, subscription: Subscription, timeout: float
    ) -> defer.Deferred[Subscription]:
        """``d``, or a RequestTimeoutError after ``timeout`` s (the subscription withdrawn)."""
        done: defer.Deferred[Subscription] = defer.Deferred()

        def expire() -> None:
            carriers = {self._carrier[s] for s in subscription.streams if s in self._carrier}
            problems = [
                f"{c.name}: {c.stats.failed_attempts} failed attempts, last error: "
                f"{c.stats.last_error or 'none'}"
                for c in carriers
            ]
            subscription.unsubscribe().addErrback(lambda _: None)
            done.errback(
                RequestTimeoutError(
                    f"streams not confirmed within {timeout:g} s (timeout=)"
                    + (f"; {'; '.join(problems)}" if problems else ""),
                    request="SUBSCRIBE",
                    timeout=timeout,
                )
            )

        timer = self._reactor.callLater(timeout, expire)

        def settle(result: Any) -> None:
            if timer.active():
                timer.cancel()
                done.callback(result)  # a Failure goes down the errback chain

        d.addBoth(settle)
        return done

    def _base_for(self, stream: str) -> str:
        """The URL a stream is served at: the host, plus its route on USD-M."""
        if self.profile.routed:
            return f"{self.stream_url}/{venues.futures_route(stream)}"
        return self.stream_url

    def _place(self, planned: dict[StreamConnection, list[str]], base: str) -> StreamConnection:
        """A connection to ``base`` with room for one more stream; a new one when all are full."""
        limit = self.policy.max_streams
        for connection in self._connections:
            carried = len(connection.streams) + len(planned.get(connection, ()))
            usable = connection.base_url == base and connection.state in ("idle", "running")
            if usable and carried < limit:
                return connection
        self._opened += 1
        connection = StreamConnection(
            self._reactor,
            f"{self._name}-{self._opened}",
            base,
            policy=self.policy,
            profile=self.profile,
            trust_root=self._trust_root,
            on_event=lambda event: self._connection_event(connection, event),
        )
        self._connections.append(connection)
        return connection

    def _detach(self, subscription: Subscription, names: list[str]) -> defer.Deferred:
        unused: dict[StreamConnection, list[str]] = {}
        for name in names:
            subscription._streams.pop(name, None)
            connection = self._carrier.get(name)
            if connection is None:
                continue
            routes = connection.routes.get(name, [])
            routes[:] = [r for r in routes if r[2] is not subscription]
            if not routes:
                del self._carrier[name]
                unused.setdefault(connection, []).append(name)
        if not subscription._streams:
            subscription.active = False
            self._subscriptions.discard(subscription)
        removals = []
        for connection, gone in unused.items():
            if connection.streams.keys() <= set(gone):
                # nothing left on it: closing says more than an UNSUBSCRIBE would
                self._connections.remove(connection)
                removals.append(connection.close())
            else:
                removals.append(connection.remove_streams(gone))
        d = defer.gatherResults(removals, consumeErrors=True)
        d.addCallbacks(lambda _: None, _first_error)
        return d

    def _connection_event(self, connection: StreamConnection, event: ConnectionEvent) -> None:
        if event.kind is EventKind.GAVE_UP:
            self._forget(connection)
        owners = self._closing.get(connection) or _owners(connection)
        for owner in owners:
            handler = getattr(owner, "on_event", None)
            if handler is None:
                continue
            try:
                handler(event)
            except Exception:
                log.failure(
                    "on_event {callback} raised on {kind}",
                    callback=callable_name(handler),
                    kind=event.kind,
                )

    def _forget(self, connection: StreamConnection) -> None:
        """A connection that gave up carries nothing: later subscribes open a fresh one."""
        if connection in self._connections:
            self._connections.remove(connection)
        for name in [n for n, c in self._carrier.items() if c is connection]:
            del self._carrier[name]


def _owners(connection: StreamConnection) -> set[object]:
    """The subscriptions that receive something from ``connection``."""
    return {route[2] for routes in connection.routes.values() for route in routes}


def check_callbacks(on_message: Any, on_event: Any, envelope: bool, raw: bool) -> None:
    """``subscribe``'s callback arguments, checked before any I/O."""
    if not callable(on_message):
        raise TypeError(f"on_message must be callable, got {on_message!r}")
    if on_event is not None and not callable(on_event):
        raise TypeError(f"on_event must be callable or None, got {on_event!r}")
    if envelope and raw:
        raise ValueError("envelope=True and raw=True exclude each other; choose one")


def check_names(streams: Iterable[str] | str, validate: Validator) -> list[str]:
    """Stream names checked and normalised by ``validate``, duplicates dropped, order kept."""
    if isinstance(streams, str):
        streams = [streams]
    names = [validate(s) if isinstance(s, str) else _not_str(s) for s in streams]
    if not names:
        raise ValueError("streams must name at least one stream")
    return list(dict.fromkeys(names))


def default_validator(market: str) -> Validator:
    """What ``validate`` defaults to: the current Spot streams on Spot, else well-formed."""
    return stream_names.validate if market == "spot" else _well_formed


def _well_formed(name: str) -> str:
    """The minimal check used with ``validate=None``: non-empty, no separators or spaces."""
    stripped = name.strip()
    if not stripped or any(c in stripped for c in "/ ?&#"):
        raise ValueError(f"stream name {name!r} is empty or contains '/', '?', '&', '#' or spaces")
    return stripped


def _not_str(value: object) -> str:
    raise TypeError(f"stream names must be str, got {type(value).__name__}: {value!r}")


def _first_error(failure: Any) -> Any:
    """Unwrap ``gatherResults``' FirstError so callers see the real exception."""
    if failure.check(defer.FirstError):
        return failure.value.subFailure
    return failure
