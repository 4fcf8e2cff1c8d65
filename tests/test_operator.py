"""The operator's commands as operators run them: real twistd and python processes recording
from a FakeBinance on 127.0.0.1, stopped politely or killed with SIGKILL, then inspected."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from twisted.internet import defer, protocol, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from binance_twisted.recording import Kind, read_records
from binance_twisted.recording.sink import RecordSink
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # the plugin file is found from the checkout too
#: the ``twistd`` script of this environment, as an operator runs it
TWISTD = str(Path(sys.executable).with_name("twistd"))


class _Process(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.output = b""
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(reason.value)  # ProcessDone, or ProcessTerminated and its signal


class OperatorTests(TestCase):
    async def fake(self) -> FakeBinance:
        fake = FakeBinance(reactor, event_interval=0.02)
        await fake.start()
        self.addCleanup(fake.stop)
        return fake

    def twistd(self, fake: FakeBinance, out: Path) -> _Process:
        process = _Process()
        argv = [
            TWISTD,
            "-n",
            "--pidfile=",
            "--logfile=-",
            "binance",
            "record",
            "--streams",
            "bnbbtc@trade,bnbbtc@aggTrade",
            "--out",
            str(out),
            "--stream-url",
            fake.endpoints.stream_url,
            "--status-every",
            "0.2",
        ]
        transport = reactor.spawnProcess(process, TWISTD, argv, env=ENV, path=str(ROOT))
        self.transport = transport
        return process

    @asynchronous
    async def test_twistd_records_until_sigterm_then_every_file_is_sealed(self) -> None:
        """``twistd -n binance record``: status lines while it records; SIGTERM seals the
        file before the process ends; inspect finds it intact."""
        fake = await self.fake()
        out = Path(self.mktemp()).resolve()
        process = self.twistd(fake, out)
        await wait_until(lambda: _frames(process) > 20, 20)
        self.transport.signalProcess(signal.SIGTERM)
        ended = await process.ended
        self.assertIn(b"Server Shut Down.", process.output, ended)
        self.assertEqual(list(out.rglob("*.part")), [])
        records = list(read_records(out))
        frames = [r for r in records if r.kind is Kind.FRAME]
        self.assertGreater(len(frames), 20)
        self.assertEqual({r.stream for r in frames}, {"bnbbtc@trade", "bnbbtc@aggTrade"})
        text, _, code = await getProcessOutputAndValue(
            sys.executable, ["-m", "binance_twisted", "inspect", str(out), "--json"], env=ENV
        )
        self.assertEqual(code, 0)
        (summary,) = json.loads(text)
        self.assertEqual((summary["sealed"], summary["checksum_ok"]), (True, True))

    @asynchronous
    async def test_sigkill_loses_at_most_the_last_flush_and_the_next_start_recovers(self) -> None:
        """Killed mid-recording: the .part reads back to its last whole block without an
        error, and the next start seals it with exactly those records."""
        fake = await self.fake()
        out = Path(self.mktemp()).resolve()
        process = self.twistd(fake, out)
        await wait_until(lambda: out.is_dir() and any(read_records(out)), 20)  # a block is down
        await wait_until(lambda: _frames(process) > 100, 20)
        self.transport.signalProcess(signal.SIGKILL)
        await process.ended
        (part,) = out.rglob("*.part")
        survived = list(read_records(out))
        self.assertGreater(sum(r.kind is Kind.FRAME for r in survived), 0)
        sink = RecordSink(reactor, out, "fake", {})
        await sink.start()
        await sink.stop()
        self.assertFalse(part.exists())
        self.assertEqual(list(read_records(out)), survived)

    @asynchronous
    async def test_python_m_record_for_a_few_seconds(self) -> None:
        """``python -m binance_twisted record … --seconds 1.5`` prints status lines, stops by
        itself and leaves a sealed file that ``export`` turns into hftbacktest input; a bad
        option exits 2 naming it."""
        fake = await self.fake()
        out = Path(self.mktemp()).resolve()
        argv = [
            "-m",
            "binance_twisted",
            "record",
            "--seconds",
            "1.5",
            "--streams",
            "bnbbtc@trade",
            "--out",
            str(out),
            "--stream-url",
            fake.endpoints.stream_url,
            "--status-every",
            "0.5",
            "--zstd-level",
            "-3",
        ]
        text, _, code = await getProcessOutputAndValue(sys.executable, argv, env=ENV)
        self.assertEqual(code, 0, text)
        self.assertIn(b"recording: ", text)
        self.assertEqual(len(list(out.rglob("*.btrec"))), 1)
        exported = out.parent / "trades.gz"
        text, _, code = await getProcessOutputAndValue(
            sys.executable,
            [
                "-m",
                "binance_twisted",
                "export",
                str(out),
                "--format",
                "hftbacktest",
                "--out",
                str(exported),
            ],
            env=ENV,
        )
        self.assertEqual(code, 0, text)
        self.assertTrue(exported.stat().st_size > 0)
        _, err, code = await getProcessOutputAndValue(
            sys.executable,
            ["-m", "binance_twisted", "record", "--streams", "x@y", "--out", "o"],
            env=ENV,
        )
        self.assertEqual(code, 2)
        self.assertIn(b"--streams: invalid stream name 'x@y'", err)
        argv = ["-m", "binance_twisted", "record", "--streams", "bnbbtc@trade", "--out", "o"]
        _, err, code = await getProcessOutputAndValue(
            sys.executable, [*argv, "--zstd-level", "30"], env=ENV
        )
        self.assertEqual(code, 2)
        self.assertIn(b"--zstd-level must be a zstd level from -7 to 19, got 30", err)


class ReplayProcessTests(TestCase):
    ids = list(range(100, 160))

    def recording(self) -> Path:
        from tests.test_replay import recording

        return recording(Path(self.mktemp()).resolve(), self.ids, disconnect_after=1000)

    def spawn(self, argv: list[str]) -> tuple[_Process, Any]:
        """``argv`` as a process, killed at the end of the test if it is still running."""
        process = _Process()
        transport = reactor.spawnProcess(process, argv[0], argv, env=ENV, path=str(ROOT))
        self.addCleanup(lambda: process.ended.called or transport.signalProcess(signal.SIGKILL))
        return process, transport

    async def assert_replayed(self, port: int) -> None:
        """An unchanged StreamClient on the replay gets the recorded trades, in order."""
        from binance_twisted import StreamClient
        from binance_twisted.testing._site import fake_endpoints
        from tests.test_replay import STREAM

        client = StreamClient(reactor, fake_endpoints("127.0.0.1", port, False))
        seen: list[int] = []
        await client.subscribe([STREAM], lambda s, d: seen.append(d["t"]))
        await wait_until(lambda: len(seen) >= len(self.ids))
        await client.close()
        self.assertEqual(seen[: len(self.ids)], self.ids)

    @asynchronous
    async def test_twistd_replays_a_recording_to_an_unchanged_client(self) -> None:
        """``twistd -n binance replay DIR --listen tcp:0``: a StreamClient pointed at it gets
        the recorded trades in order; SIGTERM ends it."""
        argv = [TWISTD, "-n", "--pidfile=", "--logfile=-", "binance", "replay"]
        process, transport = self.spawn(
            [*argv, str(self.recording()), "--listen", "tcp:0:interface=127.0.0.1"]
        )
        await wait_until(lambda: b"Site starting on" in process.output, 20)
        await self.assert_replayed(int(process.output.split(b"Site starting on ")[1].split()[0]))
        transport.signalProcess(signal.SIGTERM)
        await process.ended

    @asynchronous
    async def test_python_m_replay_says_where_and_how_far(self) -> None:
        """``python -m binance_twisted replay DIR --listen tcp:0``: the first line gives the
        URL (the port was 0), a client there gets the trades, progress lines count them; a
        missing recording exits 2 with its path named."""
        argv = [sys.executable, "-m", "binance_twisted", "replay", str(self.recording())]
        process, transport = self.spawn([*argv, "--listen", "tcp:0:interface=127.0.0.1"])
        await wait_until(lambda: b"/stream" in process.output, 20)
        self.assertIn(b"replay: 120 frames of", process.output)
        await self.assert_replayed(int(process.output.split(b"ws://127.0.0.1:")[1].split(b"/")[0]))
        await wait_until(lambda: b"60 of 120 frames sent (50 %)" in process.output, 10)
        transport.signalProcess(signal.SIGINT)
        await process.ended
        missing = str(Path(self.mktemp()))
        _, err, code = await getProcessOutputAndValue(
            sys.executable, ["-m", "binance_twisted", "replay", missing], env=ENV
        )
        self.assertEqual((code, err.strip()), (2, f"replay: no recording at {missing}".encode()))


def _frames(process: _Process) -> int:
    lines = [line for line in process.output.splitlines() if b"recording: " in line]
    if not lines:
        return 0
    return int(lines[-1].split(b"recording: ")[1].split(b" ")[0])
