"""``twistd binance``: the options and ``makeService`` the plugin file points at.

``twisted/plugins/binance_twisted_plugin.py`` names this module lazily (``ServiceMaker``), so
``twistd --help`` lists ``binance`` without importing the library. Sub-commands:

* ``twistd -n binance record --streams btcusdt@trade,btcusdt@depth@100ms --out DIR``
  ``[--market spot|usdm|coinm] [--tld com|us | --testnet | --stream-url URL]``
  ``[--rotate-minutes 60] [--max-file-mb N] [--status-every 10]``
  ``[--status tcp:9108:interface=127.0.0.1]`` (``/metrics``, ``/status``, ``/healthz``)

Bad options fail before anything starts, naming the option and what it accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from binance_twisted import streams as stream_names
from binance_twisted.endpoints import Endpoints

__all__ = ["Options", "RecordOptions", "makeService", "record_service"]

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
        ["out", "o", None, "directory the recordings go to (required)"],
        ["market", None, "spot", "spot, usdm or coinm"],
        ["tld", None, "com", "com (binance.com) or us (binance.us)"],
        ["stream-url", None, None, "a stream base URL (wss://…) instead of the tld's"],
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
            "status",
            None,
            None,
            "serve /metrics, /status, /healthz here (a strports "
            "description, e.g. tcp:9108:interface=127.0.0.1)",
        ],
    ]
    optFlags = [["testnet", None, "use Binance's Spot testnet"]]

    def postOptions(self) -> None:
        for required in ("streams", "out"):
            if not self[required]:
                raise usage.UsageError(f"--{required} is required")
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
        self["endpoints"] = (
            Endpoints.testnet() if self["testnet"] else Endpoints.for_tld(self["tld"])
        )
        if self["market"] == "spot":  # futures names are passed as given, as StreamClient does
            try:
                self["streams"] = [stream_names.validate(name) for name in self["streams"]]
            except ValueError as error:
                raise usage.UsageError(f"--streams: {error}") from None


class Options(usage.Options):
    """``twistd binance <command>``."""

    subCommands = [["record", None, RecordOptions, "record market data streams into files"]]

    def postOptions(self) -> None:
        if self.subCommand is None:
            raise usage.UsageError("name a command: record")


def makeService(options: Options) -> IService:
    """The service of the chosen command (the reactor is the global one, as under twistd)."""
    return record_service(options.subOptions)


def record_service(chosen: RecordOptions, say: Callable[[str], Any] | None = None) -> IService:
    """The :class:`~binance_twisted.twistd.record.RecordService` parsed ``chosen`` asks for;
    ``say`` also gets each status line (the command line prints them)."""
    from twisted.internet import reactor

    from binance_twisted.twistd.record import RecordService

    endpoints = chosen["endpoints"]
    stream_url = chosen["stream-url"]
    if stream_url is not None:
        endpoints = _with_stream_url(endpoints, stream_url, chosen["market"])
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
        status=chosen["status"],
        say=say,
    )


def _with_stream_url(endpoints: Endpoints, url: str, market: str) -> Endpoints:
    field = {"spot": "stream_url", "usdm": "futures_stream_url", "coinm": "coin_futures_stream_url"}
    return endpoints.replace(name="custom", **{field[market]: url.rstrip("/")})
