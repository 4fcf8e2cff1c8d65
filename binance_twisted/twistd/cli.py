"""``python -m binance_twisted record|replay|inspect|export``: operators' commands, no twistd.

``record`` runs the same :class:`~binance_twisted.twistd.record.RecordService` as
``twistd -n binance record`` (same options), printing its status line to the terminal, until
Ctrl-C or ``--seconds``. ``replay`` serves a recording as ``twistd -n binance replay`` does
and prints the URLs to point a client at. ``inspect`` summarises a recording: files, time
span, records per kind and stream, gaps, bytes and compression, and whether every file is
sealed and intact.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO, cast

from twisted.internet import defer, task
from twisted.python import usage

from binance_twisted.recording.reader import (
    FileSummary,
    count_frames,
    inspect_file,
    recording_files,
)
from binance_twisted.twistd.plugin import RecordOptions, record_service
from binance_twisted.twistd.record import RecordService

__all__ = ["export", "inspect", "parse_record", "record", "replay"]


def parse_record(argv: list[str]) -> RecordOptions:
    """The ``record`` options, checked before the reactor runs (exits 2 on a bad one)."""
    options = RecordOptions()
    try:
        options.parseOptions(argv)
    except usage.UsageError as error:
        print(f"record: {error}\n(see: python -m binance_twisted record --help)", file=sys.stderr)
        sys.exit(2)
    return options


async def record(reactor: Any, options: RecordOptions, out: TextIO, seconds: float = 0) -> int:
    """Record as ``twistd binance record`` would; ``seconds`` > 0 stops after that long,
    else Ctrl-C stops it (the files are sealed before the reactor ends)."""
    service = cast(RecordService, record_service(options, lambda line: print(line, file=out)))
    service.startService()
    if seconds <= 0:
        reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
        await defer.Deferred()  # never fires: Ctrl-C stops the reactor, the trigger seals
    await task.deferLater(reactor, seconds, lambda: None)
    await service.stopService()
    service.status()
    return 0


def inspect(path: str, out: TextIO, as_json: bool = False) -> int:
    """Print what the recording at ``path`` holds; 1 if a file is damaged, else 0."""
    files = recording_files(path)
    summaries = [inspect_file(file) for file in files]
    damaged = [s for s in summaries if s.checksum_ok is False or s.truncated_tail]
    if as_json:
        print(json.dumps([_as_dict(s) for s in summaries], indent=2), file=out)
        return 1 if damaged else 0
    for summary in summaries:
        print(_describe(summary), file=out)
    total_raw = sum(s.raw_bytes for s in summaries)
    total_disk = sum(s.file_bytes for s in summaries)
    ratio = total_raw / total_disk if total_disk else 0.0
    print(
        f"{len(summaries)} files, {total_disk / 1e6:.1f} MB on disk ({ratio:.1f}x compressed), "
        f"{sum(len(s.gaps) for s in summaries)} gaps, "
        f"{sum(1 for s in summaries if not s.sealed)} unsealed, {len(damaged)} damaged",
        file=out,
    )
    return 1 if damaged else 0


def _describe(summary: FileSummary) -> str:
    state = (
        "sealed, checksum ok"
        if summary.checksum_ok
        else ("SEALED, CHECKSUM MISMATCH" if summary.sealed else "unsealed (.part)")
    )
    lines = [f"{summary.path}: {state}, {_span(summary)}"]
    lines.append("  records: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.kinds.items())))
    for stream, count in sorted(summary.streams.items()):
        lines.append(f"  {stream}: {count} frames")
    for gap in summary.gaps:
        lines.append(
            f"  gap in {gap.get('stream') or 'writer'} at {_time(gap['recv_wall_ns'])}: "
            + (
                f"{gap['last_id']} -> {gap['next_id']}"
                if "last_id" in gap
                else f"{gap.get('dropped')} dropped"
            )
        )
    if summary.truncated_tail:
        lines.append(f"  torn tail: {summary.truncated_tail} bytes after the last whole block")
    return "\n".join(lines)


def _span(summary: FileSummary) -> str:
    if summary.first_wall_ns is None or summary.last_wall_ns is None:
        return "empty"
    seconds = (summary.last_wall_ns - summary.first_wall_ns) / 1e9
    return f"{_time(summary.first_wall_ns)} + {seconds:.1f} s"


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%fZ")


def _as_dict(summary: FileSummary) -> dict[str, Any]:
    return {
        "path": str(summary.path),
        "sealed": summary.sealed,
        "checksum_ok": summary.checksum_ok,
        "kinds": summary.kinds,
        "streams": summary.streams,
        "first_wall_ns": summary.first_wall_ns,
        "last_wall_ns": summary.last_wall_ns,
        "gaps": summary.gaps,
        "file_bytes": summary.file_bytes,
        "raw_bytes": summary.raw_bytes,
        "truncated_tail": summary.truncated_tail,
    }


def export(path: str, out: str, format: str, streams: list[str] | None, say: TextIO) -> int:
    """Write the recording at ``path`` to ``out`` as ``format``; 2 on a bad format."""
    from binance_twisted.recording.exports import export as write

    try:
        lines = write(path, out, format, streams)
    except ValueError as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    print(f"{lines} lines written to {out} ({format})", file=say)
    return 0


async def replay(reactor: Any, argv: list[str], out: TextIO) -> int:
    """Serve a recording as ``twistd binance replay`` does: say where (the URLs to point a
    client at), then a progress line every 2 s, until Ctrl-C (clients may reconnect)."""
    from twisted.internet.endpoints import serverFromString

    from binance_twisted.recording.replay import replay_site
    from binance_twisted.twistd.plugin import ReplayOptions

    options = ReplayOptions()
    try:
        options.parseOptions(argv)
        site = replay_site(reactor, options["path"], options["speed"], options["loop"])
    except (usage.UsageError, ValueError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    total = count_frames(options["path"])
    port = await serverFromString(reactor, options["listen"]).listen(site)
    host = port.getHost()
    print(
        f"replay: {total} frames of {options['path']} on ws://{host.host}:{host.port}/stream "
        f"(and /ws/...), depth snapshots on http://{host.host}:{host.port}/api/v3/depth",
        file=out,
        flush=True,
    )
    tty = out.isatty()

    def progress() -> None:
        sent = site.replay.sent
        line = f"replay: {sent} of {total} frames sent ({100 * sent / max(total, 1):.0f} %)"
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=out, flush=True)

    ticker = task.LoopingCall(progress)
    ticker.clock = reactor
    ticker.start(2.0, now=False)
    reactor.addSystemEventTrigger("before", "shutdown", port.stopListening)
    await defer.Deferred()  # until Ctrl-C
    return 0
