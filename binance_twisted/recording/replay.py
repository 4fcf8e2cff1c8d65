"""Replay a recording as a local Binance: unchanged clients connect and get recorded data.

:class:`ReplayFactory` is an autobahn WebSocket server that serves Binance's stream paths,
``/stream?streams=a/b`` (combined: each recorded frame sent as it was received, text or
binary) and ``/ws/<stream>`` (raw: the payload alone), answers ``SUBSCRIBE``,
``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS``, and replays the recorded frames of the streams
asked for, in order:

* ``speed=0``: as fast as the client reads, never faster (the socket's back-pressure pauses
  the replay, so no buffer grows);
* ``speed=1``: with the recorded timing (monotonic receive times; a pause is capped at
  :data:`MAX_PAUSE` seconds); ``speed=N``: N times faster.

A DISCONNECT in the recording ends the replay session the way the real one ended (the client
sees the connection drop and reconnects), and the next session resumes where the recording
goes on: sessions of the same stream set share one position. ``loop=True`` starts over at
the end; otherwise the session stays open and quiet once the recording has ended (as a
market with no trades would), so clients keep their books.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.interfaces import IConsumer, IDelayedCall, IPushProducer, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from zope.interface import implementer

from binance_twisted._core.frames import frame_head
from binance_twisted._core.protocol import cancel_close_timer
from binance_twisted._json import dumps, loads
from binance_twisted.recording.format import Kind, Record
from binance_twisted.recording.reader import read_records
from binance_twisted.recording.snapshots import depth_symbol

__all__ = ["MAX_PAUSE", "ReplayFactory", "ReplaySite", "replay_site"]

log = Logger(namespace="binance_twisted.replay")

#: the longest pause replayed at ``speed`` > 0, in seconds of recorded time
MAX_PAUSE = 10.0
_BATCH = 1000  # frames sent per reactor turn at speed 0…
_BATCH_BYTES = 256 * 1024  # …or this many bytes, whichever comes first


class _Cursor:
    """A shared position in the recorded frames and disconnects of one stream set."""

    def __init__(self, path: Path, streams: tuple[str, ...], loop: bool) -> None:
        self.path, self.streams, self.loop = path, streams, loop
        self._records = self._read()
        self._ahead: Record | None = None
        self.sent = 0

    def _read(self) -> Iterator[Record]:
        return read_records(self.path, streams=self.streams, kinds=[Kind.FRAME, Kind.DISCONNECT])

    def peek(self) -> Record | None:
        """The next record without taking it; ``None`` at the end (after a ``loop`` restart)."""
        if self._ahead is None:
            self._ahead = next(self._records, None)
            if self._ahead is None and self.loop:
                self._records = self._read()
                self._ahead = next(self._records, None)
        return self._ahead

    def take(self) -> Record | None:
        record, self._ahead = self.peek(), None
        return record


class ReplayProtocol(WebSocketServerProtocol):
    """One client session of the replay."""

    factory: ReplayFactory
    call: IDelayedCall | None = None
    paused = False
    last_mono: int | None = None
    first_sent: dict[str, int]

    def onConnect(self, request: Any) -> None:
        path = request.path  # autobahn keeps the query apart, in ``params``
        if path.rstrip("/") == "/stream":
            wanted = (request.params.get("streams") or [""])[0]
            self.combined = True
        elif path.startswith("/ws/"):
            wanted = path[len("/ws/") :]
            self.combined = False
        else:
            raise ConnectionDeny(404, f"no such stream path: {path}")
        self.streams = tuple(s for s in wanted.split("/") if s)
        if not self.streams:
            raise ConnectionDeny(400, "name at least one stream")
        self.cursor = self.factory.cursor(self.streams)
        self.first_sent = {}

    def onOpen(self) -> None:
        consumer = cast(IConsumer, self.transport)
        if getattr(consumer, "producer", None) is not None:
            # upgraded from an HTTP request (replay_site): the HTTP channel it came through
            # is still the transport's producer, and is done with it
            consumer.unregisterProducer()
        consumer.registerProducer(_Pump(self), True)
        self._schedule(0.0)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        cancel_close_timer(self)
        super().connectionLost(reason)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        try:
            request = loads(payload)
            method, request_id = request["method"], request["id"]
        except (ValueError, TypeError, KeyError):
            return
        result: Any = None
        if method == "LIST_SUBSCRIPTIONS":
            result = list(self.streams)
        self.sendMessage(dumps({"result": result, "id": request_id}))

    def _schedule(self, delay: float) -> None:
        if self.call is None and not self.paused and self.state == self.STATE_OPEN:
            self.call = self.factory.reactor.callLater(delay, self._send)

    def _send(self) -> None:
        """Send the next frame (at speed 0, a batch of them as one write) and schedule the
        next send, unless the recording ended or disconnects here."""
        self.call = None
        speed = self.factory.speed
        frames: list[bytes] = []  # heads and payloads, written at once
        size, more = 0, True
        for _ in range(_BATCH if speed == 0 else 1):
            if self.paused or self.state != self.STATE_OPEN or size >= _BATCH_BYTES:
                break  # a closing session takes nothing: the next session resumes there
            record = self.cursor.peek()
            if record is not None and record.kind is Kind.DISCONNECT and frames:
                break  # the frames before it go out first: an abort would discard them
            record = self.cursor.take()
            if record is None:
                # the session stays open and quiet, like a market with no trades: closing it
                # would make clients reconnect and resync to a snapshot older than their book
                log.info("replay: the recording of {streams} has ended", streams=self.streams)
                more = False
                break
            if record.kind is Kind.DISCONNECT:
                if record.details().get("by") == "client":
                    continue  # the recorder's own close at its end, not Binance's doing
                log.info("replay: the recording disconnects here; so does this session")
                self.dropConnection(abort=True)
                return
            size += self._add(record, frames)
        if frames:
            self.sendData(b"".join(frames))
        if more:
            self._schedule(self._pause_before_next(speed))

    def _add(self, record: Record, frames: list[bytes]) -> int:
        """Add one recorded frame to the batch; its size."""
        if record.stream not in self.first_sent:
            self.first_sent[record.stream] = record.recv_wall_ns
            self.factory.session_starts[record.stream] = record.recv_wall_ns
        payload = record.payload
        if not self.combined and not record.binary:
            message = loads(payload)
            if isinstance(message, dict) and "data" in message:
                payload = dumps(message["data"])
        frames += (frame_head(len(payload), record.binary), payload)
        self.cursor.sent += 1
        self.last_mono = record.recv_mono_ns
        return len(payload)

    def _pause_before_next(self, speed: float) -> float:
        upcoming = self.cursor.peek() if speed else None
        if upcoming is None or self.last_mono is None:
            return 0.0
        return min(max(0.0, (upcoming.recv_mono_ns - self.last_mono) / 1e9), MAX_PAUSE) / speed


@implementer(IPushProducer)
class _Pump:
    """The session's producer: the transport pauses the replay when its buffer is full."""

    def __init__(self, session: ReplayProtocol) -> None:
        self.session = session

    def pauseProducing(self) -> None:
        self.session.paused = True

    def resumeProducing(self) -> None:
        self.session.paused = False
        self.session._schedule(0.0)

    def stopProducing(self) -> None:
        self.session.paused = True


class ReplayFactory(WebSocketServerFactory):
    """Serves the recording at ``path`` (a file or a directory) as Binance's streams."""

    protocol = ReplayProtocol  # type: ignore[assignment]

    def __init__(
        self, reactor: IReactorTime, path: str | Path, speed: float = 0, loop: bool = False
    ) -> None:
        if not speed >= 0:
            raise ValueError(
                f"speed must be 0 (as fast as the client reads) or positive, got {speed!r}"
            )
        super().__init__(reactor=reactor)
        self.reactor = reactor
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"no recording at {self.path}")
        self.speed = speed
        self.loop = loop
        self._cursors: dict[tuple[str, ...], _Cursor] = {}
        #: when (recorded ns) the latest session of each stream began, for the snapshots
        self.session_starts: dict[str, int] = {}
        self.snapshots = _recorded_snapshots(self.path)
        self.setProtocolOptions(autoPingInterval=0)

    def snapshot(self, symbol: str) -> Any:
        """The depth snapshot body a client syncing ``symbol`` now should get: the first one
        recorded after its session's first depth frame (the diffs it holds then continue
        it), else the last one; ``None`` if none was recorded."""
        taken = self.snapshots.get(symbol.upper(), [])
        if not taken:
            return None
        starts = [
            ns
            for stream, ns in self.session_starts.items()
            if depth_symbol(stream) == symbol.upper()
        ]
        start = max(starts, default=0)
        return next((body for ns, body in taken if ns >= start), taken[-1][1])

    @property
    def sent(self) -> int:
        """Frames sent so far, over every stream set (a reconnect resumes, not repeats)."""
        return sum(cursor.sent for cursor in self._cursors.values())

    def cursor(self, streams: tuple[str, ...]) -> _Cursor:
        """The shared position of this stream set (a reconnecting client resumes there)."""
        key = tuple(sorted(streams))
        if key not in self._cursors:
            self._cursors[key] = _Cursor(self.path, key, self.loop)
        return self._cursors[key]


def _recorded_snapshots(path: Path) -> dict[str, list[tuple[int, Any]]]:
    """Every SNAPSHOT record's body, by symbol, in recorded order."""
    found: dict[str, list[tuple[int, Any]]] = {}
    for record in read_records(path, kinds=[Kind.SNAPSHOT]):
        details = record.details()
        symbol = depth_symbol(details.get("stream", ""))
        if symbol is not None:
            found.setdefault(symbol, []).append((record.recv_wall_ns, details.get("body")))
    return found


class _Snapshot(Resource):
    """``GET /api/v3/depth`` (and ``/fapi/v1/depth``) answered from the recording."""

    isLeaf = True

    def __init__(self, factory: ReplayFactory) -> None:
        super().__init__()
        self.factory = factory

    def render_GET(self, request: Request) -> bytes:
        symbol = (request.args.get(b"symbol") or [b""])[0].decode()
        body = self.factory.snapshot(symbol)
        request.setHeader(b"content-type", b"application/json")
        if body is None:
            request.setResponseCode(400)
            return dumps({"code": -1121, "msg": f"no snapshot of {symbol!r} in the recording"})
        return dumps(body)


class _Streams(Resource):
    """``/ws/<anything>``: every child is the WebSocket endpoint."""

    def __init__(self, websocket: Any) -> None:
        super().__init__()
        self.websocket = websocket

    def getChild(self, path: bytes, request: Request) -> Any:
        return self.websocket


class ReplaySite(Site):
    """The replay's web site; ``replay`` is its :class:`ReplayFactory` (for progress)."""

    def __init__(self, root: Resource, replay: ReplayFactory) -> None:
        super().__init__(root)
        self.replay = replay


def replay_site(
    reactor: IReactorTime, path: str | Path, speed: float = 0, loop: bool = False
) -> ReplaySite:
    """The replay as one web site: the stream paths over WebSocket, and the REST depth
    snapshots recorded with them (so a ``DepthCacheManager`` can sync on the replay)."""
    from autobahn.twisted.resource import WebSocketResource

    factory = ReplayFactory(reactor, path, speed, loop)
    websocket = WebSocketResource(factory)
    snapshot = _Snapshot(factory)
    root = Resource()
    root.putChild(b"stream", websocket)
    root.putChild(b"ws", _Streams(websocket))
    for prefix, version in ((b"api", b"v3"), (b"fapi", b"v1")):
        api, versioned = Resource(), Resource()
        root.putChild(prefix, api)
        api.putChild(version, versioned)
        versioned.putChild(b"depth", snapshot)
    return ReplaySite(root, factory)
