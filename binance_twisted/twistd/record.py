"""The recording service: streams in, sealed recording files out, a status line as it goes.

:class:`RecordService` is a ``MultiService`` that ``twistd -n binance record`` and
``python -m binance_twisted record`` both run: a :class:`~binance_twisted.StreamClient`, a
:class:`~binance_twisted.recording.recorder.Recorder` and a
:class:`~binance_twisted.recording.sink.RecordSink`, plus timers for the heartbeat and the
status line, and, with ``status=``, a status site (``/metrics``, ``/status``,
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

from binance_twisted.depth.budget import SnapshotScheduler
from binance_twisted.endpoints import Endpoints
from binance_twisted.market.client import StreamClient
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
        out_dir: str | Path,
        *,
        market: str = "spot",
        rotate_seconds: int = 3600,
        max_file_bytes: int | None = None,
        keep_seconds: float | None = None,
        keep_bytes: int | None = None,
        status_every: float = 10.0,
        heartbeat_every: float = 60.0,
        status: str | None = None,
        say: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__()
        if not streams:
            raise ValueError("streams must name at least one stream to record")
        self.reactor = reactor
        self.client = StreamClient(reactor, endpoints, market=market)
        header = {"endpoints": {"stream_url": self.client.stream_url}, "streams": streams}
        self.sink = RecordSink(
            reactor,
            out_dir,
            endpoints.name if market == "spot" else f"{endpoints.name}-{market}",
            header,
            rotate_seconds=rotate_seconds,
            max_file_bytes=max_file_bytes,
            keep_seconds=keep_seconds,
            keep_bytes=keep_bytes,
        )
        snapshots = None
        rest_url = {"spot": endpoints.rest_url, "usdm": endpoints.futures_rest_url}.get(market)
        if rest_url is not None:
            rest = RestClient(reactor, rest_url)
            snapshots = SnapshotTaker(rest, SnapshotScheduler(reactor), self.sink.put, market)
        self.recorder = Recorder(self.client, streams, self.sink.put, snapshots=snapshots)
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
        self.status_source = StatusSource([self.client], self.recorder, self.sink, self.lag)
        if status is not None:
            from twisted.application.strports import service as listening
            from twisted.web.server import Site

            from binance_twisted.twistd.status import status_resource

            site = Site(status_resource(self.status_source))
            listening(status, site, reactor=cast(Any, reactor)).setServiceParent(self)

    def startService(self) -> None:
        super().startService()
        self.lag.start()
        d = self.sink.start()
        d.addCallback(lambda _: self.recorder.start())
        d.addErrback(lambda f: log.failure("recording could not start", f))

    def stopService(self) -> defer.Deferred:
        self.lag.stop()
        d = defer.maybeDeferred(super().stopService)
        d.addCallback(lambda _: self.client.close())
        d.addBoth(lambda _: self.sink.stop())
        return d

    def status(self) -> str:
        """One line: frames, rate, gaps, drops, bytes written, the current file."""
        frames = sum(self.recorder.frames.values())
        stats = self.sink.stats
        line = (
            f"recording: {frames} frames (+{frames - self._last_frames}), "
            f"{self.recorder.gaps} gaps, {stats.dropped} dropped, "
            f"{stats.bytes_written / 1e6:.1f} MB written, {stats.files_sealed} files sealed"
            + (", DISK FULL: paused" if stats.disk_full else "")
        )
        self._last_frames = frames
        log.info("{line}", line=line)
        if self._say is not None:
            self._say(line)
        return line
