"""Publishes a recorder's records to Redis Streams, bounded everywhere, never stalling the feed.

:class:`RedisPublisher` is a record sink (``publisher.put(record)``), like
:class:`~binance_twisted.recording.sink.RecordSink`, so a recorder can feed both. Each FRAME
becomes one entry of its stream's key (:func:`~binance_twisted.bus.address.stream_key`) with
the fields ``raw`` (the frame's bytes unchanged), ``recv_ns``, ``conn`` and ``seq``; GAP and
DISCONNECT records become entries of the venue's ``_events`` key (``kind``, ``stream``,
``details`` as JSON, ``recv_ns``, ``conn``).

Why it is shaped this way:

* **One command per batch.** Entries wait on the reactor thread until the next reactor turn
  and go to Redis as one ``EVAL`` of a short script that runs ``XADD`` for each (up to
  ``batch_size``). A command per frame through txredisapi costs about 30 µs of CPU; a batch
  costs about 3 µs per frame, and Redis gets one round trip per batch.
* **Bounded everywhere.** Each key is trimmed by ``XADD ... MAXLEN ~`` (``maxlen`` per
  stream, ``events_maxlen`` for events); at most ``max_in_flight`` batches are on the wire;
  at most ``max_pending`` entries / ``max_pending_bytes`` wait. Past that, entries are dropped
  and counted, and once entries flow again a GAP entry on ``_events`` says how many were lost,
  from which streams, between which receive times. A batch lost with its connection is
  reported the same way (Redis may have applied part of it: at most once, never twice).
* **Never stalls the feed.** ``put`` only appends or drops; when Redis is down, txredisapi
  holds the in-flight batches until it has reconnected (with backoff) and everything else
  waits in, or falls out of, the bounded queue. The recorder keeps receiving from Binance.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted._core.policy import check_count
from binance_twisted._json import dumps
from binance_twisted.bus.address import EVENTS, BusAddress, stream_key
from binance_twisted.bus.redis import connect, disconnect
from binance_twisted.recording.format import FrameRun, Kind, Recorded

__all__ = ["PublisherStats", "RedisPublisher"]

log = Logger(namespace="binance_twisted.bus")

#: About an hour of a busy stream (a trade stream at 25 msg/s, a 100 ms depth stream at 10/s).
DEFAULT_MAXLEN = 100_000

#: KEYS: one per entry. ARGV: the stream and events MAXLEN, then per entry a tag and its
#: fields: ``F raw recv_ns conn seq`` (a frame) or ``E kind stream details recv_ns conn``.
_SCRIPT = b"""
local a = 3
for i = 1, #KEYS do
  if ARGV[a] == 'F' then
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'raw', ARGV[a + 1],
               'recv_ns', ARGV[a + 2], 'conn', ARGV[a + 3], 'seq', ARGV[a + 4])
    a = a + 5
  else
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[a + 1],
               'stream', ARGV[a + 2], 'details', ARGV[a + 3], 'recv_ns', ARGV[a + 4],
               'conn', ARGV[a + 5])
    a = a + 6
  end
end
return #KEYS
"""
_FRAME_TAG, _EVENT_TAG = b"F", b"E"
_ENTRY_OVERHEAD = 96  # bytes an entry costs beyond its payload while it waits, roughly
_PUBLISHED_EVENTS = {Kind.GAP: "GAP", Kind.DISCONNECT: "DISCONNECT"}

#: (key, tag and fields) of one entry as the script takes it
_Entry = tuple[bytes, tuple[bytes, ...]]


@attrs.define
class PublisherStats:
    """What the publisher did so far (the status line, page and metrics read it)."""

    published: int = 0  #: entries Redis acknowledged
    dropped: int = 0  #: entries lost: the queue was full, or their batch's connection died
    pending: int = 0  #: entries waiting to be sent
    pending_bytes: int = 0
    in_flight: int = 0  #: entries sent and not yet acknowledged
    batches: int = 0  #: batches acknowledged
    failed_batches: int = 0
    gaps_published: int = 0  #: GAP entries written for the publisher's own losses
    last_latency: float | None = None  #: seconds from sending the last batch to its reply
    max_latency: float = 0.0
    connected: bool = False  #: the last batch was acknowledged
    last_error: str | None = None


@attrs.define
class _Loss:
    """Entries lost since the last GAP entry: how many, from where, when."""

    count: int = 0
    streams: dict[str, int] = attrs.Factory(dict)
    first_ns: int | None = None
    last_ns: int | None = None
    reasons: set[str] = attrs.Factory(set)

    def add(self, stream: str, recv_ns: int, count: int, reason: str) -> None:
        self.count += count
        self.streams[stream] = self.streams.get(stream, 0) + count
        self.first_ns = recv_ns if self.first_ns is None else min(self.first_ns, recv_ns)
        self.last_ns = recv_ns if self.last_ns is None else max(self.last_ns, recv_ns)
        self.reasons.add(reason)


class RedisPublisher:
    """Feeds records to Redis Streams under ``prefix`` for ``venue`` (see the module)."""

    def __init__(
        self,
        reactor: IReactorTime,
        url: str,
        venue: str = "spot",
        *,
        prefix: str = "binance",
        maxlen: int = DEFAULT_MAXLEN,
        events_maxlen: int = 10_000,
        batch_size: int = 500,
        max_in_flight: int = 4,
        max_pending: int = 100_000,
        max_pending_bytes: int = 64 << 20,
        connect_to: Any = connect,
    ) -> None:
        for name, value in (
            ("maxlen", maxlen),
            ("events_maxlen", events_maxlen),
            ("batch_size", batch_size),
            ("max_in_flight", max_in_flight),
            ("max_pending", max_pending),
            ("max_pending_bytes", max_pending_bytes),
        ):
            check_count(name, value)
        self.address = BusAddress.parse(url)
        self.venue = venue
        self.prefix = prefix
        self._events_key = stream_key(prefix, venue, EVENTS).encode()
        self.maxlen = maxlen
        self.events_maxlen = events_maxlen
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.stats = PublisherStats()
        self._reactor = reactor
        self._connect = connect_to
        self._redis: Any = None
        self._keys: dict[str, bytes] = {}
        self._queue: deque[tuple[_Entry, int, str, int]] = deque()  # entry, size, stream, ns
        self._loss = _Loss()
        self._batches_in_flight = 0
        self._flush_call: Any = None
        self._idle: list[defer.Deferred] = []

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"<RedisPublisher {self.address} {self.prefix}:{self.venue} published={s.published} "
            f"dropped={s.dropped} pending={s.pending}>"
        )

    def start(self) -> None:
        """Connect (in the background: entries wait in the queue until Redis answers)."""
        if self._redis is None:
            self._redis = self._connect(self.address, self._connection_failed)

    def _connection_failed(self, message: str) -> None:
        self.stats.connected = False
        self.stats.last_error = message

    def stop(self, timeout: float = 5.0) -> defer.Deferred[None]:
        """Send what is queued (waiting at most ``timeout`` seconds), then disconnect."""
        waited: defer.Deferred[None] = defer.Deferred()
        if self._redis is None:
            waited.callback(None)
            return waited
        if not self._queue and not self._batches_in_flight:
            waited.callback(None)
        else:
            self._idle.append(waited)
            self._schedule()
        waited.addTimeout(timeout, self._reactor)
        waited.addErrback(lambda f: f.trap(defer.TimeoutError))

        def close(_: object) -> defer.Deferred:
            redis, self._redis = self._redis, None
            self.stats.dropped += len(self._queue)  # what the timeout left unsent
            self.stats.pending = self.stats.pending_bytes = 0
            self._queue.clear()
            return disconnect(self._reactor, [redis])

        return waited.addCallback(close).addCallback(lambda _: None)

    # -- the reactor thread: one call per record ----------------------------------------

    def put(self, record: Recorded) -> None:
        """Queue one record (a run: each of its frames) for Redis, or drop and count it
        when the queue is full."""
        if isinstance(record, FrameRun):
            for frame in record.records():
                self.put(frame)
            return
        kind = record.kind
        if kind is Kind.FRAME:
            key = self._keys.get(record.stream)
            if key is None:
                key = self._keys[record.stream] = stream_key(
                    self.prefix, self.venue, record.stream
                ).encode()
            fields: tuple[bytes, ...] = (
                _FRAME_TAG,
                record.payload,
                b"%d" % record.recv_wall_ns,
                b"%d" % record.conn_id,
                b"%d" % record.seq,
            )
        elif kind in _PUBLISHED_EVENTS:
            key = self._events_key
            fields = self._event_fields(
                _PUBLISHED_EVENTS[kind],
                record.stream,
                record.payload,
                record.recv_wall_ns,
                record.conn_id,
            )
        else:
            return  # CONNECT, SUBSCRIBE, ACK, MARK and SNAPSHOT stay in the files
        # the payload or the details (the other fields are short) sizes what waits
        size = len(record.payload) + _ENTRY_OVERHEAD
        self._offer((key, fields), size, record.stream, record.recv_wall_ns)

    def _offer(self, entry: _Entry, size: int, stream: str, recv_ns: int) -> None:
        stats = self.stats
        if stats.pending >= self.max_pending or stats.pending_bytes + size > self.max_pending_bytes:
            stats.dropped += 1
            if not self._loss.count:
                log.warn(
                    "bus {address}: queue full ({pending} entries, {bytes} bytes): "
                    "dropping until Redis catches up",
                    address=str(self.address),
                    pending=stats.pending,
                    bytes=stats.pending_bytes,
                )
            self._loss.add(stream, recv_ns, 1, "queue full")
            return
        self._queue.append((entry, size, stream, recv_ns))
        stats.pending += 1
        stats.pending_bytes += size
        if self._flush_call is None:
            self._schedule()

    def _schedule(self) -> None:
        if self._flush_call is None and self._redis is not None:
            self._flush_call = self._reactor.callLater(0, self._flush)

    def _flush(self) -> None:
        self._flush_call = None
        if self._redis is None:  # stopped meanwhile
            return
        if self._loss.count and self._batches_in_flight < self.max_in_flight:
            self._queue.appendleft(self._loss_entry())
        while self._queue and self._batches_in_flight < self.max_in_flight:
            self._send()
        if not self._queue and not self._batches_in_flight:
            idle, self._idle = self._idle, []
            for waiter in idle:
                waiter.callback(None)

    def _loss_entry(self) -> tuple[_Entry, int, str, int]:
        loss, self._loss = self._loss, _Loss()
        details = {
            "reason": "bus publisher lost entries: " + ", ".join(sorted(loss.reasons)),
            "dropped": loss.count,
            "streams": loss.streams,
            "first_recv_ns": loss.first_ns,
            "last_recv_ns": loss.last_ns,
        }
        now = int(self._reactor.seconds() * 1e9)
        fields = self._event_fields("GAP", "", dumps(details), now, 0)
        self.stats.gaps_published += 1
        size = len(fields[3]) + _ENTRY_OVERHEAD
        self.stats.pending += 1
        self.stats.pending_bytes += size
        return (self._events_key, fields), size, "", now

    @staticmethod
    def _event_fields(
        kind: str, stream: str, details: bytes, recv_ns: int, conn: int
    ) -> tuple[bytes, ...]:
        return (_EVENT_TAG, kind.encode(), stream.encode(), details, b"%d" % recv_ns, b"%d" % conn)

    def _send(self) -> None:
        queue, stats = self._queue, self.stats
        batch = [queue.popleft() for _ in range(min(self.batch_size, len(queue)))]
        keys = [entry[0][0] for entry in batch]
        args: list[bytes] = [b"EVAL", _SCRIPT, b"%d" % len(keys), *keys]
        args += (b"%d" % self.maxlen, b"%d" % self.events_maxlen)
        for (_, fields), _size, _stream, _ns in batch:
            args += fields
        count = len(batch)
        size = sum(item[1] for item in batch)
        stats.pending -= count
        stats.pending_bytes -= size
        stats.in_flight += count
        self._batches_in_flight += 1
        sent = self._reactor.seconds()
        d = self._redis.execute_command(*args)
        d.addCallbacks(self._acknowledged, self._lost, (count, sent), None, (batch,))
        d.addErrback(lambda f: log.failure("bus publisher bookkeeping failed", f))

    def _acknowledged(self, _reply: object, count: int, sent: float) -> None:
        stats = self.stats
        stats.in_flight -= count
        stats.published += count
        stats.batches += 1
        latency = self._reactor.seconds() - sent
        stats.last_latency = latency
        stats.max_latency = max(stats.max_latency, latency)
        if not stats.connected:
            log.info("bus {address}: publishing", address=str(self.address))
        stats.connected = True
        self._batches_in_flight -= 1
        self._flush()

    def _lost(self, failure: Failure, batch: list[tuple[_Entry, int, str, int]]) -> None:
        stats = self.stats
        stats.in_flight -= len(batch)
        stats.failed_batches += 1
        stats.dropped += len(batch)
        stats.connected = False
        stats.last_error = failure.getErrorMessage()
        log.warn(
            "bus {address}: a batch of {count} entries was lost ({error})",
            address=str(self.address),
            count=len(batch),
            error=stats.last_error,
        )
        for _entry, _size, stream, recv_ns in batch:
            self._loss.add(stream or EVENTS, recv_ns, 1, "connection lost")
        self._batches_in_flight -= 1
        self._schedule()
