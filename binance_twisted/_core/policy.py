"""How a connection retries, watches and rotates: one frozen value, checked when built."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from binance_twisted.venues import MarketProfile

__all__ = [
    "VENUE",
    "ConnectionPolicy",
    "Overflow",
    "check_count",
    "check_overflow",
    "check_seconds",
]

#: what a full delivery queue drops
Overflow = Literal["drop_oldest", "drop_newest"]

#: ``stall_timeout`` default: the limit the market's ping cadence calls for
VENUE: Literal["venue"] = "venue"


def check_seconds(name: str, value: object) -> None:
    """A timeout is a positive, finite number of seconds (NaN and inf would never fire)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


def check_count(name: str, value: object) -> None:
    """A size or a count is an int >= 1 (``True`` is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def check_overflow(name: str, value: object) -> None:
    """What a full queue drops: ``'drop_oldest'`` or ``'drop_newest'``."""
    if value not in get_args(Overflow):
        raise ValueError(f"{name} must be 'drop_oldest' or 'drop_newest', got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _retries(instance: object, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"max_retries must be None (retry forever) or an int >= 0, got {value!r}")


@attrs.frozen
class ConnectionPolicy:
    """How a connection retries, watches and rotates. Defaults suit Binance in 2026."""

    #: consecutive failed attempts before giving up; ``None`` retries forever
    max_retries: int | None = attrs.field(default=None, validator=_retries)
    #: first retry delay (jittered); Twisted's factor grows it up to ``max_delay``
    initial_delay: float = attrs.field(default=0.25, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    backoff_factor: float = attrs.field(default=2.0, validator=_positive)
    #: each retry delay is multiplied by a uniform factor in ``1 ± jitter``
    jitter: float = attrs.field(default=0.2)

    @jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute, value: float) -> None:
        if not 0 <= value < 1:
            raise ValueError(f"jitter must be in [0, 1), got {value!r}")

    #: seconds a session must stay open before the backoff resets
    healthy_after: float = attrs.field(default=30.0, validator=_positive)
    #: drop a session that received nothing (data or ping) for this long; ``None`` disables;
    #: ``"venue"`` (default): what the market's ping cadence calls for (60 s Spot, 400 s
    #: futures, see :mod:`binance_twisted.venues`)
    stall_timeout: float | Literal["venue"] | None = attrs.field(default=VENUE)

    @stall_timeout.validator
    def _check_stall(self, attribute: attrs.Attribute, value: object) -> None:
        if value == VENUE:
            return
        if isinstance(value, str) or not (value is None or value > 0):  # type: ignore[operator]
            raise ValueError(
                "stall_timeout must be 'venue', None (never) or a positive number of seconds, "
                f"got {value!r}"
            )

    #: rotate make-before-break after this long (Binance ends sessions at 24 h); ``None`` disables
    rotate_after: float | None = attrs.field(default=23 * 3600.0, validator=_positive)
    #: longest a rotation overlaps the old and the new session before switching anyway
    handover_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: control messages per second (Binance closes at more than 5, pongs included)
    control_rate: float = attrs.field(default=4.0, validator=_positive)
    max_streams: int = attrs.field(default=1024, validator=_positive)
    max_url_length: int = attrs.field(default=2000, validator=_positive)
    max_request_length: int = attrs.field(default=8000, validator=_positive)
    #: seconds for TCP, TLS and the WebSocket handshake; at least 1 (autobahn's timers
    #: round deadlines down to whole seconds, so shorter values would fire at once)
    open_timeout: float = attrs.field(default=10.0)
    #: allow ``ws://`` to a host that is not this machine (unencrypted; off by default)
    allow_plaintext: bool = False
    #: largest frame, message (fragments joined) or gunzipped message accepted, in bytes;
    #: a bigger one fails the session with close code 1009 and it reconnects. Binance
    #: documents no limit; its largest stream messages (``!ticker@arr``) are about 1 MB
    max_message_size: int = attrs.field(default=16 * 1024 * 1024)

    #: seconds of delivery lag (now minus a sampled event time ``E``) that make a LAGGING
    #: event; CAUGHT_UP follows under half of it. ``None``: measure only, never report
    lag_threshold: float | None = attrs.field(default=5.0, validator=_positive)
    #: ``None``: messages go straight from the socket to the callbacks (fastest). A number:
    #: they wait in a FIFO of at most that many and reach the callbacks in slices, so the
    #: reactor keeps reading and answering pings while a slow callback catches up
    queue_size: int | None = attrs.field(default=None)
    #: what a full queue drops: the oldest message waiting, or the newest arriving
    queue_overflow: Overflow = attrs.field(default="drop_oldest")

    @queue_size.validator
    def _check_queue_size(self, attribute: attrs.Attribute, value: int | None) -> None:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"queue_size must be None (no queue) or an int >= 1, got {value!r}")

    @queue_overflow.validator
    def _check_overflow(self, attribute: attrs.Attribute, value: str) -> None:
        check_overflow("queue_overflow", value)

    @max_message_size.validator
    def _check_max_message_size(self, attribute: attrs.Attribute, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            raise ValueError(
                f"max_message_size must be an int of at least 1024 (bytes), got {value!r}"
            )

    @open_timeout.validator
    def _check_open_timeout(self, attribute: attrs.Attribute, value: float) -> None:
        if not value >= 1:
            raise ValueError(f"open_timeout must be at least 1 second, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.control_rate > 5:
            raise ValueError(
                f"control_rate must be at most 5 messages per second, got {self.control_rate}"
            )

    def stall_limit(self, market: MarketProfile) -> float | None:
        """The silence limit for a session of ``market``: the venue's unless set here."""
        stall = self.stall_timeout
        return market.stall_timeout if isinstance(stall, str) else stall
