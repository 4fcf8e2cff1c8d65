"""Cheap per-connection counters, bumped in place on the message path."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ConnectionStats"]


@attrs.define(slots=True)
class ConnectionStats:
    """Counters of one logical connection, across all its sessions.

    Plain attribute increments only: reading them costs nothing on the hot path, and
    :meth:`as_dict` makes the snapshot ``StreamClient.stats()`` returns.
    """

    url: str
    streams: int = 0
    connected: bool = False
    messages: int = 0
    bytes: int = 0
    decode_errors: int = 0
    #: messages over ``ConnectionPolicy.max_message_size`` (each ended its session, code 1009)
    oversized: int = 0
    callback_errors: int = 0
    #: seconds between each stream's last sampled event time ``E`` and its delivery
    lag: dict[str, float] = attrs.field(factory=dict)
    #: whether the lag is past ``ConnectionPolicy.lag_threshold`` (a LAGGING event said so)
    lagging: bool = False
    #: queue mode: messages waiting for the callbacks, and messages dropped as overflow
    queued: int = 0
    dropped: int = 0
    connects: int = 0
    reconnects: int = 0
    #: attempts that ended without a session (refused, DNS, TLS, handshake, timeout)
    failed_attempts: int = 0
    #: why the last attempt or session ended, while the client wanted it open
    last_error: str | None = None
    rotations: int = 0
    stalls: int = 0
    last_message_time: float | None = None
    connected_since: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A snapshot as a plain dict (safe to keep; later changes do not touch it)."""
        return attrs.asdict(self)
