"""Where the bus is and what its keys are called: ``redis://`` URLs and stream key names.

One Redis stream per Binance stream, ``{prefix}:{venue}:{stream}`` (``binance:spot:btcusdt@trade``),
and one per venue for what happened around the frames, ``{prefix}:{venue}:_events``. The venue
is the *market* (``spot``, ``usdm``, ``coinm``), not the host, so a recorder pointed at a local
fake publishes under the same keys as one pointed at Binance, and bots find them either way.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import attrs

__all__ = ["EVENTS", "VENUES", "BusAddress", "stream_key"]

#: The venues a key can name: the markets of :class:`~binance_twisted.StreamClient`.
VENUES = ("spot", "usdm", "coinm")

#: The stream name of the per-venue events stream (not a Binance stream name: those have "@").
EVENTS = "_events"

_DEFAULT_PORT = 6379


@attrs.frozen(repr=False)
class BusAddress:
    """A parsed ``redis://[[user]:password@]host[:port][/db]`` URL (the password never shows)."""

    host: str
    port: int = _DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BusAddress:
        """Read a URL, refusing anything but ``redis://`` with a clear message."""
        if not isinstance(url, str):
            raise TypeError(f"the bus URL must be a string like redis://host:6379/0, got {url!r}")
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(
                "the bus URL must start with redis:// (rediss:// and unix sockets are not "
                f"supported), got {_redacted(url)!r}"
            )
        try:
            port = parts.port or _DEFAULT_PORT
        except ValueError:
            raise ValueError(
                f"the bus URL (redis://…) has a bad port: {_redacted(url)!r}"
            ) from None
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise ValueError(f"the bus URL's (redis://…) database must be a number, got {path!r}")
        if not parts.hostname:
            raise ValueError(f"the bus URL (redis://…) names no host: {_redacted(url)!r}")
        return cls(
            host=parts.hostname,
            port=port,
            db=int(path) if path else 0,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def __repr__(self) -> str:
        return f"<BusAddress {self}>"

    def __str__(self) -> str:
        login = "***@" if self.password is not None else ""
        return f"redis://{login}{self.host}:{self.port}/{self.db}"


def stream_key(prefix: str, venue: str, stream: str) -> str:
    """The Redis key of one Binance stream (or of :data:`EVENTS`) on ``venue``."""
    if venue not in VENUES:
        raise ValueError(f"venue must be one of {', '.join(VENUES)}, got {venue!r}")
    return f"{prefix}:{venue}:{stream}"


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
