"""The WebSocket API: requests by id over one persistent connection, and user-data streams.

:class:`WebSocketAPI` is a :class:`~binance_twisted._core.session.ReconnectingSession` (backoff,
watchdog, 24 h and ``serverShutdown`` rotation, events) that carries:

* **requests**: ``request(method, params, signed=...)`` fires with the ``result``; every
  request has a timeout; a non-200 status fails with
  :class:`~binance_twisted.errors.BinanceAPIError` (``RateLimitedError`` for 429/418, with
  ``retry_after``); a request in flight when the connection drops fails with
  :class:`~binance_twisted.errors.NotConnectedError` ("execution status unknown"): it is
  never resent, because an order may or may not have been placed. The last ``rateLimits``
  Binance reported are kept in :attr:`WebSocketAPI.rate_limits`.
* **user-data subscriptions** (:class:`UserDataSubscription`): events arrive as
  ``{"subscriptionId", "event"}`` and are routed to their subscription. Every new session
  (reconnect, rotation) subscribes them again, and so does an ``eventStreamTerminated`` the
  user did not ask for. During a rotation both sessions deliver for a moment; repeats are
  dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from binance_twisted import venues
from binance_twisted._core.pacing import Unpaced
from binance_twisted._core.policy import ConnectionPolicy, check_seconds
from binance_twisted._core.protocol import SessionProtocol, close_session
from binance_twisted._core.rotation import Rotation
from binance_twisted._core.session import ReconnectingSession
from binance_twisted._core.tls import TrustRoot, load_trust_root
from binance_twisted._json import dumps
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import (
    BinanceAPIError,
    ClientClosedError,
    ConnectionGaveUpError,
    MissingCredentialsError,
    RateLimitedError,
    RequestTimeoutError,
)
from binance_twisted.events import ConnectionEvent
from binance_twisted.signing import Signer, load_signer, sign_ws_params
from binance_twisted.wsapi.methods import WsApiMethods
from binance_twisted.wsapi.table import check_market
from binance_twisted.wsapi.userdata import UserDataSubscription

__all__ = ["WebSocketAPI"]

log = Logger(namespace="binance_twisted.wsapi")

#: the ws_* market names of this module → the venue profile's market names
_PROFILE_MARKETS = {"spot": "spot", "futures": "usdm"}
_RECENT_EVENTS = 4096


class _ApiHandover(Rotation):
    """Rotation of the WS API: resubscribe on the candidate, then switch.

    New requests keep going to the old session until the switch; afterwards the old one is
    closed once its last in-flight request is answered (or its timeout fired).
    """

    session: WebSocketAPI

    def begin(self, proto: SessionProtocol) -> None:
        self.subscribed()

    def subscribed(self) -> None:
        candidate = self.candidate
        if candidate is None:
            return
        if all(candidate in s.ids for s in self.session._subscriptions if s.active):
            self.finish()

    def lingers(self) -> bool:
        return bool(self.session._subscriptions)

    def retire_old(self) -> None:
        """Close the old session once its in-flight requests are answered (or timed out)."""
        self.session._draining.add(self.old)
        self.session._close_drained()


class WebSocketAPI(WsApiMethods, ReconnectingSession):
    """One connection to Binance's WebSocket API (``ws_api_url`` of ``endpoints``).

    ``market="futures"`` (or :meth:`futures`) marks a USD-M futures connection; the
    python-binance ``ws_*`` methods (:mod:`binance_twisted.wsapi.methods`) check it.

    ``api_key`` and ``private_key_or_secret`` (an HMAC secret, an RSA/Ed25519 PEM key or path,
    or a loaded :class:`~binance_twisted.signing.Signer`) are needed for signed requests and
    user data only. ``return_rate_limits=False`` asks Binance to leave ``rateLimits`` out of
    replies.
    """

    rotation_class = _ApiHandover

    def __init__(
        self,
        reactor: IReactorTime,
        endpoints: Endpoints | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        private_key_or_secret: Any = None,
        policy: ConnectionPolicy | None = None,
        trust_root: TrustRoot = None,
        request_timeout: float = 10.0,
        return_rate_limits: bool = True,
        recv_window: float | None = None,
        on_event: Callable[[ConnectionEvent], Any] | None = None,
        name: str = "ws-api",
        market: str = "spot",
    ) -> None:
        endpoints = endpoints if endpoints is not None else Endpoints.for_tld("com")
        base = url if url is not None else endpoints.ws_api_url
        if base is None:
            raise ValueError(f"{endpoints.name} has no WebSocket API; pass url=")
        if not base.startswith(("wss://", "ws://")):
            raise ValueError(f"url must start with wss:// or ws://, got {base!r}")
        check_seconds("request_timeout", request_timeout)
        market = check_market(market)
        super().__init__(
            reactor,
            name,
            base,
            policy=policy if policy is not None else ConnectionPolicy(),
            profile=venues.profile(_PROFILE_MARKETS[market], endpoints.name),
            trust_root=load_trust_root(trust_root),
            on_event=on_event,
        )
        #: ``"spot"`` or ``"futures"``: which ``ws_*`` methods this connection serves
        self.market = market
        self.api_key = api_key
        self._signer: Signer | None = (
            private_key_or_secret
            if isinstance(private_key_or_secret, Signer) or private_key_or_secret is None
            else load_signer(private_key_or_secret)
        )
        self.request_timeout = request_timeout
        self.return_rate_limits = return_rate_limits
        self.recv_window = recv_window
        #: The ``rateLimits`` of the latest reply that carried them.
        self.rate_limits: list[dict[str, Any]] = []
        #: Milliseconds to add to the local clock for ``timestamp`` (see :meth:`sync_time`).
        self.time_offset = 0.0
        self._queued: list[tuple[str, dict | None, bool, defer.Deferred]] = []
        self._subscriptions: list[UserDataSubscription] = []
        self._recent: deque[bytes] = deque(maxlen=_RECENT_EVENTS)
        self._recent_set: set[bytes] = set()
        self._draining: set[SessionProtocol] = set()

    def __repr__(self) -> str:
        keyed = "with key" if self.api_key else "no key"
        return f"<WebSocketAPI {self.name} {self._state} {keyed}>"

    @property
    def key_type(self) -> str | None:
        """``HMAC``, ``RSA`` or ``ED25519`` (``None`` without a key)."""
        return self._signer.key_type if self._signer is not None else None

    # -- requests ----------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection now (requests and subscriptions open it on demand anyway)."""
        if self._state == "idle":
            self._start()

    def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        signed: bool = False,
        timeout: float | None = None,
    ) -> defer.Deferred:
        """Send one request; fires with its ``result``, fails with the error Binance gave.

        ``signed`` adds ``apiKey``, ``timestamp`` (local time plus :attr:`time_offset`) and
        ``signature`` at send time. Without a connection the request waits for one (its
        timeout runs meanwhile).
        """
        if not isinstance(method, str) or not method:
            raise ValueError(f"method must be a non-empty string, got {method!r}")
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping or None, got {type(params).__name__}")
        if timeout is not None:
            check_seconds("timeout", timeout)
        if signed:
            self._need_credentials()
        if self._state in ("closing", "closed"):
            return defer.fail(ClientClosedError(f"{self.name} is closed"))
        if self._state == "gave_up":
            return defer.fail(ConnectionGaveUpError(self.name, 0, self._last_reason))
        d: defer.Deferred = defer.Deferred()
        setting = "timeout=" if timeout is not None else "request_timeout="
        seconds = timeout if timeout is not None else self.request_timeout
        timer = self._reactor.callLater(seconds, self._timed_out, method, d, seconds, setting)
        d.addBoth(_cancel_timer, timer)
        params = dict(params) if params else None  # the caller may reuse theirs
        session = self._session
        if session is not None and session.state == session.STATE_OPEN:
            self._send(session, method, params, signed, d)
        else:
            self._queued.append((method, params, signed, d))
            if self._state == "idle":
                self._start()
        return d

    def sync_time(self) -> defer.Deferred[float]:
        """Ask Binance for its time (``time``) and keep the offset for signed timestamps."""
        sent = self._reactor.seconds()
        d = self.request("time")

        def keep(result: dict) -> float:
            received = self._reactor.seconds()
            local_ms = (sent + received) / 2 * 1000
            self.time_offset = float(result["serverTime"]) - local_ms
            return self.time_offset

        return d.addCallback(keep)

    def subscribe_user_data(
        self,
        on_event: Callable[[dict], Any],
        *,
        on_error: Callable[[Exception], Any] | None = None,
        logon: bool = False,
    ) -> defer.Deferred[UserDataSubscription]:
        """Receive this key's Spot user data; fires with a :class:`UserDataSubscription`.

        Default: ``userDataStream.subscribe.signature`` (any key type, no logon). With
        ``logon=True`` (Ed25519 keys): ``session.logon`` then ``userDataStream.subscribe``.
        """
        self._need_credentials()
        if logon and self.key_type != "ED25519":
            raise ValueError("logon=True needs an Ed25519 key (Binance's session.logon rule)")
        kind = "logon" if logon else "signature"
        return self._add_subscription(UserDataSubscription(self, kind, on_event, on_error))

    def subscribe_listen_token(
        self,
        token_source: Callable[[], defer.Deferred],
        on_event: Callable[[dict], Any],
        *,
        on_error: Callable[[Exception], Any] | None = None,
    ) -> defer.Deferred[UserDataSubscription]:
        """Margin user data: ``token_source()`` fires with ``(listenToken, expiration_ms)``.

        The token is renewed (a new one subscribed) well before it expires, and after every
        new session; fires with the :class:`UserDataSubscription`.
        """
        subscription = UserDataSubscription(self, "listenToken", on_event, on_error, token_source)
        return self._add_subscription(subscription)

    # -- the session hooks ------------------------------------------------------------------

    def _pacer(self, send: Callable[[bytes], None]) -> Unpaced:
        return Unpaced(send)

    def url_for_attempt(self) -> str:
        if self.return_rate_limits:
            return self._base
        separator = "&" if "?" in self._base else "?"
        return f"{self._base}{separator}returnRateLimits=false"

    def _opened(self, proto: SessionProtocol) -> None:
        for subscription in self._subscriptions:
            subscription.resubscribe(proto)

    def _became_current(self) -> None:
        session = self._session
        queued, self._queued = self._queued, []
        for method, params, signed, d in queued:
            if not d.called and session is not None:
                self._send(session, method, params, signed, d)

    def _stopping(self, error: Exception) -> None:
        queued, self._queued = self._queued, []
        for _method, _params, _signed, d in queued:
            if not d.called:
                d.errback(error)
        for subscription in list(self._subscriptions):
            subscription.connection_ended(error)

    def response_received(self, proto: SessionProtocol, message: dict) -> None:
        """A reply: fire its request; keep the rate limits it reports."""
        limits = message.get("rateLimits")
        if limits is not None:
            self.rate_limits = limits
        entry = proto.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if entry is None:
            if message.get("status", 200) != 200:
                self._report_error(f"unmatched error reply: {_error_text(message)}", None)
            return
        method, _context, d = entry
        if d.called:
            return
        status = message.get("status", 200)
        if status == 200:
            d.callback(message.get("result"))
        else:
            now = self._reactor.seconds()
            d.errback(_api_error(method, status, message.get("error") or {}, now))
        if proto in self._draining:
            self._close_drained()

    def unwrapped_message(self, proto: SessionProtocol, message: Any) -> None:
        """An event: user data (routed by ``subscriptionId``) or ``serverShutdown``."""
        if type(message) is not dict or type(message.get("event")) is not dict:
            self._report_error("unexpected message dropped", None, key="raw")
            return
        event = message["event"]
        if event.get("e") == "serverShutdown":
            if proto is self._session:
                self.rotate("serverShutdown")
            return
        if self._seen_before(event):
            return
        subscription_id = message.get("subscriptionId")
        for subscription in self._subscriptions:
            if subscription.ids.get(proto) == subscription_id:
                subscription.deliver(proto, event)
                return

    # -- what subscriptions call (UserDataHost) ------------------------------------------------

    def current_session(self) -> SessionProtocol | None:
        """The session requests go to now, if one is open."""
        return self._session

    def send_on(
        self,
        proto: SessionProtocol,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
    ) -> defer.Deferred:
        """Send a request on ``proto`` itself, signed at send time if asked."""
        d: defer.Deferred = defer.Deferred()
        self._send(proto, method, params, signed, d)
        return d

    def subscription_live(self, proto: SessionProtocol) -> None:
        """A subscription is live on ``proto``: a rotation to it may be complete."""
        handover = self._rotation
        if isinstance(handover, _ApiHandover) and proto is handover.candidate:
            handover.subscribed()

    def subscription_ended(self, subscription: UserDataSubscription) -> None:
        """Forget ``subscription``: it is not subscribed again on later sessions."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    # -- internals ---------------------------------------------------------------------------

    def _need_credentials(self) -> None:
        missing = [
            n
            for n, v in (("api_key", self.api_key), ("private_key_or_secret", self._signer))
            if not v
        ]
        if missing:
            raise MissingCredentialsError(
                f"{' and '.join(missing)} needed for signed requests and user data"
            )

    def _send(
        self,
        proto: SessionProtocol,
        method: str,
        params: dict | None,
        signed: bool,
        d: defer.Deferred,
    ) -> None:
        """Sign (at send time, so the timestamp is fresh) and send; chain into ``d``."""
        if signed:
            assert self._signer is not None and self.api_key is not None
            params = dict(params or {})
            params["timestamp"] = int(self._reactor.seconds() * 1000 + self.time_offset)
            if self.recv_window is not None and "recvWindow" not in params:
                params["recvWindow"] = self.recv_window
            params = sign_ws_params(params, self.api_key, self._signer)
        self._send_request(proto, method, params, d)

    def _timed_out(self, method: str, d: defer.Deferred, seconds: float, setting: str) -> None:
        if not d.called:
            d.errback(
                RequestTimeoutError(
                    f"{self.name}: no reply to {method} within {seconds:g} s ({setting}); "
                    "its execution status is unknown",
                    request=method,
                    timeout=seconds,
                )
            )
        self._close_drained()

    def _close_drained(self) -> None:
        """Close retired sessions whose every request was answered or timed out."""
        for proto in list(self._draining):
            if all(entry[2].called for entry in proto.pending.values()):
                self._draining.discard(proto)
                close_session(proto)

    def _add_subscription(
        self, subscription: UserDataSubscription
    ) -> defer.Deferred[UserDataSubscription]:
        self._subscriptions.append(subscription)
        if self._state == "idle":
            self._start()
        elif self._session is not None:
            subscription.resubscribe(self._session)
        return subscription.ready

    def _seen_before(self, event: dict) -> bool:
        """During and right after a rotation both sessions may deliver the same event."""
        if self._rotation is None and self._tail_call is None:
            return False
        fingerprint = dumps(event)
        if fingerprint in self._recent_set:
            return True
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(fingerprint)
        self._recent_set.add(fingerprint)
        return False


def _api_error(method: str, status: int, error: dict, now: float) -> BinanceAPIError:
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    retry_ms = data.get("retryAfter") if data else None
    retry_after = max(0.0, retry_ms / 1000 - now) if retry_ms else None
    cls = RateLimitedError if status in (418, 429) else BinanceAPIError
    code = error.get("code") if isinstance(error.get("code"), int) else None
    return cls(status, code, str(error.get("msg", "no message")), retry_after, request=method)


def _error_text(message: dict) -> str:
    error = message.get("error") or {}
    return f"status {message.get('status')}: {error.get('code')} {error.get('msg')}"


def _cancel_timer(result: Any, timer: IDelayedCall) -> Any:
    if timer.active():
        timer.cancel()
    return result
