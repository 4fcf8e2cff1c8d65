"""The Redis Streams bus on loopback: publish throughput, and recv → consumer latency.

    python bench/bus.py            # 200,000 frames; latency at 2,000 frames/s for 10 s
    python bench/bus.py --quick    # 50,000 frames; latency for 3 s

Needs ``redis-server`` (Debian: ``apt-get install redis-server``) and the ``redis`` extra. The
script starts its own redis-server on a free loopback port (no persistence) and stops it.

* **Publish throughput**: trade-sized FRAME records (the bytes of a real combined-stream
  trade frame, about 190 B) are handed to a :class:`RedisPublisher` 1,000 per reactor turn,
  as a busy recorder's reads would, with a queue large enough to hold them all; the clock
  stops when Redis has acknowledged the last one. Reported: frames/s (wall), and the
  publisher's CPU per frame (``process_time`` of this process, which runs nothing else).
* **End-to-end latency**: frames are published at a steady rate (one reactor timer per
  millisecond batch); a :class:`RedisStreamSource` in the same process reads them back;
  latency is the consumer callback's wall time minus the frame's receive time as the
  recorder would have stamped it. Reported: p50, p99, max. Both ends share one reactor and
  one core here; on two machines the network adds its round trip.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, task

from binance_twisted.bus import RedisPublisher, RedisStreamSource
from binance_twisted.recording import Kind, Record
from binance_twisted.testing.redis import RedisServer, RedisUnavailable

FRAME = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1795305600000,"s":"BTCUSDT",'
    b'"t":%d,"p":"98000.01000000","q":"0.00100000","T":1795305600000,"m":true,"M":true}}'
)


def _record(n: int) -> Record:
    return Record(Kind.FRAME, "btcusdt@trade", FRAME % n, time.time_ns(), 0, 1, n)


async def _until(reactor: Any, condition: Any) -> None:
    while not condition():
        await task.deferLater(reactor, 0.001, lambda: None)


async def throughput(reactor: Any, url: str, count: int) -> dict[str, float]:
    publisher = RedisPublisher(reactor, url, max_pending=count + 1, max_pending_bytes=1 << 30)
    publisher.start()
    await _until(reactor, lambda: True)
    records = [_record(n) for n in range(count)]
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, count, 1000):
        for record in records[start : start + 1000]:
            publisher.put(record)
        await task.deferLater(reactor, 0, lambda: None)
    await _until(reactor, lambda: publisher.stats.published >= count)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await publisher.stop()
    return {
        "frames_per_second": count / wall,
        "cpu_us_per_frame": cpu / count * 1e6,
        "batches": publisher.stats.batches,
        "dropped": publisher.stats.dropped,
    }


async def latency(reactor: Any, url: str, rate: int, seconds: float) -> dict[str, float]:
    source = RedisStreamSource(reactor, url, block=0.1)
    sent: dict[int, int] = {}
    received: list[tuple[int, int]] = []

    def on_raw(stream: str, data: Any, raw: bytes) -> None:
        received.append((data["t"], time.time_ns()))

    await source.subscribe(["btcusdt@trade"], on_raw, raw=True)
    publisher = RedisPublisher(reactor, url)
    publisher.start()
    per_ms = max(1, rate // 1000)
    total = int(rate * seconds)
    n = 0
    while n < total:
        for _ in range(per_ms):
            record = _record(n)
            sent[n] = record.recv_wall_ns
            publisher.put(record)
            n += 1
        await task.deferLater(reactor, 0.001, lambda: None)
    await _until(reactor, lambda: len(received) >= total)
    await publisher.stop()
    await source.close()
    micros = sorted((at - sent[t]) / 1000 for t, at in received)
    return {
        "frames": len(micros),
        "p50_ms": statistics.median(micros) / 1000,
        "p99_ms": micros[int(len(micros) * 0.99)] / 1000,
        "max_ms": micros[-1] / 1000,
    }


async def main(reactor: Any, args: argparse.Namespace, url: str) -> None:
    result = await throughput(reactor, url, args.frames)
    print(
        f"publish: {args.frames:,} frames, {result['frames_per_second']:,.0f} frames/s, "
        f"{result['cpu_us_per_frame']:.2f} µs CPU per frame, {result['batches']} batches, "
        f"{result['dropped']} dropped"
    )
    lat = await latency(reactor, url, args.rate, args.seconds)
    print(
        f"latency at {args.rate:,} frames/s for {args.seconds:g} s ({lat['frames']:,} frames): "
        f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms"
    )


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the Redis Streams bus on loopback")
    parser.add_argument("--quick", action="store_true", help="50,000 frames, 3 s of latency")
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=2_000, help="frames/s for the latency run")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.seconds = 50_000, 3.0
    print(f"Python {sys.version.split()[0]}, pid {os.getpid()}", file=sys.stderr)
    try:
        server = RedisServer()
    except RedisUnavailable as missing:
        raise SystemExit(str(missing)) from None
    server.start()  # blocking, so before the reactor runs
    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor, args, server.url)))
    finally:
        server.stop()


if __name__ == "__main__":
    run()
