"""FakeBinance: the public face of the fake: listening, the market clock, faults, the log."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from twisted.internet.defer import Deferred, gatherResults, maybeDeferred, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.internet.ssl import Certificate
from twisted.logger import Logger
from twisted.web.resource import IResource

from binance_twisted.endpoints import Endpoints
from binance_twisted.testing._faults import Faults
from binance_twisted.testing._limits import ConnectionPolicy
from binance_twisted.testing._names import is_symbol
from binance_twisted.testing._protocol import Connection
from binance_twisted.testing._site import ServerSite, fake_endpoints
from binance_twisted.testing._state import LogEntry, ServerState
from binance_twisted.testing._ticker import Ticker
from binance_twisted.testing._userdata import FakeAccount

__all__ = ["FakeBinance"]

T = TypeVar("T")

_POLL_INTERVAL = 0.01
_KEY_TYPES = ("HMAC", "RSA", "Ed25519")


#: ``"tick"``: every stream publishes at every market tick (fast tests); ``"binance"``:
#: klines every 2 s, tickers every second, partial depth at its speed… as Binance does
_CADENCES = ("tick", "binance")


class FakeBinance(Faults):
    """An in-process, scriptable Binance server on 127.0.0.1: streams, WebSocket API, REST.

    One random port serves the market streams (``/ws…``, ``/stream…``) and the REST
    endpoints a stream client needs (``/api/v3/depth``, ``/ping``, ``/time``). The same
    streams are also served under the USD-M futures routes ``/public``, ``/market`` and
    ``/private`` (``/market/stream?streams=…``), where the futures-only ``@markPrice``,
    ``!markPrice@arr`` and ``!bookTicker`` streams publish too. It behaves
    like Binance where a client can tell (control messages and their error frames, the
    20 s ping with a 1 min pong deadline, 5 incoming frames/s, 1024 streams per
    connection, ``serverShutdown``, the order-book ids), generates a deterministic random
    market, and injects faults on demand. Nothing is shared between instances.

    Diff-depth streams on a futures route carry the futures shape (``T``, ``pu``), and
    ``/fapi/v1/depth`` serves futures snapshots. The order books misbehave on request:
    :meth:`inject_depth_gap`, :meth:`stale_snapshots`, :meth:`duplicate_depth_events` and
    :meth:`reorder_depth_events`, while :meth:`book` keeps returning the true book.

    Accounts (:meth:`add_account`) bring user data: listen keys over REST for the
    products that still have them, the margin listen token, the WebSocket API at
    ``/ws-api/v3`` (and ``/ws-fapi/v1``) with its user-data subscriptions, signatures
    checked for HMAC, RSA and Ed25519 keys, and events injected with
    :meth:`FakeAccount.emit`. The WebSocket API also answers the market-data, Spot and USD-M
    futures trading and account methods from the simulated market and each account's
    balances and orders, sending the user-data events Binance would. See
    ``docs/testing.rst``.

    Realism you may want off in fast tests, and on in scripts: ``cadence="binance"`` sends
    klines every 2 s, tickers every second and partial depth at its speed, as Binance does
    (the default ``"tick"`` publishes every stream at every market tick); with
    ``strict_symbols=True`` only ``symbols`` exist: another symbol's streams stay silent and
    requests about it get -1121 "Invalid symbol." (by default a subscription invents it).

    Time: every timer of the fake and every time it reports runs on ``clock``: server
    pings and pong deadlines, market ticks, connection lifetimes, the incoming-frame window,
    listen-key and listen-token expiries, delayed WebSocket API answers, and the server
    time in responses (``serverTime``, ``E``, expirations, the ``timestamp`` check) and in
    the log. Listening, sockets, autobahn's handshake timeouts and :meth:`wait_for` stay on
    ``reactor``. Pass ``clock=task.Clock()`` to drive the fake's time with
    ``clock.advance()`` while real bytes flow over loopback sockets; start such a clock at
    the reactor's time (``clock.advance(reactor.seconds())``) when clients sign requests
    with their own clock. A clock that stands still sees every incoming frame in the same
    second, so advance it or pass ``max_incoming_rate=None``. For no sockets at all, see
    :mod:`binance_twisted.testing.memory`.

    Args:
        reactor: the reactor to listen on (default: the global one).
        clock: the ``IReactorTime`` the fake's timers and clock run on (default:
            ``reactor``).
        tls: serve ``wss://``/``https://`` with a certificate from a fresh test CA; clients
            trust :attr:`trust_root`.
        ping_interval: seconds between server pings (``None``: no pings).
        pong_timeout: seconds within which the pong echoing a ping must arrive, else the
            connection is aborted (``None``: never).
        max_incoming_rate: incoming frames (text, binary, ping, pong) allowed in any
            sliding second; one more closes the connection with 1008 "Too many requests"
            (``None``: unlimited). Close frames are not counted: they end the connection
            anyway. Stream connections only: the WebSocket API has no such limit.
        max_streams: streams per connection, in the URL and through ``SUBSCRIBE``.
        lifetime: seconds after which the server closes a connection with 1000 (stands in
            for Binance's 24 h; ``None``: never).
        event_interval: seconds between automatic market ticks (``None``: only
            :meth:`tick` advances the market).
        symbols: the symbols of the all-market ``!…`` streams. Any other well-formed
            lowercase symbol a client subscribes to gets its market on first use.
        seed: seed of the simulated market and of the random faults.
        close_on_invalid_stream: after answering "invalid stream", also close the
            connection (1008), as Binance has been seen doing.
        listen_key_validity: seconds a listen key lives unless extended (Binance: 60 min).
        us_listen_keys: serve Binance.US's Spot listen keys (``/api/v3/userDataStream``,
            ``/ws/<listenKey>``) instead of answering 410 Gone like binance.com.
        logon_key_types: key types ``session.logon`` accepts; Binance documents Ed25519
            only (whether HMAC/RSA now work is unverified, so it can be widened).

    The WebSocket API connections are subject to the same ping, pong, incoming-frame,
    lifetime, stall and refusal settings as the stream connections.
    """

    _logger = Logger()

    def __init__(
        self,
        reactor: Any = None,
        *,
        clock: IReactorTime | None = None,
        tls: bool = False,
        ping_interval: float | None = 20.0,
        pong_timeout: float | None = 60.0,
        max_incoming_rate: int | None = 5,
        max_streams: int = 1024,
        lifetime: float | None = None,
        event_interval: float | None = 0.05,
        symbols: Iterable[str] = ("btcusdt", "ethusdt", "bnbusdt"),
        seed: int = 0,
        close_on_invalid_stream: bool = False,
        listen_key_validity: float = 3600.0,
        us_listen_keys: bool = False,
        logon_key_types: Iterable[str] = ("Ed25519",),
        cadence: str = "tick",
        strict_symbols: bool = False,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        for name, value in [
            ("ping_interval", ping_interval),
            ("pong_timeout", pong_timeout),
            ("max_incoming_rate", max_incoming_rate),
            ("max_streams", max_streams),
            ("lifetime", lifetime),
            ("event_interval", event_interval),
            ("listen_key_validity", listen_key_validity),
        ]:
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")
        all_symbols = tuple(symbol.lower() for symbol in symbols)
        for symbol in all_symbols:
            if not is_symbol(symbol):
                raise ValueError(f"symbols must be letters and digits, not {symbol!r}")
        policy = ConnectionPolicy(
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            max_incoming_rate=max_incoming_rate,
            max_streams=max_streams,
            lifetime=lifetime,
            close_on_invalid_stream=close_on_invalid_stream,
        )
        if cadence not in _CADENCES:
            raise ValueError(f"cadence must be one of {', '.join(_CADENCES)}, not {cadence!r}")
        key_types = frozenset(logon_key_types)
        if not key_types <= set(_KEY_TYPES):
            raise ValueError(f"logon_key_types must be among {_KEY_TYPES}, not {key_types!r}")
        self._reactor: IReactorTime = reactor
        self._clock: IReactorTime = reactor if clock is None else clock
        self._state = ServerState(
            self._clock,
            policy,
            all_symbols,
            seed,
            listen_key_validity=listen_key_validity,
            us_listen_keys=us_listen_keys,
            logon_key_types=key_types,
            cadence=cadence,
            strict_symbols=bool(strict_symbols),
        )
        #: The test CA's certificate when ``tls=True`` (after :meth:`start`), else ``None``.
        self.trust_root: Certificate | None = None
        self._tls = tls
        self._event_interval = event_interval
        self._fault_rng = random.Random(seed)
        self._started = False
        self._port: IListeningPort | None = None
        self._port_number: int | None = None
        self._endpoints: Endpoints | None = None
        self._site: ServerSite | None = None
        self._ticker: Ticker | None = None
        self._waits: set[Deferred[Any]] = set()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, port: int = 0) -> Deferred[FakeBinance]:
        """Listen on 127.0.0.1 at ``port`` (0: a free one); fires with ``self`` once listening.

        On a reactor whose ports are in memory (:mod:`binance_twisted.testing.memory`) the
        same server objects listen there, and the Deferred has fired on return.
        """
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) to 65535, got {port!r}")
        if self._started:
            raise RuntimeError("FakeBinance.start() may only be called once")
        self._started = True
        self._site = ServerSite(self._state, self._reactor, self._tls)
        self.trust_root = self._site.trust_root
        endpoint = TCP4ServerEndpoint(self._reactor, port, interface="127.0.0.1")
        listening: Deferred[IListeningPort] = endpoint.listen(self._site.factory)
        return listening.addCallback(self._listening)

    def _listening(self, port: IListeningPort) -> FakeBinance:
        self._port = port
        self._port_number = number = port.getHost().port  # type: ignore[attr-defined]
        self._endpoints = fake_endpoints("127.0.0.1", number, self._tls)
        if self._event_interval is not None:
            self._ticker = Ticker(self._clock, self._event_interval, self.tick)
            self._ticker.start()
        self._logger.info("FakeBinance listening on {url}", url=self._endpoints.stream_url)
        return self

    def stop(self) -> Deferred[None]:
        """Abort every connection (no close frames), stop listening and cancel every timer.

        Pending :meth:`wait_for` Deferreds are cancelled. Fires once all sockets are closed,
        so the reactor is clean for trial. For an orderly close, call :meth:`server_shutdown`
        or ``connection.close()`` first.
        """
        port, self._port = self._port, None
        if port is None or self._site is None:
            return succeed(None)
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self._state.userdata.stop()
        for waiting in list(self._waits):
            waiting.cancel()
        self._abort_all("server stopped")
        closing: list[Deferred[Any]] = [
            maybeDeferred(port.stopListening),
            self._site.tracker.idle(),
        ]
        return gatherResults(closing).addCallback(lambda _: None)

    @property
    def port(self) -> int:
        """The TCP port (after :meth:`start`; still readable after :meth:`stop`)."""
        if self._port_number is None:
            raise RuntimeError("FakeBinance has not listened yet: call and await start() first")
        return self._port_number

    @property
    def endpoints(self) -> Endpoints:
        """Every URL of the fake: streams, REST, and the WS-API/futures fields pointing here too.

        Still readable after :meth:`stop`, e.g. to test a client against a closed port.
        """
        if self._endpoints is None:
            raise RuntimeError("FakeBinance has not listened yet: call and await start() first")
        return self._endpoints

    @property
    def clock(self) -> IReactorTime:
        """What the fake's timers and clock run on (``clock=``, else the reactor)."""
        return self._clock

    @property
    def resource(self) -> IResource:
        """The root web resource (streams, WebSocket API, REST), after :meth:`start`.

        What the port serves, for in-memory HTTP: ``treq.testing.StubTreq(fake.resource)``
        answers REST requests without a socket.
        """
        if self._site is None:
            raise RuntimeError("FakeBinance has not started yet: call start() first")
        return self._site.resource

    @property
    def connections(self) -> list[Connection]:
        """The open WebSocket connections (streams and WebSocket API), oldest first.

        Each has ``id`` (1, 2, … in order of opening), ``service`` (``"stream"`` or
        ``"ws-api"``), ``path`` (the request URI, e.g. ``/stream?streams=a/b``), ``route``
        (``None``, or the futures route the path began with: ``"public"``, ``"market"`` or
        ``"private"``, or ``"pm"``), ``combined`` (payloads wrapped; ``SET_PROPERTY``
        changes it), ``streams`` (in subscription order), ``connected_at`` (clock
        seconds) and ``close(code=1000, reason="")``, which sends any close code, 1008
        included. Stream connections also have ``listen_keys`` and ``events``; WebSocket
        API ones ``logged_on`` (an API key or ``None``), ``subscriptions`` (id to
        ``(api_key, product)``) and ``return_rate_limits``.
        """
        return cast("list[Connection]", list(self._state.connections))

    @property
    def log(self) -> list[LogEntry]:
        """Everything that happened, oldest first (see :class:`LogEntry`)."""
        return self._state.log

    # -- the log ------------------------------------------------------------------------

    def requests(
        self, connection: Connection | int | None = None, method: str | None = None
    ) -> list[LogEntry]:
        """The ``request`` log entries, optionally of one connection (object or id) and method.

        Stream control messages and WebSocket API requests alike (``method`` is e.g.
        ``"SUBSCRIBE"`` or ``"session.logon"``).
        """
        wanted = connection.id if isinstance(connection, Connection) else connection
        return [
            entry
            for entry in self._state.log
            if entry.kind == "request"
            and (wanted is None or entry.connection == wanted)
            and (method is None or entry.detail.get("method") == method)
        ]

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, description: str | None = None
    ) -> Deferred[T]:
        """Fire with ``predicate()``'s value once it is true, polling every 10 ms.

        It polls on the reactor, not on ``clock``: it waits for socket I/O, which a test's
        clock does not drive. Errbacks with :class:`TimeoutError` naming ``description``
        (default: the predicate's source) after ``timeout`` seconds, or with the predicate's
        exception.
        """
        what = description or describe(predicate)
        deadline = self._reactor.seconds() + timeout
        poll_call = None

        def cancel(waiting: Deferred[T]) -> None:
            self._waits.discard(waiting)
            if poll_call is not None and poll_call.active():
                poll_call.cancel()

        waiting: Deferred[T] = Deferred(cancel)

        def poll() -> None:
            nonlocal poll_call
            poll_call = None
            try:
                value = predicate()
            except Exception:
                self._waits.discard(waiting)
                waiting.errback()
                return
            if value:
                self._waits.discard(waiting)
                waiting.callback(value)
            elif self._reactor.seconds() >= deadline:
                self._waits.discard(waiting)
                waiting.errback(TimeoutError(f"waited {timeout} s in vain for: {what}"))
            else:
                poll_call = self._reactor.callLater(_POLL_INTERVAL, poll)

        self._waits.add(waiting)
        poll()
        return waiting

    # -- the market ---------------------------------------------------------------------

    def tick(self, n: int = 1) -> None:
        """Advance the market ``n`` steps, publishing each step's events to subscribers.

        The symbols stepped are those some stream listens to and those the WebSocket API was
        asked about (market data or orders).
        """
        for _ in range(n):
            self._state.step_market()

    def publish(self, stream: str, data: Any) -> int:
        """Send ``data`` to every connection subscribed to ``stream``; returns how many got it."""
        return self._state.deliver(stream, data, self._state.subscriptions.subscribers(stream))

    def book(self, symbol: str) -> tuple[int, dict[str, str], dict[str, str]]:
        """The true book of ``symbol``: ``(last_update_id, bids, asks)``, price → qty strings."""
        symbol = symbol.lower()
        if not self._state.knows(symbol):
            raise ValueError(f"symbol {symbol!r} has no market: subscribe to it or list it")
        return self._state.market.get(symbol).book()

    # -- accounts and user data ----------------------------------------------------------

    def add_account(
        self,
        api_key: str,
        *,
        secret: str | None = None,
        rsa_public_key_pem: bytes | None = None,
        ed25519_public_key_pem: bytes | None = None,
        permissions: Iterable[str] = ("SPOT", "MARGIN", "FUTURES"),
    ) -> FakeAccount:
        """Register an API key with exactly one credential: an HMAC secret or a public key.

        ``permissions`` (``SPOT``, ``MARGIN``, ``FUTURES``) decide which user-data products
        the key may use; anything else is answered with -2015 like an unknown key.

        Raises:
            ValueError: a duplicate or empty key, not exactly one credential, or a PEM
                that is not a key of the named kind.
        """
        return self._state.userdata.add_account(
            api_key, secret, rsa_public_key_pem, ed25519_public_key_pem, permissions
        )

    @property
    def accounts(self) -> dict[str, FakeAccount]:
        """The accounts added so far, by API key."""
        return dict(self._state.userdata.accounts)

    @property
    def server_time_offset(self) -> int:
        """Milliseconds added to the server clock, to simulate a client's clock skew.

        It moves ``serverTime`` (REST and WebSocket API), the clock that ``timestamp`` is
        checked against, and the times of user-data events; market events keep the
        fake's clock.
        """
        return self._state.time_offset_ms

    @server_time_offset.setter
    def server_time_offset(self, offset_ms: int) -> None:
        self._state.time_offset_ms = int(offset_ms)

    def expire_listen_key(self, key: str) -> int:
        """Expire a live listen key now, as its validity running out would.

        Its connections get ``{"e":"listenKeyExpired","E":ms,"listenKey":key}`` and are
        then closed (1000) unless they hold another live key; PUT and DELETE answer -1125
        from now on. Returns how many connections used it.

        Raises:
            KeyError: no live listen key ``key``.
        """
        return self._state.userdata.expire_listen_key(key)

    def terminate_subscriptions(self, api_key: str | None = None) -> int:
        """End WebSocket API user-data subscriptions from the server side.

        Every subscription (or those of ``api_key``) gets ``{"subscriptionId": N, "event":
        {"e": "eventStreamTerminated", "E": ms}}`` and is dropped; connections stay open.
        Returns how many ended.
        """
        return sum(c.terminate(api_key) for c in self._state.ws_api_connections())


def describe(predicate: Callable[[], Any]) -> str:
    """What a predicate checks, for a timeout message: its source, else its name."""
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
