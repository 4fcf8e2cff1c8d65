"""The recording service: streams in, sealed recording files and/or Redis Streams out, a
status line as it goes.

:class:`RecordService` is a ``MultiService`` that ``twistd -n binance record`` and
``python -m binance_twisted record`` both run: a :class:`~binance_twisted.StreamClient`, a
:class:`~binance_twisted.recording.recorder.Recorder` and a
:class:`~binance_twisted.recording.sink.RecordSink`, plus timers for the heartbeat and the
status line, a :class:`~binance_twisted.bus.RedisPublisher` with ``publish=``, and, with
``status=``, a status site (``/metrics``, ``/status``,
``/status.json``, ``/healthz``; see :mod:`binance_twisted.twistd.status`). Stopping it closes
the streams first, then flushes and seals the files, before the reactor ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from binance_twisted.bus.publisher import DEFAULT_MAXLEN, RedisPublisher
from binance_twisted.bus.shard import ShardMember
from binance_twisted.depth.budget import SnapshotScheduler
from binance_twisted.endpoints import Endpoints
from binance_twisted.market.client import StreamClient
from binance_twisted.recording.format import DEFAULT_LEVEL, Recorded
from binance_twisted.recording.recorder import Recorder
from binance_twisted.recording.sink import RecordSink
from binance_twisted.recording.snapshots import SnapshotTaker
from binance_twisted.rest import RestClient
from binance_twisted.twistd.status import ReactorLag, StatusSource

__all__ = ["RecordService"]

log = Logger(namespace="binance_twisted.record")


class RecordService(MultiService):
    """Records ``streams`` from ``endpoints`` into ``out_dir`` (see the module)."""

    def __init__(
        self,
        reactor: IReactorTime,
        endpoints: Endpoints,
        streams: list[str],
        out_dir: str | Path | None,
        *,
        market: str = "spot",
        rotate_seconds: int = 3600,
        max_file_bytes: int | None = None,
        keep_seconds: float | None = None,
        keep_bytes: int | None = None,
        zstd_level: int = DEFAULT_LEVEL,
        status_every: float = 10.0,
        heartbeat_every: float = 60.0,
        status: str | None = None,
        say: Callable[[str], Any] | None = None,
        publish: str | None = None,
        bus_prefix: str = "binance",
        bus_maxlen: int = DEFAULT_MAXLEN,
        shard_group: str | None = None,
        lease_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        if not streams:
            raise ValueError("streams must name at least one stream to record")
        if out_dir is None and publish is None:
            raise ValueError("give out_dir, publish, or both: the records must go somewhere")
        if shard_group is not None and publish is None:
            raise ValueError("shard_group needs publish: the group's leases live in that Redis")
        self.reactor = reactor
        self.client = StreamClient(reactor, endpoints, market=market)
        header = {"endpoints": {"stream_url": self.client.stream_url}, "streams": streams}
        self.sink: RecordSink | None = None
        self.publisher: RedisPublisher | None = None
        sinks: list[Callable[[Recorded], None]] = []
        if out_dir is not None:
            self.sink = RecordSink(
                reactor,
                out_dir,
                endpoints.name if market == "spot" else f"{endpoints.name}-{market}",
                header,
                rotate_seconds=rotate_seconds,
                max_file_bytes=max_file_bytes,
                keep_seconds=keep_seconds,
                keep_bytes=keep_bytes,
                level=zstd_level,
            )
            sinks.append(self.sink.put)
        if publish is not None:
            self.publisher = RedisPublisher(
                reactor, publish, market, prefix=bus_prefix, maxlen=bus_maxlen
            )
            sinks.append(self.publisher.put)
        put = sinks[0] if len(sinks) == 1 else _fan_out(sinks)
        snapshots = None
        rest_url = {"spot": endpoints.rest_url, "usdm": endpoints.futures_rest_url}.get(market)
        if rest_url is not None:
            rest = RestClient(reactor, rest_url)
            snapshots = SnapshotTaker(rest, SnapshotScheduler(reactor), put, market)
        self.recorder = Recorder(self.client, streams, put, snapshots=snapshots, clock=reactor)
        self.shard: ShardMember | None = None
        if shard_group is not None:
            assert publish is not None
            self.shard = ShardMember(
                reactor,
                publish,
                shard_group,
                streams,
                self.recorder.follow,
                self.recorder.unfollow,
                self.recorder.note_gap,
                venue=market,
                prefix=bus_prefix,
                lease=lease_seconds,
            )
        self._say = say
        self._last_frames = 0
        for every, action in (
            (status_every, self.status),
            (heartbeat_every, self.recorder.heartbeat),
        ):
            timer = TimerService(every, action)
            timer.clock = reactor
            timer.setServiceParent(self)
        #: how late the reactor runs its timers (shown on the status site)
        self.lag = ReactorLag(reactor)
        self.status_source = StatusSource(
            [self.client], self.recorder, self.sink, self.lag, publisher=self.publisher
        )
        if status is not None:
            from twisted.application.strports import service as listening
            from twisted.web.server import Site

            from binance_twisted.twistd.status import status_resource

            site = Site(status_resource(self.status_source))
            listening(status, site, reactor=cast(Any, reactor)).setServiceParent(self)

    def startService(self) -> None:
        super().startService()
        self.lag.start()
        if self.publisher is not None:
            self.publisher.start()  # connects in the background; entries wait meanwhile
        d = self.sink.start() if self.sink is not None else defer.succeed(None)
        # a shard member follows its share of the streams; a lone recorder all of them
        begin = self.shard.start if self.shard is not None else self.recorder.start
        d.addCallback(lambda _: begin())
        d.addErrback(lambda f: log.failure("recording could not start", f))

    def stopService(self) -> defer.Deferred:
        self.lag.stop()
        d = defer.maybeDeferred(super().stopService)
        if self.shard is not None:
            shard = self.shard
            d.addCallback(lambda _: shard.stop())  # leases released: the others take over now
        d.addCallback(lambda _: self.client.close())
        d.addBoth(lambda _: self.recorder.flush())  # the last turn's frames, to the sinks
        if self.sink is not None:
            sink = self.sink
            d.addBoth(lambda _: sink.stop())
        if self.publisher is not None:
            publisher = self.publisher
            d.addBoth(lambda _: publisher.stop())
        return d

    def status(self) -> str:
        """One line: frames, rate, gaps, drops, bytes written, the current file, the bus."""
        frames = sum(self.recorder.frames.values())
        line = (
            f"recording: {frames} frames (+{frames - self._last_frames}), {self.recorder.gaps} gaps"
        )
        if self.sink is not None:
            stats = self.sink.stats
            line += (
                f", {stats.dropped} dropped, {stats.bytes_written / 1e6:.1f} MB written, "
                f"{stats.files_sealed} files sealed"
                + (", DISK FULL: paused" if stats.disk_full else "")
            )
        if self.publisher is not None:
            bus = self.publisher.stats
            line += (
                f"; bus: {bus.published} published, {bus.dropped} dropped, "
                f"{bus.in_flight + bus.pending} waiting"
                + ("" if bus.connected else ", NOT CONNECTED")
            )
        self._last_frames = frames
        log.info("{line}", line=line)
        if self._say is not None:
            self._say(line)
        return line


def _fan_out(sinks: list[Callable[[Recorded], None]]) -> Callable[[Recorded], None]:
    """One record sink feeding several (the files and the bus)."""

    def put(record: Recorded) -> None:
        for sink in sinks:
            sink(record)

    return put
