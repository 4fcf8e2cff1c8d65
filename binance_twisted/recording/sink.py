"""Records to disk without blocking the reactor, and without growing when the disk is slow.

:class:`RecordSink` collects records on the reactor thread into a batch and hands each batch
(every ``flush_interval`` seconds, or at ``flush_bytes``) to one writer thread, which
appends it to the current file, writes one block and fsyncs. Files rotate at the top of
every UTC hour (``rotate_seconds``) and at ``max_file_bytes``, and are sealed when they are
left and on :meth:`~RecordSink.stop`. Everything waiting for the writer is bounded by
``max_pending_bytes``; past it, or while free disk space is under ``min_free_bytes``,
records are dropped, counted, and a GAP record with the count is written once the writer
catches up: a recording says where it is incomplete. ``keep_seconds`` / ``keep_bytes``
delete the oldest sealed files once a file is sealed (retention).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted.recording.files import (
    PART,
    SUFFIX,
    RecordFileWriter,
    recording_path,
    recover_part,
)
from binance_twisted.recording.format import (
    DEFAULT_LEVEL,
    MAX_BLOCK_RAW,
    FrameRun,
    Kind,
    Record,
    Recorded,
    check_level,
)

__all__ = ["RecordSink", "SinkStats"]

log = Logger(namespace="binance_twisted.recording")

Runner = Callable[..., defer.Deferred]
_RECORD_OVERHEAD = 48  # bytes a record costs beyond its payload and name, roughly
#: memory a frame of a run holds beyond its payload: the bytes object's header, its receive
#: time and three list slots (measured with tracemalloc: 90 on CPython 3.11)
_FRAME_OVERHEAD = 96
#: a run over this is written as smaller runs (a block holds at most MAX_BLOCK_RAW)
_MAX_RUN_BYTES = MAX_BLOCK_RAW // 4


@attrs.define
class SinkStats:
    """What the sink did so far (the status page and the metrics read it)."""

    records: int = 0
    dropped: int = 0
    pending_bytes: int = 0
    bytes_written: int = 0
    files_sealed: int = 0
    files_deleted: int = 0
    last_fsync_seconds: float = 0.0
    disk_full: bool = False
    free_bytes: int | None = None
    current_file: str | None = None


@attrs.define
class _Done:
    """What one writer job did; applied to :class:`SinkStats` on the reactor thread (the
    writer thread never touches the stats)."""

    bytes_written: int = 0
    fsync_seconds: float | None = None
    free_bytes: int | None = None
    files_sealed: int = 0
    files_deleted: int = 0
    current_file: str | None = None


class RecordSink:
    """Batches records on the reactor and writes them from one thread (see the module)."""

    def __init__(
        self,
        reactor: IReactorTime,
        out_dir: str | Path,
        venue: str,
        header: dict[str, Any],
        *,
        run: Runner | None = None,
        flush_interval: float = 1.0,
        flush_bytes: int = 1 << 20,
        max_pending_bytes: int = 64 << 20,
        rotate_seconds: int = 3600,
        max_file_bytes: int | None = None,
        min_free_bytes: int = 1 << 30,
        keep_seconds: float | None = None,
        keep_bytes: int | None = None,
        free_bytes: Callable[[Path], int] | None = None,
        level: int = DEFAULT_LEVEL,
    ) -> None:
        for name, value in (("flush_interval", flush_interval), ("rotate_seconds", rotate_seconds)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        check_level("level", level)
        #: the zstd level of the blocks written
        self.level = level
        self._reactor = reactor
        self.out_dir = Path(out_dir)
        self.venue = venue
        self.header = header
        self._run = run
        self._pool: Any = None
        self.flush_interval = flush_interval
        self.flush_bytes = flush_bytes
        self.max_pending_bytes = max_pending_bytes
        self.rotate_seconds = rotate_seconds
        self.max_file_bytes = max_file_bytes
        self.min_free_bytes = min_free_bytes
        #: retention: sealed files older than this (by mtime) or beyond this total are deleted
        self.keep_seconds = keep_seconds
        self.keep_bytes = keep_bytes
        self._free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)
        self.stats = SinkStats()
        self._batch: list[Recorded] = []
        self._batch_bytes = 0
        self._dropped_unwritten = 0
        self._writing: defer.Deferred = defer.succeed(None)
        self._timer = LoopingCall(self._tick)
        self._timer.clock = reactor
        self._measuring = False  # a free-space check is queued on the writer
        # the writer thread's state (touched only by jobs, which run one at a time)
        self._file: RecordFileWriter | None = None
        self._file_period = -1
        self._part = 0

    # -- the reactor side --------------------------------------------------------------------

    def start(self) -> defer.Deferred:
        """Recover ``.part`` files left by a crash, then accept records."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self._run is None:
            self._run = self._threaded_runner()
        self._timer.start(self.flush_interval, now=False)
        return self._job(self._recover).addCallbacks(self._apply, self._failed)

    def put(self, record: Recorded) -> None:
        """Take one record or run of frames (on the reactor thread): batched, or dropped
        and counted (a run counts as its frames)."""
        stats = self.stats
        if isinstance(record, FrameRun):
            count = len(record)
            size = sum(map(len, record.payloads)) + count * _FRAME_OVERHEAD
            if size > _MAX_RUN_BYTES and count > 1:  # a block's worth at most
                for half in record.split(count // 2):
                    self.put(half)
                return
        else:
            count = 1
            size = len(record.payload) + len(record.stream) + _RECORD_OVERHEAD
        if stats.disk_full or stats.pending_bytes + size > self.max_pending_bytes:
            stats.dropped += count
            self._dropped_unwritten += count
            return
        if self._dropped_unwritten:
            self._batch.append(self._gap_record(record))
            self._dropped_unwritten = 0
        stats.records += count
        stats.pending_bytes += size
        self._batch.append(record)
        self._batch_bytes += size
        if self._batch_bytes >= self.flush_bytes:
            self.flush()

    def _tick(self) -> None:
        # not ``flush`` itself: a LoopingCall waits for a Deferred it is given, and a slow
        # writer would then stop the timer until it caught up
        if self._batch or self._measuring:
            self.flush()
            return
        # nothing to write (a quiet market, or paused for disk space): still look at the disk
        self._measuring = True

        def measured(done: _Done) -> None:
            self._measuring = False
            self._apply(done)

        self._job(self._measure).addCallbacks(measured, self._failed)

    def flush(self) -> defer.Deferred:
        """Hand the batch to the writer now; fires when it is on disk."""
        batch, size = self._batch, self._batch_bytes
        self._batch, self._batch_bytes = [], 0
        if not batch:
            return defer.succeed(None)
        d = self._job(self._write, batch)

        def written(done: _Done) -> None:
            self.stats.pending_bytes -= size
            self._apply(done)

        d.addCallbacks(written, self._failed)
        return d

    def stop(self) -> defer.Deferred:
        """Write what is batched, seal the current file, stop the writer thread."""
        if self._timer.running:
            self._timer.stop()
        self.flush()
        d = self._job(self._seal_job)
        d.addCallbacks(self._apply, self._failed)
        if self._pool is not None:
            d.addBoth(self._stop_pool)
        return d

    def _job(self, function: Callable[..., Any], *args: Any) -> defer.Deferred:
        """Run ``function`` on the writer once the jobs before it are done; the Deferred
        fires with its result (one writer thread: jobs never overlap)."""
        assert self._run is not None
        run = self._run
        job: defer.Deferred = defer.Deferred()

        def go(_: object) -> defer.Deferred:
            d = run(function, *args)
            d.chainDeferred(job)
            return d.addErrback(lambda _: None)  # the queue goes on; ``job`` has the failure

        self._writing.addCallback(go)
        return job

    def _failed(self, failure: Failure) -> None:
        log.failure("recording: the writer failed", failure)

    def _gap_record(self, now: Recorded) -> Record:
        details = {"stream": "", "dropped": self._dropped_unwritten, "detected_by": "writer"}
        log.warn(
            "recording: {n} records dropped (writer behind or disk full)",
            n=self._dropped_unwritten,
        )
        return Record.event(
            Kind.GAP, details, recv_wall_ns=now.recv_wall_ns, recv_mono_ns=now.recv_mono_ns
        )

    def _apply(self, done: _Done) -> None:
        """What a writer job did, into the stats (on the reactor thread); the disk guard."""
        stats = self.stats
        stats.bytes_written += done.bytes_written
        stats.files_sealed += done.files_sealed
        stats.files_deleted += done.files_deleted
        if done.fsync_seconds is not None:
            stats.last_fsync_seconds = done.fsync_seconds
        if done.current_file is not None:
            stats.current_file = done.current_file
        free = done.free_bytes
        if free is None:
            return
        full = free < self.min_free_bytes
        if full and not stats.disk_full:
            log.error(
                "recording paused: {free} bytes free in {dir}, under {min} (records are "
                "dropped and counted)",
                free=free,
                dir=str(self.out_dir),
                min=self.min_free_bytes,
            )
        elif stats.disk_full and not full:
            log.info("recording resumed: {free} bytes free", free=free)
        stats.disk_full = full
        stats.free_bytes = free

    def _threaded_runner(self) -> Runner:
        from twisted.internet.threads import deferToThreadPool
        from twisted.python.threadpool import ThreadPool

        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="binance-twisted-recorder")
        self._pool.start()
        reactor = cast(IReactorFromThreads, self._reactor)
        return lambda function, *args: deferToThreadPool(reactor, self._pool, function, *args)

    def _stop_pool(self, result: object) -> object:
        self._pool.stop()
        return result

    # -- the writer thread -------------------------------------------------------------------

    def _recover(self) -> _Done:
        for part in sorted(self.out_dir.rglob("*" + PART)):
            sealed = recover_part(part)
            log.info("recording: recovered {part} as {sealed}", part=str(part), sealed=str(sealed))
        return self._measure()

    def _measure(self) -> _Done:
        """Free space where the recordings go (a syscall: on the writer, not the reactor)."""
        return _Done(free_bytes=self._free_bytes(self.out_dir))

    def _seal_job(self) -> _Done:
        done = _Done()
        self._seal(done)
        return done

    def _write(self, batch: list[Recorded]) -> _Done:
        done = self._measure()
        span = self.rotate_seconds * 1_000_000_000
        start = 0
        while start < len(batch):
            writer = self._file
            period = batch[start].recv_wall_ns // span
            too_big = (
                writer is not None
                and self.max_file_bytes is not None
                and writer.bytes_written + writer.pending_bytes >= self.max_file_bytes
            )
            if writer is None or period != self._file_period or too_big:
                self._seal(done)
                writer = self._open(batch[start].recv_wall_ns, period)
                done.current_file = str(writer.path)
            end = self._run_end(batch, start, period, span)
            writer.extend(batch[start:end])
            start = end
        assert self._file is not None
        started = time.monotonic()
        done.bytes_written += self._file.flush()
        done.fsync_seconds = time.monotonic() - started
        return done

    def _run_end(self, batch: list[Recorded], start: int, period: int, span: int) -> int:
        """Where the run of records of ``period`` starting at ``start`` ends (a batch
        rarely crosses the hour; a file near its size cap takes one record at a time)."""
        if self.max_file_bytes is not None:
            return start + 1
        if batch[-1].recv_wall_ns // span == period:
            return len(batch)
        end = start + 1
        while end < len(batch) and batch[end].recv_wall_ns // span == period:
            end += 1
        return end

    def _open(self, wall_ns: int, period: int) -> RecordFileWriter:
        path = recording_path(self.out_dir, self.venue, wall_ns, self._part)
        while path.exists() or path.with_name(path.name + PART).exists():
            self._part += 1
            path = recording_path(self.out_dir, self.venue, wall_ns, self._part)
        header = {"venue": self.venue, **self.header}
        self._file = RecordFileWriter(path, header, level=self.level)
        self._file_period = period
        self._part += 1
        return self._file

    def _seal(self, done: _Done) -> None:
        writer, self._file = self._file, None
        if writer is None:
            return
        before = writer.bytes_written
        writer.seal()
        done.bytes_written += writer.bytes_written - before
        done.files_sealed += 1
        done.files_deleted += self._retain()

    def _retain(self) -> int:
        """Delete the oldest sealed files past ``keep_seconds`` or ``keep_bytes``; how many."""
        if self.keep_seconds is None and self.keep_bytes is None:
            return 0
        sealed = sorted(
            (path.stat().st_mtime, path.stat().st_size, path)
            for path in self.out_dir.rglob("*" + SUFFIX)
        )
        total = sum(size for _, size, _ in sealed)
        horizon = time.time() - self.keep_seconds if self.keep_seconds is not None else None
        deleted = 0
        for mtime, size, path in sealed[:-1]:  # the newest file always stays
            too_old = horizon is not None and mtime < horizon
            too_much = self.keep_bytes is not None and total > self.keep_bytes
            if not (too_old or too_much):
                break
            path.unlink()
            total -= size
            deleted += 1
            log.info("recording: retention deleted {path}", path=str(path))
        return deleted
