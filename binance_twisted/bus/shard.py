"""Recorders in a shard group split the requested streams among themselves, with failover.

Every recorder of a group is started with the same streams and ``--shard-group NAME``; a
:class:`ShardMember` per recorder decides which of them it records, through keys in Redis
under ``{prefix}:{venue}:_group:{NAME}:``:

* ``members`` (sorted set): each member's last heartbeat (Redis' clock); members silent for a
  lease are dropped, so a share is ``ceil(streams / live members)``;
* ``lease:{stream}``: the member recording the stream, set with ``SET NX PX`` and renewed
  every third of a lease by its holder only (compare and ``PEXPIRE`` in one script): a
  stream is owned by exactly one live member, and a dead member's streams are free one lease
  after its last renewal;
* ``owner:{stream}``: the last holder, kept, so whoever takes a stream over can tell a
  takeover (the holder died: a GAP entry on ``_events`` says which stream, from whom, and
  after which entry) from a first start;
* ``offer:{stream}``: a member above its share offers streams; a member below takes an
  offered stream over in one step, and the old holder keeps recording it for one more tick
  (make before break), so a rebalance leaves no gap, only a short overlap, which
  :class:`~binance_twisted.bus.RedisStreamSource` drops for sequenced streams.

Each recorder subscribes only its own streams, through its own ``StreamClient``, whose
connection and control-message pacing keep it within Binance's per-IP budget.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from binance_twisted.bus.address import BusAddress, stream_key
from binance_twisted.bus.redis import connect, disconnect

__all__ = ["ShardMember", "group_key", "member_name"]

log = Logger(namespace="binance_twisted.bus")

#: ZADD the member with Redis' time, drop members silent for a lease; the live ones, sorted.
_HEARTBEAT = b"""
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

#: Renew each lease KEYS[i] still held by ARGV[1]; the indexes (1-based) of those lost.
_RENEW = b"""
local lost = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost
"""

#: KEYS: lease, offer, owner. Take a free or offered stream: {how, previous holder}.
_CLAIM = b"""
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local previous = redis.call('GET', KEYS[3]) or ''
  redis.call('SET', KEYS[3], ARGV[1])
  return {'free', previous}
end
if holder ~= ARGV[1] and redis.call('GET', KEYS[2]) == holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[3], ARGV[1])
  return {'handoff', holder}
end
return {'held', holder}
"""

#: Delete KEYS[i] (leases, offers) where they still name ARGV[1].
_RELEASE = b"""
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0
"""


def member_name() -> str:
    """host-pid-random: unique per process, readable in ``inspect``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def group_key(prefix: str, venue: str, group: str, *parts: str) -> str:
    """``{prefix}:{venue}:_group:{group}:{parts…}``."""
    return ":".join([stream_key(prefix, venue, "_group"), group, *parts])


class ShardMember:
    """One recorder's seat in a shard group (see the module).

    ``follow(streams)`` / ``unfollow(streams)`` start and stop recording streams;
    ``takeover(stream, details)`` writes the GAP of a stream taken over from a dead member.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        url: str,
        group: str,
        streams: Iterable[str],
        follow: Callable[[list[str]], Any],
        unfollow: Callable[[list[str]], Any],
        takeover: Callable[[str, dict[str, Any]], Any],
        *,
        venue: str = "spot",
        prefix: str = "binance",
        lease: float = 10.0,
        member: str | None = None,
        connect_to: Any = connect,
    ) -> None:
        if not isinstance(group, str) or not group or ":" in group:
            raise ValueError(f"group must be a non-empty name without ':', got {group!r}")
        if isinstance(lease, bool) or not isinstance(lease, (int, float)) or not 1 <= lease <= 600:
            raise ValueError(f"lease must be 1 to 600 seconds, got {lease!r}")
        self.address = BusAddress.parse(url)
        self.group = group
        self.streams = list(dict.fromkeys(streams))
        if not self.streams:
            raise ValueError("streams must name at least one stream")
        self.venue, self.prefix = venue, prefix
        self.lease_ms = int(lease * 1000)
        self.member = member if member is not None else member_name()
        self.owned: set[str] = set()
        self.members: list[str] = []
        self.takeovers = 0
        self._follow, self._unfollow, self._takeover = follow, unfollow, takeover
        self._reactor = reactor
        self._connect = connect_to
        self._redis: Any = None
        self._offered: set[str] = set()
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor
        self._ticking = False

    def __repr__(self) -> str:
        return (
            f"<ShardMember {self.member} of {self.group}: {len(self.owned)}/{len(self.streams)} "
            f"streams, {len(self.members)} members>"
        )

    def _key(self, *parts: str) -> bytes:
        return group_key(self.prefix, self.venue, self.group, *parts).encode()

    def start(self) -> None:
        """Join the group: a heartbeat, renewals and claims every third of a lease."""
        self._redis = self._connect(self.address, self._connection_failed)
        self._loop.start(self.lease_ms / 3000, now=True)

    def _connection_failed(self, message: str) -> None:
        log.error("shard {m}: cannot use Redis: {e}", m=self.member, e=message)

    def stop(self, timeout: float = 5.0) -> defer.Deferred[None]:
        """Leave: stop ticking, release this member's leases and offers (waiting at most
        ``timeout`` seconds for Redis: the others take over one lease later without it),
        disconnect."""
        if self._loop.running:
            self._loop.stop()
        if self._redis is None:
            return defer.succeed(None)
        redis, me = self._redis, self.member.encode()
        keys = [self._key(k, s) for s in self.owned for k in ("lease", "offer")]
        d = defer.gatherResults(
            [
                redis.execute_command(b"EVAL", _RELEASE, b"%d" % len(keys), *keys, me),
                redis.execute_command(b"ZREM", self._key("members"), me),
            ],
            consumeErrors=True,
        )
        self.owned.clear()
        d.addTimeout(timeout, self._reactor)
        d.addErrback(lambda f: log.warn("shard {m}: leaving failed: {e}", m=self.member, e=f.value))
        self._redis = None
        return d.addBoth(lambda _: disconnect(self._reactor, [redis]))

    # -- one tick ------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._ticking:  # Redis is slow or down: the previous tick is still waiting
            return
        self._ticking = True
        d = defer.ensureDeferred(self._round())
        d.addErrback(lambda f: log.warn("shard {m}: {e}", m=self.member, e=f.getErrorMessage()))
        d.addBoth(self._ticked)

    def _ticked(self, _: object) -> None:
        self._ticking = False

    async def _round(self) -> None:
        redis, me = self._redis, self.member.encode()
        if redis is None:
            return
        lease = b"%d" % self.lease_ms
        live = await redis.execute_command(
            b"EVAL", _HEARTBEAT, b"1", self._key("members"), me, lease
        )
        self.members = [m.decode() for m in live]
        await self._renew(redis, me, lease)
        share = math.ceil(len(self.streams) / max(1, len(self.members)))
        await self._offer(redis, me, lease, max(0, len(self.owned) - share))
        if len(self.owned) < share:
            await self._claim(redis, me, lease, share - len(self.owned))

    async def _renew(self, redis: Any, me: bytes, lease: bytes) -> None:
        owned = sorted(self.owned)
        if not owned:
            return
        keys = [self._key("lease", s) for s in owned]
        lost = await redis.execute_command(b"EVAL", _RENEW, b"%d" % len(keys), *keys, me, lease)
        gone = [owned[int(i) - 1] for i in lost]
        if not gone:
            return
        self.owned.difference_update(gone)
        handed = [s for s in gone if s in self._offered]
        self._offered.difference_update(gone)
        died = [s for s in gone if s not in handed]
        if died:  # our lease expired (we were too slow): someone else may have it already
            log.warn("shard {m}: lost {streams}", m=self.member, streams=died)
            self._unfollow(died)
        if handed:  # taken over on offer: keep recording one more tick, then stop
            self._reactor.callLater(self.lease_ms / 3000, self._release_handed, handed)

    def _release_handed(self, streams: list[str]) -> None:
        self._unfollow([s for s in streams if s not in self.owned])

    async def _offer(self, redis: Any, me: bytes, lease: bytes, count: int) -> None:
        """Offer ``count`` streams above the share (renewed each tick); withdraw the rest."""
        chosen = set(sorted(self.owned, reverse=True)[:count])
        withdrawn = [self._key("offer", s) for s in self._offered - chosen]
        if withdrawn:
            await redis.execute_command(b"EVAL", _RELEASE, b"%d" % len(withdrawn), *withdrawn, me)
        for stream in chosen:
            await redis.execute_command(b"SET", self._key("offer", stream), me, b"PX", lease)
        self._offered = chosen

    async def _claim(self, redis: Any, me: bytes, lease: bytes, count: int) -> None:
        taken: list[str] = []
        for stream in self._candidates():
            if len(taken) >= count:
                break
            keys = (
                self._key("lease", stream),
                self._key("offer", stream),
                self._key("owner", stream),
            )
            how, previous = await redis.execute_command(b"EVAL", _CLAIM, b"3", *keys, me, lease)
            if how == b"held":
                continue
            taken.append(stream)
            self.owned.add(stream)
            if how == b"free" and previous not in (b"", me):
                await self._write_takeover(redis, stream, previous.decode())
        if taken:
            log.info("shard {m}: recording {streams}", m=self.member, streams=taken)
            self._follow(taken)

    def _candidates(self) -> list[str]:
        """Streams not owned here, in an order that differs per member (less contention)."""
        rest = [s for s in self.streams if s not in self.owned]
        start = hash(self.member) % len(rest) if rest else 0
        return rest[start:] + rest[:start]

    async def _write_takeover(self, redis: Any, stream: str, previous: str) -> None:
        key = stream_key(self.prefix, self.venue, stream).encode()
        newest = await redis.execute_command(b"XREVRANGE", key, b"+", b"-", b"COUNT", b"1")
        last_id = newest[0][0].decode() if newest else None
        fields = dict(zip(newest[0][1][::2], newest[0][1][1::2], strict=False)) if newest else {}
        recv = fields.get(b"recv_ns")
        self.takeovers += 1
        self._takeover(
            stream,
            {
                "stream": stream,
                "reason": f"shard takeover: {previous} stopped renewing its lease on {stream}",
                "previous_owner": previous,
                "new_owner": self.member,
                "last_entry_id": last_id,
                "last_recv_ns": int(recv) if recv is not None else None,
            },
        )
