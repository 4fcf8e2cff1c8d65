"""Command line: ``demo``, ``fake``, ``record``, ``replay``, ``inspect`` and ``export``.

``python -m binance_twisted record --streams … --out DIR`` records as ``twistd -n binance
record`` does (:mod:`binance_twisted.twistd`); ``inspect DIR`` says what a recording holds.

The demo needs no network and no account: it starts :class:`~binance_twisted.testing.FakeBinance`
on 127.0.0.1, subscribes a :class:`~binance_twisted.StreamClient` to trades, keeps a local order
book in sync with :class:`~binance_twisted.depthcache.DepthSynchroniser` (diff stream + REST
snapshot), prints trades and the top of the book, and ends with the connection counters.
``--live`` points the same code at the real Binance instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime

from binance_twisted import streams
from binance_twisted.depth.book import OrderBook
from binance_twisted.depth.synchroniser import DepthSynchroniser
from binance_twisted.endpoints import Endpoints
from binance_twisted.events import ConnectionEvent
from binance_twisted.market.client import StreamClient
from binance_twisted.rest import RestClient

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m binance_twisted")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="stream trades and a local order book from a built-in fake Binance"
    )
    demo.add_argument("--symbol", default="btcusdt", help="symbol to follow (default btcusdt)")
    demo.add_argument(
        "--seconds", type=float, default=5.0, help="how long to stream; 0 = until Ctrl-C"
    )
    demo.add_argument(
        "--live", action="store_true", help="connect to the real stream.binance.com instead"
    )
    record = commands.add_parser(
        "record",
        help="record streams into crash-safe files (the options of twistd binance record)",
        add_help=False,
    )
    record.add_argument("--seconds", type=float, default=0, help="stop after this long")
    commands.add_parser(
        "replay",
        help="serve a recording as a local Binance (the options of twistd binance replay)",
        add_help=False,
    )
    fake = commands.add_parser(
        "fake", help="serve a FakeBinance on 127.0.0.1 for scripts in other processes"
    )
    fake.add_argument("--port", type=_port, default=0, help="TCP port (default: a free one)")
    fake.add_argument(
        "--symbols", default="btcusdt,ethusdt,bnbusdt,bnbbtc,ethbtc", help="comma-separated"
    )
    fake.add_argument(
        "--event-interval", type=float, default=0.1, help="seconds between market events"
    )
    fake.add_argument(
        "--fast", action="store_true", help="every stream at every tick (not Binance's cadence)"
    )
    fake.add_argument(
        "--any-symbol", action="store_true", help="invent a market for any symbol asked about"
    )
    inspect = commands.add_parser(
        "inspect", help="what a recording holds and is it intact, or (--redis) what the bus holds"
    )
    inspect.add_argument("path", nargs="?", help="a recording file or directory")
    inspect.add_argument("--redis", help="instead: the bus at this redis:// URL, shard groups")
    inspect.add_argument("--venue", default="spot", help="with --redis: spot, usdm or coinm")
    inspect.add_argument("--prefix", default="binance", help="with --redis: the key prefix")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    export = commands.add_parser("export", help="a recording as JSON lines, hftbacktest input…")
    export.add_argument("path", help="a recording file or directory")
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--format", default="jsonl", help="jsonl, hftbacktest or lines")
    export.add_argument("--streams", help="comma-separated streams to keep (default: all)")
    return parser


class _Printer:
    """Prints each trade, the top of the local book after each update, and state changes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.trades = 0
        self.updates = 0
        #: set once the summary is printed: what the shutdown brings is not shown
        self.quiet = False

    def on_message(self, stream: str, data: Any) -> None:
        if self.quiet:
            return
        self.trades += 1
        print(f"{data['s']} trade #{data['t']}: {data['q']} @ {data['p']}", file=self.out)

    def on_book(self, book: OrderBook) -> None:
        if self.quiet:
            return
        self.updates += 1
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        bids, asks = book.depth()
        print(
            f"{book.symbol} book #{book.update_id}: bid {bid[1]} @ {bid[0]} | "
            f"ask {ask[1]} @ {ask[0]} | spread {book.spread()} ({bids}/{asks} levels)",
            file=self.out,
        )

    def on_book_state(self, state: str, detail: dict) -> None:
        if self.quiet:
            return
        print(f"[book] {state} {detail or ''}".rstrip(), file=self.out)

    def on_event(self, event: ConnectionEvent) -> None:
        if self.quiet:
            return
        detail = f" ({event.reason})" if event.reason else ""
        print(f"[{event.connection}] {event.kind.value}{detail}", file=self.out)


async def demo(reactor: IReactorTime, options: argparse.Namespace, out: TextIO) -> None:
    """Stream for ``options.seconds`` (from the start, connected or not) and print the
    counters; Ctrl-C prints them too. The fake is stopped afterwards."""
    symbol = streams.check_symbol(options.symbol)
    fake = None
    if options.live:
        endpoints = Endpoints.for_tld("com")
    else:
        from binance_twisted.testing import FakeBinance

        fake = FakeBinance(reactor, event_interval=0.25)
        await fake.start()
        endpoints = fake.endpoints
        print(f"FakeBinance listening on {endpoints.stream_url}", file=out)
    client = StreamClient(reactor, endpoints)
    printer = _Printer(out)
    book = DepthSynchroniser(
        reactor,
        client,
        RestClient(reactor, endpoints.rest_url),
        symbol,
        limit=100,
        on_update=printer.on_book,
        on_state=printer.on_book_state,
    )

    async def stream() -> None:
        subscription = await client.subscribe(
            [streams.trade(symbol)], printer.on_message, printer.on_event
        )
        print(f"subscribed to {', '.join(subscription.streams)}", file=out)
        await book.start()

    def summarise() -> None:
        if printer.quiet:
            return
        printer.quiet = True  # what the shutdown itself does is not news
        for name, counters in client.stats().items():
            problems = ""
            if counters["failed_attempts"]:
                problems = (
                    f"; {counters['failed_attempts']} failed connection attempts, "
                    f"last error: {counters['last_error']}"
                )
            print(
                f"{name}: {counters['messages']} messages, {counters['bytes']} bytes, "
                f"{counters['reconnects']} reconnects{problems}; "
                f"{printer.trades} trades and {printer.updates} book updates printed; "
                f"book {book.state}, {book.gaps} gaps",
                file=out,
            )

    stopping: defer.Deferred[None] = defer.Deferred()
    cleaned: defer.Deferred[None] = defer.Deferred()

    def interrupted() -> defer.Deferred[None]:
        summarise()
        stopping.callback(None)
        return cleaned  # the reactor waits until the connections are closed

    trigger = reactor.addSystemEventTrigger(  # type: ignore[attr-defined]
        "before", "shutdown", interrupted
    )
    started = defer.ensureDeferred(stream())
    started.addErrback(
        lambda f: (
            f.check(defer.CancelledError)
            or print(f"could not start: {f.getErrorMessage()}", file=out)
        )
    )
    timer = task.deferLater(reactor, options.seconds, lambda: None) if options.seconds > 0 else None
    try:
        # counted from now, connected or not: no network must not mean forever
        waits = [stopping] if timer is None else [stopping, timer]
        await defer.DeferredList(waits, fireOnOneCallback=True, consumeErrors=True)
        summarise()
    finally:
        if not stopping.called:
            reactor.removeSystemEventTrigger(trigger)  # type: ignore[attr-defined]
        if timer is not None and not timer.called:
            timer.cancel()
        started.cancel()
        await book.stop()
        await client.close()
        if fake is not None:
            await fake.stop()
        cleaned.callback(None)


def _port(text: str) -> int:
    """``--port``: 0 (any free port) to 65535."""
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 (any free port) to 65535, got {port}")
    return port


def _react(command: Callable[[Any], Coroutine[Any, Any, int]]) -> None:
    """Run ``command`` under the reactor; exit with the status it returns (``task.react``
    alone exits 0 whatever a command returns)."""

    def status(code: int) -> None:
        if code:
            raise SystemExit(code)

    task.react(lambda reactor: defer.ensureDeferred(command(reactor)).addCallback(status))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m binance_twisted`` (and the ``binance-twisted`` script)."""
    options, rest = _parser().parse_known_args(argv)
    if options.command == "inspect" and options.redis is not None:
        from binance_twisted.bus.inspect import inspect_bus

        try:
            check = inspect_bus(options.redis, options.venue, options.prefix, options.json)
        except ValueError as error:
            _parser().error(f"inspect: {error}")
        _react(lambda reactor: check(reactor, sys.stdout))
    if options.command == "inspect":
        from binance_twisted.twistd.cli import inspect

        if options.path is None:
            _parser().error("inspect: give a recording's path, or --redis URL")
        sys.exit(inspect(options.path, sys.stdout, options.json))
    if options.command == "export":
        from binance_twisted.twistd.cli import export

        keep = options.streams.split(",") if options.streams else None
        sys.exit(export(options.path, options.out, options.format, keep, sys.stdout))
    if options.command == "fake":
        from binance_twisted.testing import FakeBinance
        from binance_twisted.testing.serve import serve_until_stopped

        try:  # the fake checks its options here, before the reactor runs: a usage error
            fake = FakeBinance(
                symbols=[s for s in options.symbols.split(",") if s],
                event_interval=options.event_interval,
                cadence="tick" if options.fast else "binance",
                strict_symbols=not options.any_symbol,
            )
        except ValueError as error:
            _parser().error(f"fake: {error}")
        _react(lambda reactor: serve_until_stopped(reactor, fake, sys.stdout, options.port))
    if options.command == "replay":
        from binance_twisted.twistd.cli import replay

        _react(lambda reactor: replay(reactor, rest, sys.stdout))
    if options.command == "record":
        from binance_twisted.twistd.cli import parse_record, record

        chosen = parse_record(rest)
        _react(lambda reactor: record(reactor, chosen, sys.stdout, options.seconds))
    if rest:
        _parser().error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        streams.check_symbol(options.symbol)
    except ValueError as error:
        _parser().error(f"--symbol: {error}")

    def run(reactor: IReactorTime) -> defer.Deferred:
        return defer.ensureDeferred(demo(reactor, options, sys.stdout))

    task.react(run)


if __name__ == "__main__":
    main()
