"""``python -m binance_twisted inspect --redis redis://…``: what the bus holds and who feeds it.

For one venue: every shard group (its live members, each member's streams and heartbeat age,
streams nobody holds) and every published stream (its length, its owner, and its lag: Redis'
clock minus the time of its newest entry, so a stalled recorder shows as a growing number).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from twisted.internet import defer

from binance_twisted._json import dumps
from binance_twisted.bus.address import EVENTS, BusAddress, stream_key
from binance_twisted.bus.redis import connect, disconnect
from binance_twisted.bus.shard import group_key

__all__ = ["bus_report", "inspect_bus", "print_report"]


def inspect_bus(
    url: str, venue: str, prefix: str, as_json: bool, timeout: float = 10.0
) -> Callable[[Any, TextIO], Coroutine[Any, Any, int]]:
    """The ``inspect --redis`` command, its arguments checked now (before the reactor runs)."""
    BusAddress.parse(url)
    stream_key(prefix, venue, EVENTS)  # the venue

    async def run(reactor: Any, out: TextIO) -> int:
        asked = defer.ensureDeferred(bus_report(reactor, url, venue, prefix))
        asked.addTimeout(timeout, reactor)
        try:
            report = await asked
        except defer.TimeoutError:
            out.write(f"inspect: no answer from {BusAddress.parse(url)} within {timeout:g} s\n")
            return 1
        print_report(report, out, as_json)
        return 0

    return run


async def bus_report(reactor: Any, url: str, venue: str = "spot", prefix: str = "binance") -> dict:
    """Everything the report shows, as JSON-ready values."""
    address = BusAddress.parse(url)
    redis = connect(address)
    try:
        return await _report(redis, str(address), venue, prefix)
    finally:
        await disconnect(reactor, [redis])


async def _report(redis: Any, url: str, venue: str, prefix: str) -> dict:
    seconds, micros = await redis.execute_command(b"TIME")
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    base = stream_key(prefix, venue, "")
    groups_base = stream_key(prefix, venue, "_group") + ":"
    keys = sorted(k.decode() for k in await _scan(redis, f"{base}*"))
    streams: dict[str, dict[str, Any]] = {}
    for key in keys:
        name = key[len(base) :]
        if name == EVENTS or key.startswith(groups_base):
            continue
        length = int(await redis.execute_command(b"XLEN", key.encode()))
        newest = await redis.execute_command(b"XREVRANGE", key.encode(), b"+", b"-", b"COUNT", b"1")
        last_ms = int(newest[0][0].split(b"-")[0]) if newest else None
        lag = None if last_ms is None else round((now_ms - last_ms) / 1000, 3)
        streams[name] = {"length": length, "lag_seconds": lag, "owner": None}
    groups: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key.startswith(groups_base) and key.endswith(":members"):
            group = key[len(groups_base) : -len(":members")]
            groups[group] = await _group(redis, prefix, venue, group, now_ms, streams)
    return {"redis": url, "venue": venue, "prefix": prefix, "groups": groups, "streams": streams}


async def _group(
    redis: Any, prefix: str, venue: str, group: str, now_ms: int, streams: dict[str, dict]
) -> dict[str, Any]:
    flat = await redis.execute_command(
        b"ZRANGE", group_key(prefix, venue, group, "members").encode(), b"0", b"-1", b"WITHSCORES"
    )
    members: dict[str, dict[str, Any]] = {
        m.decode(): {"heartbeat_age": round((now_ms - float(t)) / 1000, 3), "streams": []}
        for m, t in zip(flat[::2], flat[1::2], strict=False)
    }
    owner_base = group_key(prefix, venue, group, "owner") + ":"
    unowned = []
    for key in sorted(k.decode() for k in await _scan(redis, owner_base + "*")):
        stream = key[len(owner_base) :]
        lease = group_key(prefix, venue, group, "lease", stream).encode()
        holder = await redis.execute_command(b"GET", lease)
        if holder is None:
            unowned.append(stream)
            continue
        name = holder.decode()
        members.setdefault(name, {"heartbeat_age": None, "streams": []})["streams"].append(stream)
        streams.setdefault(stream, {"length": 0, "lag_seconds": None, "owner": None})["owner"] = (
            name
        )
    return {"members": members, "unowned": unowned}


async def _scan(redis: Any, pattern: str) -> list[bytes]:
    cursor, found = b"0", []
    while True:
        cursor, keys = await redis.execute_command(
            b"SCAN", cursor, b"MATCH", pattern.encode(), b"COUNT", b"1000"
        )
        found.extend(keys)
        if cursor == b"0":
            return found


def print_report(report: dict, out: TextIO, as_json: bool = False) -> None:
    """The report as text lines (or one JSON document)."""
    if as_json:
        out.write(dumps(report).decode() + "\n")
        return
    out.write(f"bus {report['redis']}, {report['prefix']}:{report['venue']}\n")
    for name, group in report["groups"].items():
        out.write(f"group {name}: {len(group['members'])} members\n")
        for member, seat in sorted(group["members"].items()):
            age = seat["heartbeat_age"]
            heard = "no heartbeat" if age is None else f"heartbeat {age:.1f} s ago"
            owned = ", ".join(seat["streams"]) or "-"
            out.write(f"  {member}  {heard}  {len(seat['streams'])} streams: {owned}\n")
        out.write(f"  unowned: {', '.join(group['unowned']) or '-'}\n")
    out.write(f"streams ({len(report['streams'])}):\n")
    for stream, s in sorted(report["streams"].items()):
        lag = "-" if s["lag_seconds"] is None else f"{s['lag_seconds']:.2f} s"
        out.write(f"  {stream}  owner {s['owner'] or '-'}  {s['length']} entries  lag {lag}\n")
