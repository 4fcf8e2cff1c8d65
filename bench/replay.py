"""Reading recordings back and replaying them, beside the live path in the same run.

    python bench/replay.py            # 200,000 recorded trades, 3 repetitions
    python bench/replay.py --quick    # 20,000

* **Reading**: :func:`binance_twisted.recording.read_records` over a recording of the bench's
  trade frames, written as the recorder writes them (a run of 1,500 frames per reactor turn,
  a zstd block per MiB), against the same frames as gzip JSON lines (one per line, the usual
  archive format), each read without decoding and with one ``orjson.loads`` per frame:
  records/s of CPU (``process_time``), median of the repetitions.
* **Replay at speed 0**: ``python -m binance_twisted replay DIR --speed 0`` serves that
  recording; the bench's ``bt`` (``StreamClient``) and ``bt-legacy`` (the legacy
  ``BinanceSocketManager``) clients read it, against the same clients reading
  ``bench/server.py``'s blast of the same frames (the live path of ``bench/run.py``). Runs
  are interleaved, each a fresh server and client process. Reported: the client's msgs/s and
  CPU µs per message, and the server's CPU per frame while the client ran.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from run import measured  # bench/ is the script's directory, first on sys.path
from server import trade_payloads

from binance_twisted.recording import FrameRun, RecordFileWriter, read_records, recording_path

STREAM = "btcusdt@trade"
RUN_FRAMES = 1_500  # about one 256 KiB read of trades: what the recorder hands over a turn
BLOCK_BYTES = 1 << 20  # the sink's flush_bytes
T0 = 1_796_300_000_000_000_000


def write_recording(directory: Path, frames: list[bytes]) -> Path:
    """The frames as a sealed recording, laid out as the recorder writes them."""
    path = recording_path(directory, "bench", T0, 0)
    writer = RecordFileWriter(path, {"venue": "bench", "streams": [STREAM]})
    for start in range(0, len(frames), RUN_FRAMES):
        run = FrameRun(1, start + 1, T0 + start * 1_000)
        for offset, frame in enumerate(frames[start : start + RUN_FRAMES]):
            run.streams.append(STREAM)
            run.payloads.append(frame)
            run.monos.append((start + offset) * 1_000)
        writer.extend([run])
        if writer.pending_bytes >= BLOCK_BYTES:
            writer.flush(fsync=False)
    return writer.seal()


def write_lines(path: Path, frames: list[bytes]) -> Path:
    with gzip.open(path, "wb") as out:
        for frame in frames:
            out.write(frame + b"\n")
    return path


def rate(read: Callable[[], int]) -> float:
    """Records per CPU second of one full read."""
    started = time.process_time()
    count = read()
    return count / (time.process_time() - started)


def reading(recording: Path, lines: Path) -> dict[str, Callable[[], int]]:
    loads = orjson.loads

    def records() -> int:
        return sum(1 for _ in read_records(recording))

    def records_decoded() -> int:
        return sum(1 for record in read_records(recording) if loads(record.payload))

    def gzip_lines() -> int:
        with gzip.open(lines, "rb") as f:
            return sum(1 for _ in f)

    def gzip_lines_decoded() -> int:
        with gzip.open(lines, "rb") as f:
            return sum(1 for line in f if loads(line))

    return {
        "read_records": records,
        "read_records + orjson.loads": records_decoded,
        "gzip JSON lines": gzip_lines,
        "gzip JSON lines + orjson.loads": gzip_lines_decoded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="binance-twisted replay and reading bench")
    parser.add_argument("--quick", action="store_true", help="20,000 frames")
    parser.add_argument("--frames", type=int, help="recorded trades (default 200,000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per client run, seconds")
    args = parser.parse_args(argv)
    count = args.frames or (20_000 if args.quick else 200_000)
    frames = list(trade_payloads(count))
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as temp:
        directory = Path(temp)
        recording = write_recording(directory / "recording", frames)
        lines = write_lines(directory / "trades.jsonl.gz", frames)
        readers = reading(recording, lines)
        rates: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.reps):
            for name, read in readers.items():
                rates[name].append(rate(read))

        def replay(port: int) -> list[str]:
            listen = f"tcp:{port}:interface=127.0.0.1"
            command = [sys.executable, "-m", "binance_twisted", "replay", str(recording)]
            return [*command, "--listen", listen, "--speed", "0"]

        sources: dict[str, Callable[[int], list[str]] | None] = {"live": None, "replay": replay}
        runs: dict[tuple[str, str], list[dict]] = {}
        for rep in range(args.reps):
            for kind in ("bt", "bt-legacy") if rep % 2 == 0 else ("bt-legacy", "bt"):
                for source, serve in sources.items():
                    result = measured(
                        kind, "trade", count, sys.executable, args.timeout, 2, serve=serve
                    )
                    runs.setdefault((kind, source), []).append(result)
                    print(
                        f"rep {rep + 1} {kind:10} {source:6} {result['msgs_per_s']:>10,.0f} "
                        f"msg/s {result['cpu_us_per_msg']:6.2f} µs/msg",
                        file=sys.stderr,
                    )
        sizes = recording.stat().st_size, lines.stat().st_size
    print(f"**Reading** {count:,} trades ({sizes[0]:,} bytes recorded, {sizes[1]:,} as gzip lines)")
    print()
    print("| reader | records/s (median of CPU time) | best |")
    print("|---|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):,.0f} | {max(values):,.0f} |")
    print()
    print(f"**Replay at speed 0 against the live blast**, {count:,} trades, {args.reps} reps")
    print()
    print("| client | source | msgs/s (median) | client CPU µs/msg | server CPU µs/frame |")
    print("|---|---|---|---|---|")
    for (kind, source), results in runs.items():
        server = [r["server_cpu_s"] for r in results if "server_cpu_s" in r]
        per_frame = f"{statistics.median(server) / count * 1e6:.2f}" if server else "n/a"
        msgs = statistics.median(r["msgs_per_s"] for r in results)
        cpu = statistics.median(r["cpu_us_per_msg"] for r in results)
        print(f"| {kind} | {source} | {msgs:,.0f} | {cpu:.2f} | {per_frame} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
