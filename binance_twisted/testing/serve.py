"""``python -m binance_twisted fake``: FakeBinance on its own, for scripts in other processes.

A threaded python-binance script cannot start the fake in its own process before its
``Client()`` runs; this serves it from another terminal (or a test's subprocess) and says
how to point a script at it: the URLs, one JSON line for programs, and the lines to paste.
An account is registered for user-data sockets, its key and secret printed.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from twisted.internet import defer

from binance_twisted.testing._server import FakeBinance

__all__ = ["API_KEY", "API_SECRET", "paste_lines", "serve", "serve_until_stopped"]

#: the account ``serve`` registers (a fake's, worth nothing anywhere else)
API_KEY = "fake-api-key-" + "k" * 51
API_SECRET = "fake-api-secret-" + "s" * 48


def paste_lines(fake: FakeBinance) -> list[str]:
    """What a python-binance script sets, before it makes a Client or a manager."""
    e = fake.endpoints
    return [
        "from binance.client import Client  # python-binance, if the script makes a Client",
        f'Client.API_URL = "{e.rest_url}/api"',
        f'Client.FUTURES_URL = "{e.futures_rest_url}/fapi"',
        "from binance_twisted import BinanceSocketManager",
        f'BinanceSocketManager.STREAM_URL = "{e.stream_url}/"  # market sockets',
        f'BinanceSocketManager.FSTREAM_URL = "{e.futures_stream_url}/"  # futures sockets',
        f'BinanceSocketManager.WS_API_URL = "{e.ws_api_url}"  # user sockets, ws_* calls',
        f'api_key, api_secret = "{API_KEY}", "{API_SECRET}"',
    ]


async def serve(fake: FakeBinance, out: TextIO, port: int = 0) -> FakeBinance:
    """Start ``fake`` at ``port`` and print how to use it; returns it, serving."""
    await fake.start(port)
    fake.add_account(API_KEY, secret=API_SECRET)
    e = fake.endpoints
    facts = {
        "port": fake.port,
        "stream_url": e.stream_url,
        "rest_url": e.rest_url,
        "ws_api_url": e.ws_api_url,
        "futures_stream_url": e.futures_stream_url,
        "futures_rest_url": e.futures_rest_url,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
    }
    print(f"FakeBinance on 127.0.0.1:{fake.port} (Ctrl-C stops it)", file=out)
    print(json.dumps(facts), file=out)
    print("Paste into a script, before it makes a Client or a manager:", file=out)
    for line in paste_lines(fake):
        print(f"    {line}", file=out)
    out.flush()
    return fake


async def serve_until_stopped(reactor: Any, fake: FakeBinance, out: TextIO, port: int) -> int:
    """``serve``, then wait for Ctrl-C; the fake stops (connections closed) on the way out."""
    await serve(fake, out, port)
    reactor.addSystemEventTrigger("before", "shutdown", fake.stop)
    await defer.Deferred()  # until Ctrl-C stops the reactor
    return 0
