"""Stream names and connection URLs, as the fake Binance server reads them (pure).

This is deliberately *not* ``binance_twisted.streams``: the fake parses names on its own,
the way the real server does, so a bug in the client's name builders shows up as a refused
handshake, an error frame or a silent stream instead of being mirrored by shared code.

Two levels, like Binance:

* **well-formed** names (:func:`is_well_formed`) are accepted by ``SUBSCRIBE`` and in URLs;
  anything else is "invalid stream";
* **recognised** names (:func:`recognise`) are the well-formed ones the fake generates
  events for. A well-formed name for an unknown kind or symbol (``btcusdt@nope``,
  ``BTCUSDT@trade``, the retired ``!ticker@arr``) is accepted and stays silent, which is
  what Binance does.

Recognition depends on the venue. A connection whose path starts with a USD-M futures route
(``/public``, ``/market`` or ``/private``, see :data:`ROUTES`) is a futures connection: the
futures-only names ``<symbol>@markPrice[@1s]``, ``<symbol>@depth@500ms``,
``!markPrice@arr[@1s]`` and ``!bookTicker`` are recognised there
(``recognise(name, futures=True)``), on top of every Spot name. On the Spot path they are
well-formed and silent, as on Spot's server. (Diff-depth events also change shape on a
futures route; that is for the publisher to decide, the spec is the same.)
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

import attrs

__all__ = [
    "KLINE_INTERVALS",
    "ROUTES",
    "TICKER_WINDOWS",
    "BadURL",
    "ConnectionURL",
    "StreamSpec",
    "cadence_ms",
    "is_symbol",
    "is_well_formed",
    "parse_connection_url",
    "parse_url",
    "recognise",
]

# Candle intervals; "1M" (month) is case-sensitive against "1m".
KLINE_INTERVALS = (
    "1s",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
TICKER_WINDOWS = ("1h", "4h", "1d")
# USD-M futures route prefixes (the 2026 split of fstream.binance.com): /public/ws…, …
ROUTES = ("public", "market", "private")

# One "token" between @ separators: word characters (any script) plus the punctuation real
# names use (``+08:00``). Whitespace, "/", "@@", a dangling "@" or a "!" inside a name make it
# malformed.
_TOKEN = r"[\w.:+\-]+"
_WELL_FORMED = re.compile(rf"!{_TOKEN}(?:@{_TOKEN})*|{_TOKEN}(?:@{_TOKEN})+")

_INTERVALS = "|".join(map(re.escape, KLINE_INTERVALS))
_WINDOWS = "|".join(TICKER_WINDOWS)
_SYMBOL_KIND = re.compile(
    r"(?P<plain>trade|aggTrade|blockTrade|ticker|miniTicker|bookTicker|avgPrice|referencePrice)"
    r"|(?P<depth>depth)(?:@100ms)?"
    r"|depth(?P<levels>5|10|20)(?:@100ms)?"
    rf"|kline_(?P<interval>{_INTERVALS})(?P<utc8>@\+08:00)?"
    rf"|ticker_(?P<window>{_WINDOWS})"
)
_ALL_MARKET = re.compile(rf"!miniTicker@arr|!ticker_(?P<window>{_WINDOWS})@arr")
_FUTURES_SYMBOL_KIND = re.compile(r"markPrice(?:@1s)?")
_FUTURES_DEPTH = "depth@500ms"
_FUTURES_ALL_MARKET = {
    "!markPrice@arr": "allMarkPrice",
    "!markPrice@arr@1s": "allMarkPrice",
    "!bookTicker": "allBookTicker",
}

_UTC8_MS = 8 * 3600 * 1000


@attrs.frozen
class StreamSpec:
    """A recognised stream: what to generate for it.

    ``kind`` is one of ``trade aggTrade blockTrade ticker miniTicker bookTicker avgPrice
    referencePrice depth partialDepth kline windowTicker allMiniTicker allWindowTicker``,
    or on futures connections also ``markPrice allMarkPrice allBookTicker``.
    ``symbol`` is the lowercase symbol, ``None`` for the all-market ``!…`` streams.
    ``interval`` is the kline interval or the rolling ticker window; ``offset_ms`` the kline
    time zone (``@+08:00``); ``levels`` the partial-depth size.
    """

    kind: str
    symbol: str | None
    interval: str | None = None
    offset_ms: int = 0
    levels: int = 0


class BadURL(ValueError):
    """A WebSocket upgrade the fake refuses, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_well_formed(name: object) -> bool:
    """Whether Binance would accept ``name`` at all (otherwise: "invalid stream")."""
    return isinstance(name, str) and _WELL_FORMED.fullmatch(name) is not None


def is_symbol(symbol: str) -> bool:
    """Whether the fake keeps a market for ``symbol``: lowercase letters and digits, any script.

    Uppercase symbols are well-formed in a stream name but never get data, like on Binance.
    """
    return symbol.isalnum() and symbol == symbol.lower()


#: how often Binance sends each kind of stream (ms), where it batches; the rest (trades,
#: book tickers) goes out as things happen
_CADENCE_MS = {
    "kline": 2000,
    "ticker": 1000,
    "miniTicker": 1000,
    "windowTicker": 1000,
    "allMiniTicker": 1000,
    "allWindowTicker": 1000,
    "avgPrice": 1000,
    "referencePrice": 1000,
    "partialDepth": 1000,
    "markPrice": 3000,
    "allMarkPrice": 3000,
}
_SPEED = re.compile(r"@(\d+)ms$")


def cadence_ms(name: str, spec: StreamSpec) -> int:
    """How often Binance sends ``name``, in ms: ``@100ms`` and ``@1s`` suffixes, 1 s klines,
    else the kind's cadence; 0 for streams sent as things happen. (Diff depth is 0 here: the
    fake sends each tick's changes as one event, which keeps its ids continuous.)"""
    base = _CADENCE_MS.get(spec.kind, 0)
    if not base:
        return 0
    speed = _SPEED.search(name)
    if speed is not None:
        return int(speed[1])
    if name.endswith("@1s") or (spec.kind == "kline" and spec.interval == "1s"):
        return 1000
    return base


@functools.lru_cache(maxsize=16384)
def recognise(name: str, futures: bool = False) -> StreamSpec | None:
    """The :class:`StreamSpec` for a well-formed ``name``, or ``None`` if it stays silent.

    ``futures``: whether the connection is a USD-M futures one (it came in on a route), which
    adds the futures-only names to the Spot ones.
    """
    if futures:
        spec = _recognise_futures_only(name)
        if spec is not None:
            return spec
    if name.startswith("!"):
        match = _ALL_MARKET.fullmatch(name)
        if match is None:
            return None
        window = match["window"]
        if window is None:
            return StreamSpec("allMiniTicker", None)
        return StreamSpec("allWindowTicker", None, interval=window)
    symbol, _, kind = name.partition("@")
    match = _SYMBOL_KIND.fullmatch(kind)
    if match is None or not is_symbol(symbol):
        return None
    if match["plain"]:
        return StreamSpec(match["plain"], symbol)
    if match["depth"]:
        return StreamSpec("depth", symbol)
    if match["levels"]:
        return StreamSpec("partialDepth", symbol, levels=int(match["levels"]))
    if match["interval"]:
        offset = _UTC8_MS if match["utc8"] else 0
        return StreamSpec("kline", symbol, interval=match["interval"], offset_ms=offset)
    return StreamSpec("windowTicker", symbol, interval=match["window"])


def _recognise_futures_only(name: str) -> StreamSpec | None:
    all_market = _FUTURES_ALL_MARKET.get(name)
    if all_market is not None:
        return StreamSpec(all_market, None)
    symbol, _, kind = name.partition("@")
    if not is_symbol(symbol):
        return None
    if _FUTURES_SYMBOL_KIND.fullmatch(kind):
        return StreamSpec("markPrice", symbol)
    if kind == _FUTURES_DEPTH:
        return StreamSpec("depth", symbol)
    return None


@attrs.frozen
class ConnectionURL:
    """What a stream connection's URL asks for (see :func:`parse_connection_url`)."""

    route: str | None
    combined: bool
    streams: list[str]
    listen_keys: list[str]
    events: frozenset[str] | None = None


def parse_url(uri: str) -> tuple[str | None, bool, list[str]]:
    """``(route, combined, streams)`` of :func:`parse_connection_url` (listen keys dropped)."""
    url = parse_connection_url(uri)
    return url.route, url.combined, url.streams


def parse_connection_url(uri: str) -> ConnectionURL:
    """The route, mode, market streams and listen keys of a URI such as ``/stream?streams=a/b``.

    Accepted forms: ``/ws``, ``/ws/<s1>/<s2>…`` (raw) and ``/stream``,
    ``/stream?streams=<s1>/<s2>…`` (combined), each optionally after one USD-M futures
    route, e.g. ``/market/stream?streams=…``; ``route`` is that route (see :data:`ROUTES`)
    or ``None``. ``/pm/ws/<listenKey>`` is portfolio margin (route ``"pm"``, listen keys
    only). Names may be percent-encoded; ``+`` is kept literally (so ``@+08:00`` works
    unencoded). Duplicates are dropped, order kept.

    A name that is not a well-formed stream name but is alphanumeric is a listen key (as in
    ``/ws/<listenKey>`` or ``/stream?streams=<listenKey>``); so is every ``listenKey=``
    query parameter (repeated, or comma-separated). ``events=`` (comma-separated) is the
    event-type filter of a futures ``/private`` URL. Other query parameters, such as
    ``timeUnit``, are ignored. Whether a listen key is live is for the caller to check.

    Raises:
        BadURL: 404 for another path, 400 for a malformed stream name.
    """
    parts = urlsplit(uri)
    segments = unquote(parts.path).split("/")[1:]
    route = None
    if segments and segments[0] in (*ROUTES, "pm"):
        route, segments = segments[0], segments[1:]
    head, names = (segments[0], segments[1:]) if segments else ("", [])
    query = _query(parts.query)
    if head == "ws" and (route != "pm" or names):
        combined = False
    elif head == "stream" and not names and route != "pm":
        combined = True
        names = [name for value in query.get("streams", []) for name in value.split("/")]
    else:
        raise BadURL(404, "Not Found")
    streams, keys = [], [k for v in query.get("listenKey", []) for k in v.split(",") if k]
    for name in filter(None, names):
        if is_well_formed(name) and route != "pm":
            streams.append(name)
        elif name.isascii() and name.isalnum():
            keys.append(name)
        else:
            raise BadURL(400, f"Invalid stream name {name!r}")
    events = None
    if "events" in query:
        events = frozenset(e for v in query["events"] for e in v.replace("/", ",").split(",") if e)
    return ConnectionURL(
        route, combined, list(dict.fromkeys(streams)), list(dict.fromkeys(keys)), events
    )


def _query(query: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for field in query.split("&"):
        key, _, value = field.partition("=")
        if key:
            fields.setdefault(unquote(key), []).append(unquote(value))
    return fields
