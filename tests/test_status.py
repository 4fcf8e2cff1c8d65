"""The status site over real HTTP: /metrics, /status.json, /status, /healthz, for a stream
client and a recorder against FakeBinance, and the reactor's tick lag on a Clock."""

from __future__ import annotations

import json
from pathlib import Path

import treq
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from binance_twisted import StreamClient
from binance_twisted.recording.recorder import Recorder
from binance_twisted.recording.sink import RecordSink
from binance_twisted.testing import FakeBinance
from binance_twisted.twistd.status import ReactorLag, StatusSource, status_resource
from tests.support import asynchronous, wait_until


class StatusSiteTests(TestCase):
    async def serve(self, source: StatusSource) -> str:
        port = reactor.listenTCP(0, Site(status_resource(source)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}"

    async def get(self, url: str) -> tuple[int, str]:
        response = await treq.get(url, persistent=False)
        return response.code, (await response.text())

    @asynchronous
    async def test_pages_of_a_recorder_while_it_records_and_after_its_stream_is_gone(self) -> None:
        """Metrics carry the connection, recorder and writer counters by name; status.json the
        same snapshot; the HTML page shows the streams; healthz turns 503 when the connection
        is down."""
        fake = FakeBinance(reactor, event_interval=0.02)
        await fake.start()
        self.addCleanup(fake.stop)
        sink = RecordSink(reactor, Path(self.mktemp()), "spot", {}, flush_interval=0.1)
        await sink.start()
        self.addCleanup(sink.stop)
        client = StreamClient(reactor, fake.endpoints)
        self.addCleanup(client.close)
        recorder = Recorder(client, ["bnbbtc@trade"], sink.put)
        await recorder.start()
        base = await self.serve(StatusSource([client], recorder, sink))
        await wait_until(lambda: recorder.frames["bnbbtc@trade"] > 5 and sink.stats.bytes_written)

        code, metrics = await self.get(base + "/metrics")
        self.assertEqual(code, 200)
        for line in (
            'binance_twisted_connected{connection="spot-1"} 1.0',
            'binance_twisted_recorded_frames_total{stream="bnbbtc@trade"}',
            "binance_twisted_written_bytes_total",
            'binance_twisted_problems_total{connection="spot-1",kind="oversized"} 0.0',
            "binance_twisted_free_disk_bytes",
        ):
            self.assertIn(line, metrics)
        code, text = await self.get(base + "/status.json")
        status = json.loads(text)
        self.assertTrue(status["healthy"])
        self.assertGreater(status["recorder"]["frames"]["bnbbtc@trade"], 5)
        self.assertEqual(status["writer"]["dropped"], 0)
        code, page = await self.get(base + "/status")
        self.assertEqual(code, 200)
        self.assertIn("bnbbtc@trade", page)
        self.assertIn("healthy", page)
        self.assertEqual(await self.get(base + "/healthz"), (200, "ok\n"))
        fake.stall()
        fake.drop_all()
        await wait_until(lambda: not client.stats()["spot-1"]["connected"])
        self.assertEqual((await self.get(base + "/healthz"))[0], 503)
        fake.resume()

    @asynchronous
    async def test_a_plain_stream_client_gets_the_same_site(self) -> None:
        """No recorder: the connection metrics alone."""
        fake = FakeBinance(reactor, event_interval=0.02)
        await fake.start()
        self.addCleanup(fake.stop)
        client = StreamClient(reactor, fake.endpoints)
        self.addCleanup(client.close)
        await client.subscribe(["bnbbtc@trade"], lambda s, d: None)
        base = await self.serve(StatusSource([client]))
        code, metrics = await self.get(base + "/metrics")
        self.assertEqual(code, 200)
        self.assertIn('binance_twisted_messages_total{connection="spot-1"}', metrics)
        self.assertNotIn("recorded_frames", metrics)


class ReactorLagTests(SynchronousTestCase):
    def test_lag_is_how_late_the_timer_fired(self) -> None:
        clock = Clock()
        lag = ReactorLag(clock, every=1.0)
        lag.start()
        clock.advance(1.0)
        self.assertEqual(lag.lag, 0.0)
        clock.advance(1.75)  # a reactor busy for 0.75 s past the tick
        self.assertAlmostEqual(lag.lag, 0.75)
        self.assertAlmostEqual(lag.max_lag, 0.75)
        lag.stop()
        self.assertEqual(clock.getDelayedCalls(), [])
