"""A status site for stream clients and recorders: ``/metrics``, ``/status.json``, ``/status``,
``/healthz``, mountable in any ``twisted.web`` site.

:func:`status_resource` takes what to watch (``StreamClient`` objects, and a recorder's
``Recorder`` and ``RecordSink``) and reads their counters when a page is asked for: nothing is
added to the message path. ``/metrics`` is Prometheus' text format from its own registry
(``prometheus_client``, the ``metrics`` extra), every name prefixed ``binance_twisted_``;
``/healthz`` answers 200 while every connection is connected, else 503. A
:class:`ReactorLag` adds how late the reactor runs its timers (a busy or blocked reactor).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.web.resource import Resource
from twisted.web.server import Request

from binance_twisted._json import dumps
from binance_twisted.bus.publisher import RedisPublisher
from binance_twisted.market.client import StreamClient
from binance_twisted.recording.recorder import Recorder
from binance_twisted.recording.sink import RecordSink

__all__ = ["ReactorLag", "StatusSource", "status_resource"]

_PREFIX = "binance_twisted_"


class ReactorLag:
    """How late a 1 s timer fires: the reactor's tick lag (0 on an idle reactor)."""

    def __init__(self, reactor: IReactorTime, every: float = 1.0) -> None:
        self.reactor = reactor
        self.every = every
        self.lag = 0.0
        self.max_lag = 0.0
        self._due = 0.0
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor

    def start(self) -> None:
        self._due = self.reactor.seconds() + self.every
        self._loop.start(self.every, now=False)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def _tick(self) -> None:
        now = self.reactor.seconds()
        self.lag = max(0.0, now - self._due)
        self.max_lag = max(self.max_lag, self.lag)
        self._due = now + self.every


class StatusSource:
    """What the pages read: clients, and optionally a recorder, its sink and a lag meter."""

    def __init__(
        self,
        clients: Iterable[StreamClient],
        recorder: Recorder | None = None,
        sink: RecordSink | None = None,
        lag: ReactorLag | None = None,
        wall: Any = time.time,
        publisher: RedisPublisher | None = None,
    ) -> None:
        self.clients = list(clients)
        self.recorder = recorder
        self.sink = sink
        self.lag = lag
        self.wall = wall
        self.publisher = publisher

    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain JSON-ready values."""
        connections = {name: s for c in self.clients for name, s in c.stats().items()}
        now = self.wall()
        status: dict[str, Any] = {"time": now, "connections": connections}
        if self.recorder is not None:
            status["recorder"] = {
                "frames": dict(self.recorder.frames),
                "last_frame_age": {
                    s: round(now - ns / 1e9, 3) for s, ns in self.recorder.last_frame_ns.items()
                },
                "gaps": self.recorder.gaps,
            }
        if self.sink is not None:
            status["writer"] = attrs.asdict(self.sink.stats)
        if self.publisher is not None:
            status["bus"] = {
                "url": str(self.publisher.address),
                **attrs.asdict(self.publisher.stats),
            }
        if self.lag is not None:
            status["reactor"] = {"lag": self.lag.lag, "max_lag": self.lag.max_lag}
        status["healthy"] = bool(connections) and all(
            s.get("connected") for s in connections.values()
        )
        return status

    def collect(self) -> Iterator[Any]:
        """Prometheus metric families (the registry calls this at every scrape)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        status = self.snapshot()

        def gauge(name: str, doc: str, labels: list[str]) -> Any:
            return GaugeMetricFamily(_PREFIX + name, doc, labels=labels)

        def counter(name: str, doc: str, labels: list[str]) -> Any:
            return CounterMetricFamily(_PREFIX + name, doc, labels=labels)

        connected = gauge("connected", "1 while the connection has an open session", ["connection"])
        messages = counter("messages", "messages received", ["connection"])
        received = counter("received_bytes", "bytes of messages received", ["connection"])
        reconnects = counter("reconnects", "sessions reopened after a loss", ["connection"])
        problems = counter(
            "problems", "decode errors, oversized messages, stalls, drops", ["connection", "kind"]
        )
        age = gauge("last_message_age_seconds", "seconds since the last message", ["connection"])
        lag = gauge("lag_seconds", "delivery lag (now - E) last sampled", ["connection", "stream"])
        for name, s in status["connections"].items():
            connected.add_metric([name], 1.0 if s["connected"] else 0.0)
            messages.add_metric([name], s["messages"])
            received.add_metric([name], s["bytes"])
            reconnects.add_metric([name], s["reconnects"])
            for kind in ("decode_errors", "oversized", "stalls", "dropped", "callback_errors"):
                problems.add_metric([name, kind], s[kind])
            if s["last_message_time"] is not None:
                age.add_metric([name], max(0.0, status["time"] - s["last_message_time"]))
            for stream, seconds in s["lag"].items():
                lag.add_metric([name, stream], seconds)
        yield from (connected, messages, received, reconnects, problems, age, lag)
        recorder = status.get("recorder")
        if recorder is not None:
            frames = counter("recorded_frames", "frames recorded", ["stream"])
            frame_age = gauge(
                "recorded_frame_age_seconds", "since a stream's last frame", ["stream"]
            )
            for stream, count in recorder["frames"].items():
                frames.add_metric([stream], count)
            for stream, seconds in recorder["last_frame_age"].items():
                frame_age.add_metric([stream], seconds)
            gaps = counter("recorded_gaps", "id gaps recorded", [])
            gaps.add_metric([], recorder["gaps"])
            yield from (frames, frame_age, gaps)
        writer = status.get("writer")
        if writer is not None:
            yield from _single(
                gauge,
                [
                    (
                        "writer_pending_bytes",
                        "bytes waiting for the writer",
                        writer["pending_bytes"],
                    ),
                    ("writer_fsync_seconds", "the last fsync took", writer["last_fsync_seconds"]),
                    ("writer_disk_full", "1 while paused for disk space", writer["disk_full"]),
                    (
                        "free_disk_bytes",
                        "free bytes where recordings go",
                        writer["free_bytes"] or 0,
                    ),
                ],
            )
            yield from _single(
                counter,
                [
                    ("written_bytes", "bytes written to recordings", writer["bytes_written"]),
                    (
                        "writer_dropped",
                        "records dropped (writer behind, disk full)",
                        writer["dropped"],
                    ),
                    ("files_sealed", "recording files sealed", writer["files_sealed"]),
                ],
            )
        bus = status.get("bus")
        if bus is not None:
            yield from _single(
                counter,
                [
                    ("bus_published", "entries Redis acknowledged", bus["published"]),
                    (
                        "bus_dropped",
                        "entries lost (queue full, or with a connection)",
                        bus["dropped"],
                    ),
                    (
                        "bus_gaps",
                        "GAP entries for the publisher's own losses",
                        bus["gaps_published"],
                    ),
                ],
            )
            yield from _single(
                gauge,
                [
                    ("bus_in_flight", "entries sent and not yet acknowledged", bus["in_flight"]),
                    ("bus_pending", "entries waiting to be sent", bus["pending"]),
                    (
                        "bus_latency_seconds",
                        "the last batch, send to reply",
                        bus["last_latency"] or 0,
                    ),
                    ("bus_connected", "1 while the last batch was acknowledged", bus["connected"]),
                ],
            )
        reactor = status.get("reactor")
        if reactor is not None:
            family = gauge("reactor_lag_seconds", "how late a 1 s reactor timer fired", [])
            family.add_metric([], reactor["lag"])
            yield family


def _single(family: Any, rows: list[tuple[str, str, Any]]) -> Iterator[Any]:
    """One unlabelled metric family per ``(name, doc, value)`` row."""
    for name, doc, value in rows:
        metric = family(name, doc, [])
        metric.add_metric([], float(value))
        yield metric


def status_resource(source: StatusSource) -> Resource:
    """``/metrics``, ``/status.json``, ``/status`` and ``/healthz`` under one resource."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.twisted import MetricsResource

    from binance_twisted.twistd.status_page import StatusPage

    registry = CollectorRegistry(auto_describe=False)
    registry.register(source)
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry=registry))
    root.putChild(b"status.json", _Json(source))
    root.putChild(b"status", StatusPage(source))
    root.putChild(b"healthz", _Health(source))
    return root


class _Json(Resource):
    isLeaf = True

    def __init__(self, source: StatusSource) -> None:
        super().__init__()
        self.source = source

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return dumps(self.source.snapshot())


class _Health(_Json):
    def render_GET(self, request: Request) -> bytes:
        healthy = self.source.snapshot()["healthy"]
        request.setResponseCode(200 if healthy else 503)
        request.setHeader(b"content-type", b"text/plain")
        return b"ok\n" if healthy else b"not connected\n"
