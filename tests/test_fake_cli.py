"""Legacy threaded code against a fake Binance, as a user runs it: ``python -m
binance_twisted fake`` in one process and a 0.x-style script in another; and the
in-process helper for threaded tests."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import threading
from typing import Any

from twisted.internet import reactor, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from binance_twisted import BinanceSocketManager
from binance_twisted.legacy.fake import ThreadedFakeBinance
from tests.support import asynchronous, wait_until
from tests.test_operator import ENV, ROOT, _Process

SCRIPT = """
import json, sys, threading
from binance_twisted import BinanceSocketManager

facts = json.loads(sys.argv[1])
# the lines `python -m binance_twisted fake` says to paste (python-binance's Client aside)
BinanceSocketManager.STREAM_URL = facts["stream_url"] + "/"
BinanceSocketManager.WS_API_URL = facts["ws_api_url"]
trade, report = threading.Event(), threading.Event()

def on_trade(msg):
    if msg.get("e") == "trade":
        trade.set()

def on_user(msg):
    if msg.get("e") == "executionReport":
        report.set()

bm = BinanceSocketManager(None, api_key=facts["api_key"], api_secret=facts["api_secret"])
print(bm.start_trade_socket("BTCUSDT", on_trade), bm.start_user_socket(on_user), flush=True)
bm.start()
print("trade seen:", trade.wait(10), flush=True)
for _ in range(20):  # the user-data subscription may still be on its way
    order = bm.ws_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    if report.wait(0.5):
        break
print("order", order["status"], "report seen:", report.is_set(), flush=True)
bm.close()
"""


class FakeProcessTests(TestCase):
    @asynchronous
    async def test_a_threaded_script_against_python_m_fake(self) -> None:
        """The fake prints one JSON line with its URLs and an account; a legacy script
        redirected by the printed lines gets trades, places an order and sees its report
        on the user socket, then exits."""
        fake = _Process()
        argv = [sys.executable, "-m", "binance_twisted", "fake", "--event-interval", "0.02"]
        transport = reactor.spawnProcess(fake, sys.executable, argv, env=ENV, path=str(ROOT))
        self.addCleanup(lambda: fake.ended.called or transport.signalProcess(signal.SIGKILL))
        await wait_until(lambda: b"Paste into a script" in fake.output, 20)
        lines = fake.output.decode().splitlines()
        facts = json.loads(lines[1])
        self.assertEqual(facts["ws_api_url"], f"ws://127.0.0.1:{facts['port']}/ws-api/v3")
        self.assertIn(
            f'BinanceSocketManager.WS_API_URL = "{facts["ws_api_url"]}"', fake.output.decode()
        )
        path = self.mktemp() + ".py"
        with open(path, "w") as script:
            script.write(textwrap.dedent(SCRIPT))
        out, err, code = await getProcessOutputAndValue(
            "timeout", ["60", sys.executable, path, json.dumps(facts)], env=ENV
        )
        self.assertEqual(code, 0, out.decode() + err.decode())
        self.assertEqual(
            out.decode().splitlines(),
            ["btcusdt@trade user", "trade seen: True", "order FILLED report seen: True"],
        )
        transport.signalProcess(signal.SIGTERM)
        await fake.ended

    @asynchronous
    async def test_bad_options_are_usage_errors(self) -> None:
        for argv, message in (
            (["--port", "70000"], b"argument --port: must be 0 (any free port) to 65535"),
            (["--symbols", "bnb btc"], b"symbols must be letters and digits"),
            (["--event-interval", "0"], b"event_interval must be positive"),
        ):
            _, err, code = await getProcessOutputAndValue(
                sys.executable, ["-m", "binance_twisted", "fake", *argv], env=ENV
            )
            self.assertEqual(code, 2, err)
            self.assertIn(message, err)


class ThreadedFakeTests(TestCase):
    @asynchronous
    async def test_a_threaded_test_starts_the_fake_without_touching_the_reactor(self) -> None:
        """From a user thread: the fake starts on the library's reactor thread, a manager
        streams from it, a fault runs through call(), and leaving the block stops it."""

        def user() -> tuple[Any, ...]:
            seen = threading.Event()
            with ThreadedFakeBinance(event_interval=0.02) as fake:
                bm = BinanceSocketManager(None, endpoints=fake.endpoints)
                bm.start_trade_socket("BNBBTC", lambda msg: seen.set())
                bm.start()
                streamed = seen.wait(10)
                dropped = fake.call(lambda f: f.drop_all())
                bm.close()
                port = fake.fake.port
            return streamed, dropped, port

        streamed, dropped, port = await threads.deferToThread(user)
        self.assertEqual((streamed, dropped), (True, 1))
        self.assertGreater(port, 0)
