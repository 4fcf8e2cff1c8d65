"""FakeBinance: the public face of the fake: listening, the market clock, faults, the log."""

from __future__ import annotations

import inspect
import random
import re
from collections import deque
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, TypeVar, cast

from twisted.internet.defer import Deferred, gatherResults, maybeDeferred, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.internet.ssl import Certificate
from twisted.logger import Logger
from twisted.web.resource import IResource

from binance_twisted.endpoints import Endpoints
from binance_twisted.testing._limits import ConnectionPolicy
from binance_twisted.testing._names import is_symbol
from binance_twisted.testing._protocol import Connection
from binance_twisted.testing._site import ServerSite, fake_endpoints
from binance_twisted.testing._state import Fault, LogEntry, RestFault, ServerState
from binance_twisted.testing._ticker import Ticker
from binance_twisted.testing._userdata import FakeAccount

__all__ = ["FakeBinance"]

T = TypeVar("T")

_POLL_INTERVAL = 0.01
_GARBAGE_TEXT = b"\x00not json{"
_GARBAGE_BINARY_SIZE = 16
_KEY_TYPES = ("HMAC", "RSA", "Ed25519")


class FakeBinance:
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

    def start(self) -> Deferred[FakeBinance]:
        """Listen on 127.0.0.1 at a random port; fires with ``self`` once listening.

        On a reactor whose ports are in memory (:mod:`binance_twisted.testing.memory`) the
        same server objects listen there, and the Deferred has fired on return.
        """
        if self._started:
            raise RuntimeError("FakeBinance.start() may only be called once")
        self._started = True
        self._site = ServerSite(self._state, self._reactor, self._tls)
        self.trust_root = self._site.trust_root
        endpoint = TCP4ServerEndpoint(self._reactor, 0, interface="127.0.0.1")
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

    # -- order-book faults ---------------------------------------------------------------

    def inject_depth_gap(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` diff-depth events of ``symbol`` each skip update ids.

        Each such step also changes two deep levels (one bid, one ask) that no event
        reports, numbered before the published changes: on Spot streams ``U`` is past the
        previous ``u + 1``, on futures streams ``pu`` is not the previous ``u``. The true
        book (:meth:`book`, the snapshots) includes the hidden changes, so a client that
        applies events across the gap ends up with a wrong book. Counted only on steps that
        publish a diff event of ``symbol`` (some connection listens to its ``@depth``).
        """
        self._queue_book_fault("gap", symbol, count, self._state.book_faults.gaps)

    def stale_snapshots(self, symbol: str, count: int = 1, behind: int = 5) -> None:
        """Serve the next ``count`` REST depth snapshots of ``symbol`` from an older book.

        ``GET /api/v3/depth`` and ``/fapi/v1/depth`` answer with the book as it was before
        the last ``behind`` steps of the symbol (as far back as the fake remembers, 100
        steps, or to its creation), so ``lastUpdateId`` is older than diff events already
        sent, as when Binance's snapshot lags: the documented procedures must fetch again.
        Later snapshots are current again.
        """
        if behind < 1:
            raise ValueError(f"behind must be at least 1, not {behind!r}")
        name = self._book_fault_symbol(symbol)
        if count > 0:
            self._state.book_faults.add_stale(name, count, behind)
            self._log_book_fault("stale", name, count, behind=behind)

    def duplicate_depth_events(self, symbol: str, count: int = 1) -> None:
        """Send each of the next ``count`` diff-depth events of ``symbol`` twice in a row."""
        self._queue_book_fault("duplicate", symbol, count, self._state.book_faults.duplicates)

    def reorder_depth_events(self, symbol: str, count: int = 1) -> None:
        """Swap the next two diff-depth events of ``symbol`` (``count`` such pairs in turn).

        The first is held back and sent right after the second, at the next step of the
        symbol, with ids unchanged: ``U``/``pu`` of the second run ahead of the first.
        """
        self._queue_book_fault("reorder", symbol, count, self._state.book_faults.reorders)

    def _queue_book_fault(self, fault: str, symbol: str, count: int, table: dict[str, int]) -> None:
        name = self._book_fault_symbol(symbol)
        if count > 0:
            self._state.book_faults.add(table, name, count)
            self._log_book_fault(fault, name, count)

    def _book_fault_symbol(self, symbol: str) -> str:
        name = symbol.lower()
        if not is_symbol(name):
            raise ValueError(f"symbol must be letters and digits, not {symbol!r}")
        return name

    def _log_book_fault(self, fault: str, symbol: str, count: int, **detail: Any) -> None:
        detail = {"fault": fault, "symbol": symbol.upper(), "count": count, **detail}
        self._state.record("book-fault", None, detail)

    # -- faults -------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Abort every TCP connection, HTTP ones included, without a close frame.

        Models a dead network path; the fake keeps listening. Returns how many stream
        connections were dropped.
        """
        return self._abort_all("dropped")

    def _abort_all(self, reason: str) -> int:
        connections = list(self._state.connections)
        for connection in connections:
            connection.abort(reason)
        if self._site is not None:
            self._site.tracker.abort_all()
        return len(connections)

    def stall(self) -> None:
        """Send nothing at all (no data, replies or pings) until :meth:`resume`.

        Connections stay open and keep reading; pong deadlines are suspended, ticks still
        advance the market (so a stalled client misses events), closes still go out.
        """
        self._state.stalled = True
        for connection in self._state.connections:
            connection.suspend_heartbeat()

    def resume(self) -> None:
        """End a :meth:`stall`; pings start again one interval from now."""
        self._state.stalled = False
        for connection in self._state.connections:
            connection.resume_heartbeat()

    def send_garbage(self, binary: bool = False) -> int:
        """Send a non-JSON text frame, or a random binary frame, to every connection."""
        frame = self._fault_rng.randbytes(_GARBAGE_BINARY_SIZE) if binary else _GARBAGE_TEXT
        return sum(connection.send(frame, binary) for connection in self._state.connections)

    def refuse_handshakes(self, n: int, status: int = 429) -> None:
        """Answer the next ``n`` WebSocket upgrades with HTTP ``status`` (e.g. 429, 503)."""
        _check_status(status)
        self._state.refusals.extend([status] * n)

    def server_shutdown(self) -> int:
        """Send Binance's ``serverShutdown`` event to every connection (closing none).

        Raw connections get ``{"e":"serverShutdown","E":ms}``, combined ones the same
        wrapped as the ``!serverShutdown`` stream, WebSocket API ones
        ``{"event":{"e":"serverShutdown","E":ms}}``. Returns how many got it.
        """
        return self._state.server_shutdown()

    def slow_reader(self, enabled: bool = True) -> None:
        """Stop (or resume) reading from client sockets, including connections made later."""
        self._state.reading_paused = enabled
        for connection in self._state.connections:
            connection.pause_reading(enabled)

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

    # -- faults on the request/response APIs ----------------------------------------------

    def rate_limit_rest(self, n: int, status: int = 429, retry_after: float | None = 2) -> None:
        """Answer the next ``n`` REST requests with ``status`` instead of serving them.

        The body is Binance's error JSON (429: -1003 "Too much request weight used…", 418:
        -1003 "Way too much request weight used; IP banned until…"; see ``docs/testing.rst``
        for other statuses), with a ``Retry-After`` header of ``retry_after`` seconds
        (``None``: no header).
        """
        _check_status(status)
        if n > 0:
            self._state.rest_faults.append(RestFault(status, retry_after, n))

    def wsapi_fault(
        self,
        method: str,
        *,
        delay: float | None = None,
        status: int | None = None,
        drop: bool = False,
        count: int = 1,
        retry_after: float | None = 1.0,
        code: int | None = None,
        msg: str | None = None,
    ) -> None:
        """Misbehave on the next ``count`` WebSocket API requests of ``method``.

        ``delay``: handle the request that many seconds late (later requests are answered
        first meanwhile). ``status``: answer with an error of that status instead (429 and
        418 are -1003 with ``error.data`` ``{"retryAfter": serverTime + retry_after s,
        "serverTime"}``; ``code``/``msg`` replace the defaults listed in
        ``docs/testing.rst``). ``drop``: abort the connection without answering. ``delay``
        combines with either of the others; faults queued for one method apply in order.
        """
        if status is not None:
            _check_status(status)
            if drop:
                raise ValueError("a fault either answers with a status or drops, not both")
        if delay is not None and not delay >= 0:
            raise ValueError(f"delay must be >= 0 or None, not {delay!r}")
        if count > 0:
            fault = Fault(delay, status, drop, retry_after, code, msg, count)
            method = re.sub(r"^v\d+/", "", method)  # requests are matched without the prefix
            self._state.wsapi_faults.setdefault(method, deque()).append(fault)


def _check_status(status: int) -> None:
    if not 400 <= status <= 599:
        raise ValueError(f"status must be an HTTP error status (400-599), not {status!r}")
    HTTPStatus(status)  # a ValueError for statuses without a reason phrase


def describe(predicate: Callable[[], Any]) -> str:
    """What a predicate checks, for a timeout message: its source, else its name."""
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
