"""``/status``: the same snapshot as ``/status.json``, as a small HTML page (twisted.web.template).

Every value is inserted as text by the template engine (escaped), so a stream name or a
close reason cannot inject markup.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.template import Element, Tag, XMLString, flatten, renderer, tags


class _Snapshots(Protocol):
    """What the page reads (a :class:`~binance_twisted.twistd.status.StatusSource`)."""

    def snapshot(self) -> dict[str, Any]: ...


__all__ = ["StatusPage"]

_PAGE = XMLString(
    """<html xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1">
<head><title>binance-twisted status</title><meta http-equiv="refresh" content="5"/></head>
<body>
<h1>binance-twisted: <t:transparent t:render="health"/></h1>
<h2>Connections</h2>
<table border="1"><tr><th>connection</th><th>state</th><th>messages</th><th>reconnects</th>
<th>last message (s ago)</th><th>worst lag (s)</th><th>problems</th></tr>
<t:transparent t:render="connections"/></table>
<t:transparent t:render="recorder"/>
<t:transparent t:render="bus"/>
</body></html>"""
)


class _Status(Element):
    loader = _PAGE

    def __init__(self, snapshot: dict[str, Any]) -> None:
        super().__init__()
        self.snapshot = snapshot

    @renderer
    def health(self, request: object, tag: Tag) -> Tag:
        return tags.span("healthy" if self.snapshot["healthy"] else "NOT CONNECTED")

    @renderer
    def connections(self, request: object, tag: Tag) -> list[Tag]:
        now = self.snapshot["time"]
        rows = []
        for name, s in sorted(self.snapshot["connections"].items()):
            last = s["last_message_time"]
            problems = ", ".join(
                f"{k} {s[k]}" for k in ("decode_errors", "oversized", "stalls", "dropped") if s[k]
            )
            rows.append(
                tags.tr(
                    tags.td(name),
                    tags.td(s["state"]),
                    tags.td(str(s["messages"])),
                    tags.td(str(s["reconnects"])),
                    tags.td("-" if last is None else f"{now - last:.1f}"),
                    tags.td(f"{max(s['lag'].values(), default=0.0):.3f}"),
                    tags.td(problems or "-"),
                )
            )
        return rows

    @renderer
    def recorder(self, request: object, tag: Tag) -> Tag | str:
        recorder, writer = self.snapshot.get("recorder"), self.snapshot.get("writer")
        if recorder is None:
            return ""
        streams = [
            tags.tr(
                tags.td(stream),
                tags.td(str(count)),
                tags.td(f"{recorder['last_frame_age'].get(stream, 0):.1f}"),
            )
            for stream, count in sorted(recorder["frames"].items())
        ]
        files: list[Tag] = [tags.p(f"{recorder['gaps']} gaps; not recording to disk")]
        if writer is not None:
            files = [
                tags.p(
                    f"{recorder['gaps']} gaps, {writer['dropped']} dropped, "
                    f"{writer['bytes_written'] / 1e6:.1f} MB written, {writer['files_sealed']} "
                    f"files sealed, {writer['pending_bytes']} bytes waiting"
                    + (", DISK FULL: paused" if writer["disk_full"] else "")
                ),
                tags.p(f"current file: {writer['current_file'] or '-'}"),
            ]
        return tags.div(
            tags.h2("Recording"),
            *files,
            tags.table(
                tags.tr(tags.th("stream"), tags.th("frames"), tags.th("last frame (s ago)")),
                *streams,
                border="1",
            ),
        )

    @renderer
    def bus(self, request: object, tag: Tag) -> Tag | str:
        bus = self.snapshot.get("bus")
        if bus is None:
            return ""
        latency = bus["last_latency"]
        return tags.div(
            tags.h2(f"Publishing to {bus['url']}"),
            tags.p(
                ("connected" if bus["connected"] else "NOT CONNECTED")
                + f": {bus['published']} published, {bus['dropped']} dropped "
                f"({bus['gaps_published']} gap entries), {bus['in_flight']} in flight, "
                f"{bus['pending']} waiting, last batch "
                + ("-" if latency is None else f"{latency * 1000:.1f} ms")
            ),
        )


class StatusPage(Resource):
    """Renders :class:`~binance_twisted.twistd.status.StatusSource` as HTML."""

    isLeaf = True

    def __init__(self, source: _Snapshots) -> None:
        super().__init__()
        self.source = source

    def render_GET(self, request: Request) -> int:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        d = flatten(request, _Status(self.source.snapshot()), request.write)
        d.addCallback(lambda _: request.finish())
        return NOT_DONE_YET
