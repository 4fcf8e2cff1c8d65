"""Where a legacy manager's sockets go, and the connections they share there.

A :class:`Venue` is what every legacy socket talks to, instead of the manager: the resolved
:class:`~binance_twisted.endpoints.Endpoints` (from the python-binance client, ``tld``,
``testnet`` or ``endpoints=``, and the manager's ``STREAM_URL``-style overrides), the API
credentials (loaded in the caller's thread), one connection policy, and pools of native
clients: a :class:`~binance_twisted.market.StreamClient` per market and host, the WebSocket
API connections, REST clients and snapshot budgets. Pools are filled on the reactor thread
on first use and closed together by :meth:`Venue.release`.

Methods marked "caller's thread" check arguments before any I/O; the rest run on the
reactor thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs
from twisted.internet import defer
from twisted.python.threadable import isInIOThread

from binance_twisted import venues
from binance_twisted._core.policy import VENUE, ConnectionPolicy
from binance_twisted._core.tls import TrustRoot
from binance_twisted.accounts.listenkeys import ListenKeys
from binance_twisted.accounts.streams import ListenKeyStream
from binance_twisted.bus.address import BusAddress
from binance_twisted.depth.budget import SnapshotScheduler
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import MissingCredentialsError
from binance_twisted.events import ConnectionEvent
from binance_twisted.market.client import StreamClient, StreamSource
from binance_twisted.rest import RestClient
from binance_twisted.signing import Signer, load_signer
from binance_twisted.wsapi.connection import WebSocketAPI

__all__ = ["AccountListener", "Credentials", "Options", "UrlOverrides", "Venue", "legacy_urls"]

_OPTIONS = (
    "api_key",
    "api_secret",
    "tld",
    "testnet",
    "endpoints",
    "max_retries",
    "stall_timeout",
    "rotate_after",
    "trust_root",
    "on_event",
    "reactor",
    "user_data",
    "queue_size",
    "queue_overflow",
    "bus",
)
#: how start_user_socket gets Spot user data: auto (None), or forced
_USER_DATA = (None, "ws_api", "listen_key")
#: a depth cache's snapshot REST field per market
_DEPTH_REST = {"spot": "rest_url", "futures": "futures_rest_url"}
#: the legacy markets ("futures" is USD-M; COIN-M came with python-binance 1.x) → the
#: venue profile's market names
_MARKETS = {"spot": "spot", "futures": "usdm", "coin_futures": "coinm"}


def legacy_urls() -> tuple[str, str, str]:
    """python-binance 0.7.11's ``STREAM_URL``, ``FSTREAM_URL`` and ``WS_API_URL`` values."""
    com = Endpoints.for_tld("com")
    return f"{com.stream_url}/", f"{com.futures_stream_url}/", str(com.ws_api_url)


_LEGACY_STREAM_URL, _LEGACY_FSTREAM_URL, _LEGACY_WS_API_URL = legacy_urls()


class AccountListener(Protocol):
    """What a listen-key stream reports to: an account socket."""

    def deliver(self, message: Any) -> None:
        """An event, to the user's callback."""

    def report(self, error: Exception) -> None:
        """A problem, as the legacy error dict."""

    def connection_event(self, event: ConnectionEvent) -> None:
        """A lifecycle event of the stream."""


class UrlOverrides(Protocol):
    """The manager's python-binance URL attributes; changing them redirects new sockets.

    A manager may also have python-binance 1.x's ``DSTREAM_URL`` (COIN-M), set only when it
    redirects.
    """

    @property
    def STREAM_URL(self) -> str: ...

    @property
    def FSTREAM_URL(self) -> str: ...

    @property
    def WS_API_URL(self) -> str: ...


@attrs.frozen
class Credentials:
    """The API key and its loaded signer; the secret itself is not kept.

    Loading happens in the caller's thread when a socket or request is started, so a bad
    key or PEM file raises there, before any I/O, and the reactor thread never reads files.
    """

    api_key: str = attrs.field(repr=lambda key: f"{key[:4]}…")
    signer: Signer = attrs.field(repr=False)

    @classmethod
    def find(cls, options: Options, client: Any) -> Credentials:
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


@attrs.frozen
class Options:
    """The keyword options of a legacy manager, checked in the caller's thread."""

    api_key: str | None = attrs.field(default=None, repr=False)
    api_secret: str | None = attrs.field(default=None, repr=False)
    tld: str | None = None
    testnet: bool | None = None
    endpoints: Endpoints | None = None
    max_retries: int | None = 5
    stall_timeout: float | None = None
    rotate_after: float | None = 23 * 3600.0
    trust_root: TrustRoot = None
    on_event: Any = None
    reactor: Any = None
    user_data: str | None = None
    queue_size: int | None = None
    queue_overflow: str = "drop_oldest"
    #: read market streams from Redis Streams (``redis://host:port/db``) instead of Binance
    bus: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def parse(cls, options: dict[str, Any]) -> Options:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(_OPTIONS)}"
            )
        parsed = cls(**options)
        on_event = parsed.on_event
        if on_event not in (None, False, True) and not callable(on_event):
            raise TypeError("on_event must be None, True (events reach the callback) or callable")
        if parsed.user_data not in _USER_DATA:
            raise ValueError(
                "user_data must be None (WebSocket API, or listenKey on Binance.US), 'ws_api' "
                f"or 'listen_key', got {parsed.user_data!r}"
            )
        parsed.policy()  # max_retries, stall_timeout, rotate_after, queue_*: checked here
        if parsed.bus is not None:
            BusAddress.parse(parsed.bus)  # a bad URL fails here, naming the option
        return parsed

    def policy(self) -> ConnectionPolicy:
        """One policy for every connection; the silence limit follows each one's market."""
        stall = self.stall_timeout if self.stall_timeout is not None else VENUE
        return ConnectionPolicy(
            max_retries=self.max_retries,
            stall_timeout=stall,
            rotate_after=self.rotate_after,
            queue_size=self.queue_size,
            queue_overflow=self.queue_overflow,  # type: ignore[arg-type]  # checked there
        )


class Venue:
    """One manager's endpoints, credentials, policy and shared native clients."""

    def __init__(
        self,
        reactor: Any,
        options: Options,
        client: Any,
        urls: UrlOverrides,
        keepalive_every: float,
        on_account_event: Callable[[ConnectionEvent], None],
    ) -> None:
        if (
            isinstance(keepalive_every, bool)
            or not isinstance(keepalive_every, (int, float))
            or not keepalive_every > 0
        ):
            raise ValueError(
                f"user_timeout must be a positive number of seconds, got {keepalive_every!r}"
            )
        self.reactor = reactor
        self.options = options
        self.endpoints = _resolve_endpoints(options, client)
        self.keepalive_every = keepalive_every
        #: the API key and signer, once a socket or request needed them
        self.credentials: Credentials | None = None
        self._client = client
        self._urls = urls
        self._on_account_event = on_account_event
        self._lock = threading.Lock()
        self._stream_clients: dict[str, StreamSource] = {}
        self._account: WebSocketAPI | None = None
        self._apis: dict[str, WebSocketAPI] = {}
        self._rest_clients: dict[str, RestClient] = {}
        self._schedulers: dict[str, SnapshotScheduler] = {}

    def __repr__(self) -> str:
        return f"<Venue {self.endpoints.name} streams={len(self._stream_clients)}>"

    # -- the caller's thread ----------------------------------------------------------------

    def stream_host(self, market: str) -> str:
        """The stream host of a legacy market (``"spot"``, ``"futures"``, ``"coin_futures"``);
        ValueError if the venue has none.

        ``STREAM_URL``/``FSTREAM_URL`` changed from python-binance's values win over the venue.
        """
        if market == "spot":
            if self._urls.STREAM_URL != _LEGACY_STREAM_URL:
                return self._urls.STREAM_URL.rstrip("/")
            return self.endpoints.stream_url
        if market == "coin_futures":
            redirect = getattr(self._urls, "DSTREAM_URL", None)
            if redirect:
                return str(redirect).rstrip("/")
            if self.endpoints.coin_futures_stream_url is None:
                raise ValueError(
                    f"{self.endpoints.name} has no COIN-M futures streams; "
                    "use tld='com' or set DSTREAM_URL"
                )
            return self.endpoints.coin_futures_stream_url
        if self._urls.FSTREAM_URL != _LEGACY_FSTREAM_URL:
            return self._urls.FSTREAM_URL.rstrip("/")
        if self.endpoints.futures_stream_url is None:
            raise ValueError(
                f"{self.endpoints.name} has no USD-M futures streams; "
                "use tld='com' or set FSTREAM_URL"
            )
        return self.endpoints.futures_stream_url

    def ws_api_url(self) -> str:
        """The Spot WebSocket API URL (``WS_API_URL`` if changed, else the venue's)."""
        default = self.endpoints.ws_api_url
        if self._urls.WS_API_URL != _LEGACY_WS_API_URL or not default:
            return self._urls.WS_API_URL
        return default

    def rest_base(self, field: str) -> str:
        """The REST base for an Endpoints field; ValueError if the venue has none.

        A python-binance client's ``API_URL``/``FUTURES_URL`` (a proxy, or Binance.US) win,
        except on the testnet (python-binance keeps the mainnet URLs there and switches at
        call time) or when ``endpoints=`` was given.
        """
        base = getattr(self.endpoints, field)
        attribute = {"rest_url": "API_URL", "futures_rest_url": "FUTURES_URL"}.get(field, "")
        if self.options.endpoints is None and self.endpoints.name != "testnet":
            base = _rest_root(getattr(self._client, attribute, None)) or base
        if base is None:
            raise ValueError(f"{self.endpoints.name} has no REST endpoint {field}")
        return str(base)

    def check_depth(self, market: str) -> None:
        """A depth cache of ``market`` needs its streams and snapshot REST: ValueError if not."""
        self.stream_host(market)
        self.rest_base(_DEPTH_REST[market])

    def load_credentials(self, required: bool = True) -> Credentials | None:
        """Load the key once (a bad key or PEM file raises here, in the caller's thread)."""
        with self._lock:
            if self.credentials is None:
                try:
                    self.credentials = Credentials.find(self.options, self._client)
                except MissingCredentialsError:
                    if required:
                        raise
            return self.credentials

    def spot_user_data_kind(self) -> str:
        """``'user'`` (WebSocket API) or ``'us_spot'`` (listenKey), checked before any I/O."""
        choice = self.options.user_data
        venue = self.endpoints.name
        mechanism = venues.spot_user_data(venue)
        if choice == "listen_key" and venue in venues.SPOT_LISTEN_KEYS_REMOVED:
            raise ValueError(
                f"user_data='listen_key' is not available on {venue}: Spot listenKeys were "
                "removed on 2026-02-20; leave user_data unset to use the WebSocket API"
            )
        chosen = mechanism if choice is None else choice
        return "us_spot" if chosen == "listen_key" else "user"

    def call_soon(self, function: Callable[[], Any]) -> None:
        """Run on the reactor thread without waiting (queued until the reactor runs)."""
        if isInIOThread() and self.reactor.running:
            function()
        else:
            self.reactor.callFromThread(function)

    # -- the reactor thread -----------------------------------------------------------------

    def policy(self) -> ConnectionPolicy:
        """One policy for every connection; the silence limit follows each one's market."""
        return self.options.policy()

    def stream_client(self, market: str) -> StreamSource:
        """The shared StreamClient of a legacy market's current host (or, with the ``bus``
        option, the market's RedisStreamSource)."""
        if self.options.bus is not None:
            source = self._stream_clients.get(f"bus {market}")
            if source is None:
                from binance_twisted.bus.source import RedisStreamSource

                source = RedisStreamSource(
                    self.reactor, self.options.bus, venue=_MARKETS[market], name=f"bus-{market}"
                )
                self._stream_clients[f"bus {market}"] = source
            return source
        host = self.stream_host(market)
        client = self._stream_clients.get(f"{market} {host}")
        if client is None:
            client = StreamClient(
                self.reactor,
                self.endpoints,
                market=_MARKETS[market],
                stream_url=host,
                policy=self.policy(),
                trust_root=self.options.trust_root,
                name=market,
            )
            self._stream_clients[f"{market} {host}"] = client
        return client

    def rest(self, field: str, signed: bool = True) -> RestClient:
        """A REST client for an Endpoints field's base (keyed if signed)."""
        base = self.rest_base(field)
        cache_key = base if signed else f"public {base}"
        client = self._rest_clients.get(cache_key)
        if client is None:
            credentials = self.credentials if signed else None
            assert credentials is not None or not signed
            client = RestClient(
                self.reactor,
                base,
                api_key=credentials.api_key if credentials is not None else None,
                signer=credentials.signer if credentials is not None else None,
                trust_root=self.options.trust_root,
            )
            self._rest_clients[cache_key] = client
        return client

    def depth_sources(self, market: str) -> tuple[StreamSource, RestClient, SnapshotScheduler]:
        """A depth cache's stream client, snapshot REST and weight budget.

        Books of one market share them all, so their snapshots share one weight budget.
        """
        scheduler = self._schedulers.get(market)
        if scheduler is None:
            scheduler = self._schedulers[market] = SnapshotScheduler(self.reactor)
        return self.stream_client(market), self.rest(_DEPTH_REST[market], signed=False), scheduler

    def account_api(self) -> WebSocketAPI:
        """The one WebSocket API connection for account sockets."""
        if self._account is None:
            assert self.credentials is not None
            self._account = WebSocketAPI(
                self.reactor,
                self.endpoints,
                url=self.ws_api_url(),
                api_key=self.credentials.api_key,
                private_key_or_secret=self.credentials.signer,
                policy=self.policy(),
                trust_root=self.options.trust_root,
                on_event=self._on_account_event,
            )
        return self._account

    def ws_api(self, market: str, keyed: bool) -> WebSocketAPI:
        """The connection of a blocking ``ws_*`` call; keyed Spot calls share the account's."""
        if market == "spot" and keyed:
            return self.account_api()
        name = f"{market}{'-keyed' if keyed else ''}"
        api = self._apis.get(name)
        if api is None:
            credentials = self.credentials if keyed else None
            settings: dict[str, Any] = {
                "policy": self.policy(),
                "trust_root": self.options.trust_root,
            }
            if credentials is not None:
                settings.update(
                    api_key=credentials.api_key, private_key_or_secret=credentials.signer
                )
            if market == "futures":
                api = WebSocketAPI.futures(self.reactor, self.endpoints, **settings)
            else:
                url = self.ws_api_url()
                api = WebSocketAPI(self.reactor, self.endpoints, url=url, name="ws-api", **settings)
            self._apis[name] = api
        return api

    def listen_key_stream(self, kind: str, socket: AccountListener) -> ListenKeyStream:
        """A listenKey user-data stream (futures, COIN-M, Binance.US Spot) for ``socket``."""
        endpoints = self.endpoints
        if kind == "futures" and self._urls.FSTREAM_URL != _LEGACY_FSTREAM_URL:
            endpoints = endpoints.replace(futures_stream_url=self._urls.FSTREAM_URL.rstrip("/"))
        field = {"futures": "futures_rest_url", "us_spot": "rest_url"}.get(
            kind, "coin_futures_rest_url"
        )
        return ListenKeyStream(
            self.reactor,
            endpoints,
            ListenKeys(self.rest(field), kind),
            socket.deliver,
            on_error=socket.report,
            keepalive_every=self.keepalive_every,
            policy=self.policy(),
            trust_root=self.options.trust_root,
            on_connection_event=socket.connection_event,
        )

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters of every pooled connection by name, as ``StreamClient.stats()`` gives
        them (market streams and WebSocket API connections)."""
        found: dict[str, dict[str, Any]] = {}
        for client in self._stream_clients.values():
            found.update(client.stats())
        for api in (self._account, *self._apis.values()):
            if api is not None:
                found[api.name] = {**api.stats.as_dict(), "state": api.state}
        return found

    def release(self) -> defer.Deferred:
        """Close every pooled connection and budget; the pools start empty again."""
        clients: list[Any] = [*self._stream_clients.values(), *self._apis.values()]
        if self._account is not None:
            clients.append(self._account)
        schedulers = list(self._schedulers.values())
        self._stream_clients.clear()
        self._apis.clear()
        self._account = None
        self._rest_clients.clear()
        self._schedulers.clear()
        for scheduler in schedulers:
            scheduler.stop()
        return defer.gatherResults([c.close() for c in clients], consumeErrors=True)


def _resolve_endpoints(options: Options, client: Any) -> Endpoints:
    if options.endpoints is not None:
        return options.endpoints
    testnet = options.testnet
    if testnet is None:
        testnet = bool(getattr(client, "testnet", False))
    if testnet:
        return Endpoints.testnet()
    return Endpoints.for_tld(options.tld or getattr(client, "tld", None) or "com")


def _rest_root(url: str | None) -> str | None:
    """``https://api.binance.com`` from python-binance's ``API_URL`` (``…/api``) and the like."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
