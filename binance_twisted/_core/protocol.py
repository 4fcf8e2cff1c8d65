"""The autobahn protocol of one WebSocket session: frame → one decode → unwrap → dispatch.

This is where every message starts: autobahn parses the frames, :meth:`onMessageEnd` joins
the message, :meth:`SessionProtocol.onMessage` decodes it once and sends combined-stream
payloads straight to ``deliver`` (the market wing's ``StreamConnection.dispatch``, which
calls the user's callback). Replies with an ``id`` and anything else go to the ``owner``.

It owns no policy. Everything it learns goes to its owner, an :class:`ISessionOwner` (a
:class:`~binance_twisted._core.session.ReconnectingSession`). Nothing is logged or copied
per message; counters are bumped in place.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IConnector, IReactorTime
from twisted.internet.protocol import ReconnectingClientFactory, connectionDone
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure

from binance_twisted._core.frames import FIN_TEXT
from binance_twisted._core.inflate import TooBig, gunzip
from binance_twisted._core.pacing import Pacer, Unpaced
from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._core.stats import ConnectionStats
from binance_twisted._core.tls import describe_tls_failure
from binance_twisted._json import DECODE_ERRORS, dumps, loads

__all__ = [
    "Deliver",
    "ISessionOwner",
    "SessionFactory",
    "SessionProtocol",
    "cancel_close_timer",
    "close_code",
    "close_session",
    "describe_end",
    "fail_requests",
]

Deliver = Callable[[str, Any, dict, bytes], None]
"""``deliver(stream, data, envelope, raw)``: one combined-stream payload, unwrapped, with the
frame's bytes as received (gzip-compressed for a binary frame), for recorders."""


class ISessionOwner(Protocol):
    """What a session and its factory tell the connection that owns them."""

    def url_for_attempt(self) -> str:
        """The URL of the next connection attempt."""

    def prepare_session(self, factory: SessionFactory, proto: SessionProtocol) -> None:
        """A protocol was built for an attempt: wire it before its handshake."""

    def session_opened(self, proto: SessionProtocol) -> None:
        """The handshake succeeded."""

    def session_lost(
        self, factory: SessionFactory, proto: SessionProtocol | None, failure: Failure
    ) -> None:
        """A session ended, or an attempt failed before one existed (``proto`` is None)."""

    def message_dropped(self, proto: SessionProtocol, reason: str, code: int | None) -> None:
        """A message was refused (already counted in ``stats``): report it.

        ``code`` is 1009 when it was too big (the session is then failing), else ``None``.
        """

    def response_received(self, proto: SessionProtocol, message: dict) -> None:
        """A message with ``id`` or ``error``: a reply to a request."""

    def unwrapped_message(self, proto: SessionProtocol, message: Any) -> None:
        """A message that is neither a combined-stream payload nor a reply."""


class _RequestHidingLog:
    """autobahn's logger, except that its debug line of the opening handshake request does
    not show the request: the URL of a user-data stream holds the listen key."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def debug(self, *args: Any, **kwargs: Any) -> None:
        if "request" in kwargs:
            kwargs["request"] = "<not shown: its URL may hold a listen key>"
        self._log.debug(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


_OPEN = WebSocketClientProtocol.STATE_OPEN
#: a frame cut by the chunk's end and longer than this is gathered as a list of pieces
#: (views of the chunks, joined once when complete); a shorter one waits in ``self.data``
#: and is joined with the next chunk
_KEEP = 65536
_READ_SIZE = 256 * 1024


class SessionProtocol(WebSocketClientProtocol):
    """One session. Holds its own state (confirmed streams, pending requests, pacer)."""

    log = _RequestHidingLog(WebSocketClientProtocol.log)

    owner: ISessionOwner
    stats: ConnectionStats
    #: autobahn copies the factory's limit here when the session opens (0: none)
    maxMessagePayloadSize: int
    deliver: Deliver
    seconds: Callable[[], float]
    pacer: Pacer | Unpaced

    def __init__(self) -> None:
        super().__init__()
        self.url_streams: list[str] = []
        self.confirmed: set[str] = set()
        self.requested: set[str] = set()
        self.pending: dict[int, Any] = {}
        self.close_reason: str | None = None
        self.last_ping = 0.0
        self.opened_at: float | None = None
        #: a big text frame the fast path is gathering: its pieces, and the bytes missing
        self._pieces: list[Any] | None = None
        self._missing = 0

    def deliver_to(self, deliver: Deliver) -> None:
        """The one hand-over point of this session's combined-stream payloads.

        The owner calls it: ``drop`` before a session is live and after it is retired,
        the connection's ``dispatch`` while it is live, and a rotation's filters while
        two sessions overlap (see ``market.connection._StreamHandover``).
        """
        self.deliver = deliver

    def send_text(self, payload: bytes) -> None:
        """Send one text frame if the session is open (the pacer calls this)."""
        if self.state == self.STATE_OPEN:
            self.sendMessage(payload, isBinary=False)

    def send_request(
        self, request_id: int, method: str, params: Any, d: Deferred | None = None
    ) -> Deferred:
        """Send ``{"method", "id", "params"}`` through the pacer; ``d`` waits for the reply."""
        if d is None:
            d = Deferred()
        self.pending[request_id] = (method, params, d)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self.pacer.send(dumps(message))
        return d

    def connectionMade(self) -> None:
        # read up to 256 KiB per wakeup (Twisted's TCP default is 64 KiB): a burst of
        # frames, or one big array message, takes a quarter of the reactor turns. Over TLS
        # the socket is the TLS layer's transport (wss://, the way Binance is reached)
        transport: Any = self.transport
        socket_transport: Any = getattr(transport, "transport", None)  # under the TLS layer
        for layer in (transport, socket_transport):
            if hasattr(layer, "bufferSize"):
                layer.bufferSize = _READ_SIZE
        super().connectionMade()

    def onOpen(self) -> None:
        self.owner.session_opened(self)
        # frames that came in the handshake's last read wait in autobahn's buffer, which
        # it would parse one by one on its own path when this returns: a server that
        # streams at once (Binance does) sent hundreds there. Read them here, fast.
        if self.data and self.state == _OPEN:
            pending, self.data = self.data, b""
            self.dataReceived(pending)

    def onPing(self, payload: bytes) -> None:
        self.last_ping = self.seconds()
        super().onPing(payload)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        # autobahn folds a TLS failure into a generic "closed uncleanly"; keep the real cause
        if self.close_reason is None:
            self.close_reason = describe_tls_failure(reason, _tls_connection(self.transport))
        cancel_close_timer(self)
        super().connectionLost(reason)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.close_reason is None:
            self.close_reason = f"{reason or 'connection closed'} (code {code})"

    def onMessageEnd(self) -> None:
        # autobahn's version also fires a "message" observer event: a Deferred built and
        # resolved per message that nobody here listens to, a third of the CPU per trade
        # (see bench/README.md). tests/test_internals.py pins the autobahn internals used.
        if not self.failedByMe:
            self.onMessage(b"".join(self.message_data), self.message_is_binary)
        self.message_data = None  # type: ignore[assignment]  # autobahn resets it so

    def dataReceived(self, data: bytes) -> None:
        """The fast path: complete unfragmented text frames between frames, read here.

        Once the session is open and autobahn is not inside a fragmented message, the
        chunk's run of final, unmasked, RSV-free text frames of legal length is cut out by
        offsets and handed on, with one clock read per chunk; a frame the chunk cuts short
        waits in autobahn's buffer for the next chunk (a big one as a list of views of the
        chunks, joined once), and a frame autobahn started gets just its own rest. Anything
        else (control frames,
        fragments, binary, reserved bits, masked, oversized or non-minimal lengths) goes
        with the rest of the chunk to autobahn's parser, which applies RFC 6455
        (tests/test_frames.py holds both paths to the same results).
        """
        if self.state != _OPEN:  # the handshake, or a closing session
            super().dataReceived(data)
            return
        end = len(data)
        if self._pieces is not None:  # the rest of a big frame this path began
            offset = self._gather(data)  # where the next frame starts, not a copy
            if offset == end or self.state != _OPEN:
                return
        else:
            offset = 0
            if self.current_frame is not None:  # autobahn is inside a frame: its rest
                rest = self.current_frame.length - self.current_frame_masker.pointer()
                self._dataReceived(data[:rest])
                data = data[rest:]
                if not data or self.state != _OPEN:
                    return
            if self.inside_message:  # between the frames of a fragmented message
                self._dataReceived(data)
                return
            if self.data:  # the start of a frame the last chunk cut short
                data, self.data = self.data + data, b""
            end = len(data)
        limit = self.maxMessagePayloadSize or end
        text = self._text
        stats = self.stats
        now = None  # the chunk's arrival, read once: every frame in it arrived then
        while True:
            if end - offset < 2:
                self.data = data[offset:]  # nothing, or a frame's first byte
                return
            if data[offset] != FIN_TEXT:
                break
            length = data[offset + 1]
            start = offset + 2
            if length > 125:  # 126, 127: extended length; >127: masked (autobahn fails it)
                if length == 126:
                    start += 2
                    minimum = 126
                elif length == 127:
                    start += 8
                    minimum = 65536
                else:
                    break
                if start > end:
                    self.data = data[offset:]
                    return
                length = int.from_bytes(data[offset + 2 : start], "big")
                if length < minimum or length > limit:
                    break
            stop = start + length
            if stop > end:
                if length > _KEEP:  # a big frame: its pieces are kept, joined once
                    self._pieces = [memoryview(data)[start:]]
                    self._missing = stop - end
                    return
                self.data = data[offset:]  # the rest of the frame comes later
                return
            offset = stop
            if now is None:
                now = stats.last_message_time = self.seconds()
            stats.messages += 1  # counted before the callbacks run, as they may read them
            stats.bytes += length
            text(data[start:stop])
            if self.state != _OPEN:  # a handler ended the session: the rest is not read
                return
        self._dataReceived(data[offset:])

    def _gather(self, data: bytes) -> int:
        """Add a chunk to the big frame being gathered; once it is whole, hand it on.

        Returns where the chunk's next frame starts (its length while the frame is still
        short), so the rest of a 256 KiB read is parsed in place rather than copied.
        """
        pieces, missing = self._pieces, self._missing
        assert pieces is not None
        if len(data) < missing:
            pieces.append(data)
            self._missing = missing - len(data)
            return len(data)
        pieces.append(memoryview(data)[:missing])
        self._pieces = None
        payload = b"".join(pieces)
        stats = self.stats
        stats.messages += 1
        stats.bytes += len(payload)
        stats.last_message_time = self.seconds()
        self._text(payload)
        return missing

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        stats = self.stats
        stats.messages += 1
        stats.bytes += len(payload)
        stats.last_message_time = self.seconds()
        if not isBinary:
            self._text(payload)
            return
        limit = self.factory.maxMessagePayloadSize
        try:
            text = gunzip(payload, limit)
        except TooBig:
            self.too_big(f"binary frame inflates past the {limit}-byte limit")
            return
        self._text(text, len(payload))

    def _text(self, payload: bytes, size: int | None = None) -> None:
        """One message's JSON text (``size``: its frame's length, if it was gzipped)."""
        try:
            message = loads(payload)
        except DECODE_ERRORS:
            self.stats.decode_errors += 1
            reason = f"undecodable frame of {size or len(payload)} bytes dropped"
            self.owner.message_dropped(self, reason, None)
            return
        if type(message) is dict:
            stream = message.get("stream")
            if stream is not None:
                self.deliver(stream, message.get("data"), message, payload)
                return
            if "id" in message or "error" in message:
                self.owner.response_received(self, message)
                return
        self.owner.unwrapped_message(self, message)

    def too_big(self, reason: str) -> None:
        """Count, report and fail the session with close code 1009 (it then reconnects)."""
        self.stats.oversized += 1
        self.close_reason = f"{reason} (code {self.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG})"
        self.owner.message_dropped(self, reason, self.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG)
        self._fail_connection(self.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG, reason)

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        # autobahn's hook for a frame, or a message as its fragments arrive, over the limit:
        # called from the frame header, before any of the payload is buffered
        self.too_big(f"message of {msg_size} bytes over the {max_msg_size}-byte limit")


class SessionFactory(WebSocketClientFactory, ReconnectingClientFactory):
    """autobahn's client factory with Twisted's reconnect policy, for one session lineage.

    The URL is rebuilt on every attempt (``owner.url_for_attempt``) because the streams that
    fit in the URL change as the user adds and removes them. Twisted's own jitter is a normal
    variate (unbounded); ``spread`` replaces it with a bounded uniform one, so the first
    retry reliably lands within ``initialDelay * (1 ± spread)`` and no retry waits longer
    than ``maxDelay``. Retries are scheduled by :meth:`schedule_retry`, not by Twisted's
    ``retry()``.
    """

    protocol = SessionProtocol
    jitter = 0
    spread = 0.2

    def __init__(self, owner: ISessionOwner, url: str, reactor: IReactorTime) -> None:
        WebSocketClientFactory.__init__(self, url=url, reactor=reactor)
        self.owner = owner
        self.clock = reactor  # type: ignore[assignment]
        self.reactor_time = reactor
        self.noisy = False
        self.busy = False
        self.last_protocol: SessionProtocol | None = None

    @classmethod
    def for_policy(
        cls, owner: ISessionOwner, url: str, reactor: IReactorTime, policy: ConnectionPolicy
    ) -> SessionFactory:
        """A factory retrying, timing out and bounding messages as ``policy`` says."""
        factory = cls(owner, url, reactor)
        factory.initialDelay = factory.delay = policy.initial_delay
        factory.maxDelay = policy.max_delay  # type: ignore[assignment]
        factory.factor = policy.backoff_factor
        factory.spread = policy.jitter
        factory.maxRetries = policy.max_retries  # type: ignore[assignment]
        factory.setProtocolOptions(
            utf8validateIncoming=False,  # JSON decoding validates; autobahn's costs a copy
            openHandshakeTimeout=policy.open_timeout,
            closeHandshakeTimeout=5,
            autoPingInterval=0,
            maxFramePayloadSize=policy.max_message_size,
            maxMessagePayloadSize=policy.max_message_size,
            failByDrop=False,  # fail with a close frame that says why (1009: too big)
        )
        return factory

    def startedConnecting(self, connector: IConnector) -> None:
        self.busy = True

    def schedule_retry(self) -> float | None:
        """Schedule the next attempt: its delay in seconds, or ``None`` past the retry limit.

        Done here rather than by Twisted's ``retry()``, whose order of growing and scheduling
        the delay changed in Twisted 26.4: the first retry comes after ``initialDelay``
        (jittered), each later one ``factor`` times later, never past ``maxDelay``.
        ``stopTrying()`` cancels the pending attempt.
        """
        if not self.continueTrying:
            return None
        self.retries += 1
        if self.maxRetries is not None and self.retries > self.maxRetries:
            return None
        wait = min(self.delay * random.uniform(1 - self.spread, 1 + self.spread), self.maxDelay)
        connector = self.connector
        assert connector is not None

        def attempt() -> None:
            self._callID = None
            connector.connect()

        self._callID = self.reactor_time.callLater(wait, attempt)
        self.delay = min(self.delay * self.factor, self.maxDelay)
        return wait

    def buildProtocol(self, addr: IAddress | None) -> SessionProtocol:
        self.setSessionParameters(url=self.owner.url_for_attempt())
        proto: SessionProtocol = WebSocketClientFactory.buildProtocol(self, addr)  # type: ignore[assignment]
        self.owner.prepare_session(self, proto)
        self.last_protocol = proto
        return proto

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        self.connector = connector
        self.busy = False
        self.last_protocol = None
        self.owner.session_lost(self, None, reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        self.connector = connector
        self.busy = False
        proto, self.last_protocol = self.last_protocol, None
        self.owner.session_lost(self, proto, reason)


def close_session(proto: SessionProtocol) -> None:
    """Close politely if open, else just drop the transport (handshake not finished)."""
    if proto.state == proto.STATE_OPEN:
        proto.sendClose(1000)
    elif proto.transport is not None and proto.state != proto.STATE_CLOSED:
        proto.dropConnection(abort=True)


def fail_requests(proto: SessionProtocol, error: Exception) -> None:
    """Fail every request of ``proto`` still waiting for its reply."""
    pending, proto.pending = proto.pending, {}
    for _method, _params, deferred in pending.values():
        if not deferred.called:
            deferred.errback(error)


def cancel_close_timer(proto: Any) -> None:
    """autobahn leaves its close-handshake timer armed when the peer hangs up without
    answering our close frame: a reactor call that outlives the session by 5 s. Call it
    from ``connectionLost`` of any autobahn protocol of ours."""
    if proto.closeHandshakeTimeoutCall is not None:
        proto.closeHandshakeTimeoutCall.cancel()
        proto.closeHandshakeTimeoutCall = None


def close_code(proto: SessionProtocol) -> int:
    """The WebSocket close code that ended ``proto``: the peer's, else ours, else 1006
    (no close frame: the TCP connection just ended)."""
    for code in (getattr(proto, "remoteCloseCode", None), getattr(proto, "localCloseCode", None)):
        if code is not None:
            return int(code)
    return 1006


def describe_end(proto: SessionProtocol | None, failure: Failure) -> str:
    """Why a session (or an attempt that never became one) ended, in words."""
    if proto is not None and proto.close_reason:
        return proto.close_reason
    return describe_tls_failure(failure) or failure.getErrorMessage()


def _tls_connection(transport: object) -> object:
    """The pyOpenSSL connection under a ``wss://`` session (``None`` for plain TCP, whose
    ``getHandle()`` fails once the socket is closed)."""
    if isinstance(transport, TLSMemoryBIOProtocol):
        return transport.getHandle()
    return None
