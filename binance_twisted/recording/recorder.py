"""What a recording says: every frame as received, and what happened around the frames.

:class:`Recorder` subscribes a :class:`~binance_twisted.StreamClient` with ``raw=True`` and
turns what it hears into :class:`~binance_twisted.recording.Record` objects for a sink:

* FRAME: the frame's bytes unchanged, its stream, the receive times, the connection id (new
  on every connect, reconnect or rotation) and a per-connection sequence number. The hot
  path appends each frame to its connection's :class:`~binance_twisted.recording.FrameRun`
  (three list appends and a clock read), handed to the sink at the end of the reactor turn
  or before any other record, so the sink sees everything in order at a fraction of the
  cost of a record per frame;
* SUBSCRIBE and ACK around the subscription, CONNECT when a session opens, DISCONNECT
  (code, reason, clean) when one ends, MARK for rotations, stalls and heartbeats;
* GAP when a sequenced stream skips ids (trade ``t``, aggTrade ``a``, Spot depth ``U/u``,
  futures depth ``pu``): the last id before and the first after, so a reader can tell a quiet
  market from a hole. The client filters rotation overlaps, so a rotation records no gap and
  no duplicate; a reconnect's loss does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from binance_twisted.events import CLOSED_BY_CLIENT, ConnectionEvent, EventKind
from binance_twisted.market.client import StreamClient
from binance_twisted.market.connection import is_sequenced, sequence_ids
from binance_twisted.recording.format import FrameRun, Kind, Record, Recorded
from binance_twisted.recording.snapshots import SnapshotTaker

__all__ = ["RUN_FRAMES", "Recorder"]

_wall_ns, _mono_ns = time.time_ns, time.monotonic_ns
_OPENED = (EventKind.CONNECTED, EventKind.RECONNECTED, EventKind.ROTATED)
_ENDED = (EventKind.DISCONNECTED,)  # a stall is a MARK; the disconnect it causes follows
_ID_FIELD = {"trade": "t", "aggTrade": "a"}
#: a run is handed over at the end of its reactor turn, or once it holds this many frames
RUN_FRAMES = 4096


class _Connection:
    """A recorded connection: its id (new on every connect), its last sequence number
    handed over, and the run of its frames in this reactor turn."""

    __slots__ = ("id", "run", "seq")

    def __init__(self, conn_id: int) -> None:
        self.id, self.seq = conn_id, 0
        self.run: FrameRun | None = None


class _Track:
    """What the recorder keeps per stream: one lookup per frame finds all of it."""

    __slots__ = ("conn", "frames", "id_field", "last_frame_ns", "last_id", "sequenced")

    def __init__(self, stream: str) -> None:
        self.conn = _Connection(0)  # until the stream's connection opens
        self.frames = 0
        self.last_frame_ns: int | None = None
        self.last_id: int | None = None
        self.sequenced = is_sequenced(stream)
        #: trades and aggTrades carry one id, read here without a call
        self.id_field = _ID_FIELD.get(stream.split("@")[-1]) if self.sequenced else None


class Recorder:
    """Records ``streams`` of ``client`` into ``sink`` (see the module).

    ``sink`` takes :class:`~binance_twisted.recording.Record` objects and
    :class:`~binance_twisted.recording.FrameRun` objects (``run.records()`` gives a run's
    FRAME records), in the order things happened.
    """

    def __init__(
        self,
        client: StreamClient,
        streams: Iterable[str],
        sink: Callable[[Recorded], None],
        *,
        snapshots: SnapshotTaker | None = None,
        clock: IReactorTime | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor as global_reactor

            clock = global_reactor
        self._clock: IReactorTime = clock
        self.client = client
        self.streams = list(dict.fromkeys(streams))
        self.sink = sink
        #: takes a depth snapshot of each depth stream at the start and after each gap; its
        #: records come through here, so they keep their place among the frames
        self.snapshots = snapshots
        if snapshots is not None:
            snapshots.sink = self._put
        self._tracks = {stream: _Track(stream) for stream in self.streams}
        self._running: list[_Connection] = []  # connections with a run in this turn
        self._turn_end: IDelayedCall | None = None
        self._conn_ids: dict[str, int] = {}
        self._carriers: dict[str, Any] = {}  # stream -> the subscription recording it
        self._next_conn_id = 1
        self.gaps = 0

    @property
    def frames(self) -> dict[str, int]:
        """Frames recorded per stream (handed to the sink: counted at the end of each
        reactor turn)."""
        return {stream: track.frames for stream, track in self._tracks.items()}

    @property
    def last_frame_ns(self) -> dict[str, int]:
        """The wall time (ns) of each stream's last frame (streams with one), to the
        reactor turn."""
        tracks = self._tracks.items()
        return {s: t.last_frame_ns for s, t in tracks if t.last_frame_ns is not None}

    def start(self) -> defer.Deferred:
        """Subscribe; fires with the subscription once Binance confirmed every stream."""
        return self.follow(self.streams)

    def follow(self, streams: Iterable[str]) -> defer.Deferred:
        """Start recording some of this recorder's streams (a shard group's share of them);
        fires with their subscription once Binance confirmed them."""
        names = [s for s in dict.fromkeys(streams) if s in self._tracks and s not in self._carriers]
        if not names:
            return defer.succeed(None)
        self._event(Kind.SUBSCRIBE, {"streams": names})
        d = self.client.subscribe(names, self.frame, self.connection_event, raw=True)

        def confirmed(subscription: Any) -> Any:
            for stream in names:
                self._carriers[stream] = subscription
            self._event(Kind.ACK, {"streams": names})
            if self.snapshots is not None:
                for stream in names:
                    self.snapshots.take(stream)
            return subscription

        return d.addCallback(confirmed)

    def unfollow(self, streams: Iterable[str]) -> defer.Deferred:
        """Stop recording streams (handed to another member of a shard group)."""
        names = [s for s in dict.fromkeys(streams) if s in self._carriers]
        if not names:
            return defer.succeed(None)
        self._event(Kind.MARK, {"mark": "unfollowed", "streams": names})
        removals = []
        for stream in names:
            subscription = self._carriers.pop(stream)
            self._tracks[stream].last_id = None  # a later follow starts a new id run
            removals.append(subscription.remove([stream]))
        return defer.gatherResults(removals, consumeErrors=True)

    def note_gap(self, stream: str, details: dict[str, Any]) -> None:
        """Record a GAP found outside the frames (a shard takeover)."""
        self._event(Kind.GAP, details, stream=stream)
        self.gaps += 1

    def frame(self, stream: str, data: Any, raw: bytes) -> None:
        """One frame of ``stream`` (the client's raw callback; the hot path)."""
        track = self._tracks[stream]
        run = track.conn.run
        if run is None:
            run = self._open_run(track.conn)
        run.streams.append(stream)
        run.payloads.append(raw)
        run.monos.append(_mono_ns())
        if len(run.monos) >= RUN_FRAMES:
            self.flush()
        if not track.sequenced:
            return
        field = track.id_field
        first = data.get(field) if field is not None and type(data) is dict else None
        if type(first) is int:  # a trade or aggTrade: one id
            last_id = first
        else:
            ids = sequence_ids(data)
            if ids is None:
                return
            first, last_id = ids
        last = track.last_id
        if last is not None and first > last + 1:
            self._gap(stream, data, last, first, track.conn.id)
        if last is None or last_id > last:
            track.last_id = last_id

    def flush(self) -> None:
        """Hand the frames of this reactor turn to the sink now (done at the end of every
        turn, and before any other record)."""
        running, self._running = self._running, []
        for conn in running:
            run, conn.run = conn.run, None
            if run is None:
                continue
            conn.seq += len(run)
            last_wall = run.last_wall_ns
            for stream, count in Counter(run.streams).items():
                track = self._tracks[stream]
                track.frames += count
                track.last_frame_ns = last_wall
            self.sink(run)

    def _open_run(self, conn: _Connection) -> FrameRun:
        run = conn.run = FrameRun(conn.id, conn.seq + 1, _wall_ns())
        self._running.append(conn)
        if self._turn_end is None:
            self._turn_end = self._clock.callLater(0, self._end_turn)
        return run

    def _end_turn(self) -> None:
        self._turn_end = None
        self.flush()

    def connection_event(self, event: ConnectionEvent) -> None:
        """What happened to a connection, as CONNECT, DISCONNECT or MARK records."""
        kind = event.kind
        if kind in _OPENED:
            conn = self._next_conn_id
            self._next_conn_id += 1
            self._conn_ids[event.connection] = conn
            streams = [s for s in self.streams if self.client.connection_of(s) == event.connection]
            opened = _Connection(conn)
            for stream in streams:
                self._tracks[stream].conn = opened
            details = {
                "connection": event.connection,
                "event": kind.value,
                "streams": streams,
                "url": self.client.stats().get(event.connection, {}).get("url"),
            }
            if kind is EventKind.ROTATED:
                self._event(Kind.MARK, {"mark": "rotation", "reason": event.reason}, conn)
            self._event(Kind.CONNECT, details, conn)
        elif kind in _ENDED:
            conn = self._conn_ids.get(event.connection, 0)
            code = event.code
            details = {
                "code": code,
                "reason": event.reason,
                "clean": code in (1000, 1001),
                "by": "client" if event.reason == CLOSED_BY_CLIENT else "server",
            }
            self._event(Kind.DISCONNECT, {"connection": event.connection, **details}, conn)
        else:
            details = {"mark": kind.value, "reason": event.reason, "connection": event.connection}
            self._event(Kind.MARK, details, self._conn_ids.get(event.connection, 0))

    def heartbeat(self) -> None:
        """A MARK that says the recorder was alive (a quiet market records nothing else)."""
        self._event(Kind.MARK, {"mark": "heartbeat", "frames": sum(self.frames.values())})

    def _gap(self, stream: str, data: dict, last: int, first: int, conn: int) -> None:
        kind = data.get("e")
        detected_by = _ID_FIELD.get(str(kind)) or ("pu" if "pu" in data else "U/u")
        details = {"stream": stream, "last_id": last, "next_id": first, "detected_by": detected_by}
        self._event(Kind.GAP, details, conn, stream)
        self.gaps += 1
        if self.snapshots is not None:
            self.snapshots.take(stream)

    def _put(self, record: Record) -> None:
        """One record other than a frame: after the frames received before it."""
        self.flush()
        self.sink(record)

    def _event(self, kind: Kind, details: dict[str, Any], conn: int = 0, stream: str = "") -> None:
        self._put(
            Record.event(
                kind,
                details,
                recv_wall_ns=_wall_ns(),
                recv_mono_ns=_mono_ns(),
                stream=stream,
                conn_id=conn,
            )
        )
