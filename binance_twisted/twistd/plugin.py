"""``twistd binance``: the options and ``makeService`` the plugin file points at.

``twisted/plugins/binance_twisted_plugin.py`` names this module lazily (``ServiceMaker``), so
``twistd --help`` lists ``binance`` without importing the library. Sub-commands:

* ``twistd -n binance record --streams btcusdt@trade,btcusdt@depth@100ms --out DIR``
  ``[--market spot|usdm|coinm] [--tld com|us | --testnet | --stream-url URL]``
  ``[--rotate-minutes 60] [--max-file-mb N] [--status-every 10]``
  ``[--status tcp:9108:interface=127.0.0.1]`` (``/metrics``, ``/status``, ``/healthz``)
  ``[--publish redis://HOST:PORT/DB [--bus-prefix binance] [--bus-maxlen N]]``: also, or
  instead of ``--out``, publish to Redis Streams (:mod:`binance_twisted.bus`);
  ``[--shard-group NAME [--lease-seconds 10]]`` splits the streams among the recorders of a
  group, with failover (:mod:`binance_twisted.bus.shard`)
* ``twistd -n binance replay DIR [--listen tcp:9443:interface=127.0.0.1] [--speed 0|1|N]``
  ``[--loop]``: the recording served as Binance's streams (``ws://``; point clients'
  stream URL at it)

Bad options fail before anything starts, naming the option and what it accepts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from binance_twisted import streams as stream_names
from binance_twisted.bus.address import BusAddress
from binance_twisted.bus.publisher import DEFAULT_MAXLEN
from binance_twisted.endpoints import Endpoints
from binance_twisted.recording.format import DEFAULT_LEVEL, check_level

__all__ = ["Options", "RecordOptions", "ReplayOptions", "makeService", "record_service"]

_MARKETS = ("spot", "usdm", "coinm")


def _positive(name: str, kind: type = float) -> Any:
    def check(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise usage.UsageError(f"--{name} must be a number, got {value!r}") from None
        if not number > 0:
            raise usage.UsageError(f"--{name} must be positive, got {value!r}")
        return number

    return check


class RecordOptions(usage.Options):
    """``twistd binance record``: record streams into crash-safe files."""

    optParameters = [
        ["streams", "s", None, "comma-separated stream names (required)"],
        ["out", "o", None, "directory the recordings go to (--out, --publish or both)"],
        ["publish", None, None, "also publish to Redis Streams at this redis://host:port/db URL"],
        ["bus-prefix", None, "binance", "key prefix on the bus: PREFIX:VENUE:STREAM"],
        [
            "bus-maxlen",
            None,
            DEFAULT_MAXLEN,
            "entries each stream keeps in Redis (XADD MAXLEN ~)",
            _positive("bus-maxlen", int),
        ],
        [
            "shard-group",
            None,
            None,
            "split --streams with the other recorders of this group (needs --publish)",
        ],
        [
            "lease-seconds",
            None,
            10.0,
            "a shard's lease: a dead recorder's streams move after this",
            _positive("lease-seconds"),
        ],
        ["market", None, "spot", "spot, usdm or coinm"],
        ["tld", None, "com", "com (binance.com) or us (binance.us)"],
        ["stream-url", None, None, "a stream base URL (wss://…) instead of the tld's"],
        ["rest-url", None, None, "a REST base URL (https://…) for depth snapshots"],
        [
            "rotate-minutes",
            None,
            60,
            "start a new file this often",
            _positive("rotate-minutes", int),
        ],
        [
            "max-file-mb",
            None,
            None,
            "also start a new file past this size",
            _positive("max-file-mb"),
        ],
        ["status-every", None, 10.0, "seconds between status lines", _positive("status-every")],
        [
            "zstd-level",
            None,
            DEFAULT_LEVEL,
            "zstd level of the files: 1 or below for less CPU, higher for smaller files",
            int,
        ],
        ["keep-days", None, None, "delete sealed files older than this", _positive("keep-days")],
        [
            "keep-gb",
            None,
            None,
            "delete the oldest sealed files beyond this total",
            _positive("keep-gb"),
        ],
        [
            "status",
            None,
            None,
            "serve /metrics, /status, /healthz here (a strports "
            "description, e.g. tcp:9108:interface=127.0.0.1)",
        ],
    ]
    optFlags = [["testnet", None, "use Binance's Spot testnet"]]

    def postOptions(self) -> None:
        if not self["streams"]:
            raise usage.UsageError("--streams is required")
        if not self["out"] and not self["publish"]:
            raise usage.UsageError("--out or --publish is required (or both)")
        if self["publish"]:
            try:
                BusAddress.parse(self["publish"])
            except ValueError as error:
                raise usage.UsageError(f"--publish: {error}") from None
        group = self["shard-group"]
        if group is not None and not self["publish"]:
            raise usage.UsageError("--shard-group needs --publish (the leases live in Redis)")
        if group is not None and (not group or ":" in group):
            raise usage.UsageError(f"--shard-group must be a name without ':', got {group!r}")
        if not 1 <= self["lease-seconds"] <= 600:
            raise usage.UsageError("--lease-seconds must be 1 to 600")
        try:
            check_level("--zstd-level", self["zstd-level"])
        except ValueError as error:
            raise usage.UsageError(str(error)) from None
        self["streams"] = [s.strip() for s in self["streams"].split(",") if s.strip()]
        if self["market"] not in _MARKETS:
            raise usage.UsageError(
                f"--market must be one of {', '.join(_MARKETS)}, got {self['market']!r}"
            )
        if self["tld"] not in ("com", "us"):
            raise usage.UsageError(f"--tld must be com or us, got {self['tld']!r}")
        url = self["stream-url"]
        if url is not None and not url.startswith(("wss://", "ws://")):
            raise usage.UsageError(f"--stream-url must start with wss:// or ws://, got {url!r}")
        rest = self["rest-url"]
        if rest is not None and not rest.startswith(("https://", "http://")):
            raise usage.UsageError(f"--rest-url must start with https:// or http://, got {rest!r}")
        self["endpoints"] = (
            Endpoints.testnet() if self["testnet"] else Endpoints.for_tld(self["tld"])
        )
        if self["market"] == "spot":  # futures names are passed as given, as StreamClient does
            try:
                self["streams"] = [stream_names.validate(name) for name in self["streams"]]
            except ValueError as error:
                raise usage.UsageError(f"--streams: {error}") from None


class ReplayOptions(usage.Options):
    """``twistd binance replay DIR``: serve a recording as a local Binance."""

    optParameters = [
        ["listen", "l", "tcp:9443:interface=127.0.0.1", "where to listen (strports)"],
        [
            "speed",
            None,
            0.0,
            "0: as fast as clients read; 1: recorded timing; N: N x faster",
            float,
        ],
    ]
    optFlags = [["loop", None, "start over at the end of the recording"]]

    def parseOptions(self, options: list[str] | None = None) -> None:
        """Options may follow the path too (``replay DIR --listen …``): getopt stops at the
        first argument, so the path is moved after the options first."""
        args = list(sys.argv[1:] if options is None else options)
        takes_value = {"--listen", "-l", "--speed"}
        for index, arg in enumerate(args):
            if not arg.startswith("-") and (index == 0 or args[index - 1] not in takes_value):
                args.append(args.pop(index))
                break
        super().parseOptions(args)

    def parseArgs(self, path: str) -> None:  # type: ignore[override]  # usage.Options passes the args
        self["path"] = path

    def postOptions(self) -> None:
        if not self["speed"] >= 0:
            raise usage.UsageError(f"--speed must be 0 or positive, got {self['speed']!r}")
        if not Path(self["path"]).exists():
            raise usage.UsageError(f"no recording at {self['path']}")


class Options(usage.Options):
    """``twistd binance <command>``."""

    subCommands = [
        ["record", None, RecordOptions, "record market data streams into files"],
        ["replay", None, ReplayOptions, "serve a recording as a local Binance"],
    ]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("name a command: record or replay")


def makeService(options: Options) -> IService:
    """The service of the chosen command (the reactor is the global one, as under twistd)."""
    if options.subCommand == "replay":
        return replay_service(options.subOptions)
    return record_service(options.subOptions)


def replay_service(chosen: ReplayOptions) -> IService:
    """A listening service replaying ``chosen["path"]`` (see ``recording.replay``)."""
    from twisted.application.strports import service as listening
    from twisted.internet import reactor

    from binance_twisted.recording.replay import replay_site

    site = replay_site(reactor, chosen["path"], chosen["speed"], chosen["loop"])
    return listening(chosen["listen"], site, reactor=reactor)


def record_service(chosen: RecordOptions, say: Callable[[str], Any] | None = None) -> IService:
    """The :class:`~binance_twisted.twistd.record.RecordService` parsed ``chosen`` asks for;
    ``say`` also gets each status line (the command line prints them)."""
    from twisted.internet import reactor

    from binance_twisted.twistd.record import RecordService

    endpoints = chosen["endpoints"]
    stream_url, rest_url = chosen["stream-url"], chosen["rest-url"]
    if stream_url is not None:
        endpoints = _with_url(endpoints, "stream", stream_url, chosen["market"])
    if rest_url is not None:
        endpoints = _with_url(endpoints, "rest", rest_url, chosen["market"])
    max_mb = chosen["max-file-mb"]
    return RecordService(
        reactor,
        endpoints,
        chosen["streams"],
        chosen["out"],
        market=chosen["market"],
        rotate_seconds=int(chosen["rotate-minutes"]) * 60,
        max_file_bytes=int(max_mb * 1_000_000) if max_mb else None,
        status_every=chosen["status-every"],
        keep_seconds=chosen["keep-days"] * 86400 if chosen["keep-days"] else None,
        keep_bytes=int(chosen["keep-gb"] * 1e9) if chosen["keep-gb"] else None,
        zstd_level=chosen["zstd-level"],
        status=chosen["status"],
        say=say,
        publish=chosen["publish"],
        bus_prefix=chosen["bus-prefix"],
        bus_maxlen=chosen["bus-maxlen"],
        shard_group=chosen["shard-group"],
        lease_seconds=chosen["lease-seconds"],
    )


def _with_url(endpoints: Endpoints, kind: str, url: str, market: str) -> Endpoints:
    prefix = {"spot": "", "usdm": "futures_", "coinm": "coin_futures_"}[market]
    return endpoints.replace(name="custom", **{f"{prefix}{kind}_url": url.rstrip("/")})
