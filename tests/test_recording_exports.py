"""Exports and in-process replay: the recorded frames, in order, in each documented shape."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._json import dumps
from binance_twisted.recording import Kind, Record, RecordFileWriter
from binance_twisted.recording.exports import export, replay_into

T0 = 1_796_300_000_000_000_000


class ExportTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.out = Path(self.mktemp())
        writer = RecordFileWriter(self.out / "r.btrec", {"venue": "test"})
        self.frames = []
        for n in range(3):
            payload = dumps({"stream": "btcusdt@trade", "data": {"e": "trade", "t": n}})
            self.frames.append(payload)
            writer.append(Record(Kind.FRAME, "btcusdt@trade", payload, T0 + n, n, 1, n + 1))
        writer.append(
            Record.event(
                Kind.DISCONNECT,
                {"code": 1006, "reason": "x", "clean": False},
                recv_wall_ns=T0 + 5,
                recv_mono_ns=5,
            )
        )
        binary = gzip.compress(dumps({"stream": "ethusdt@trade", "data": {"e": "trade", "t": 9}}))
        writer.append(Record(Kind.FRAME, "ethusdt@trade", binary, T0 + 6, 6, 2, 1, True))
        writer.seal()

    def lines(self, format: str, **options: object) -> list[str]:
        target = self.out / f"export.{format}"
        written = export(self.out, target, format, **options)  # type: ignore[arg-type]
        opener = gzip.open if format == "hftbacktest" else open
        with opener(target, "rt") as f:
            lines = f.read().split("\n")[:-1]
        self.assertEqual(written, len(lines))
        return lines

    def test_jsonl_keeps_every_record_and_its_times(self) -> None:
        rows = [json.loads(line) for line in self.lines("jsonl")]
        self.assertEqual([r["kind"] for r in rows], ["FRAME"] * 3 + ["DISCONNECT", "FRAME"])
        self.assertEqual(rows[0]["frame"], self.frames[0].decode())
        self.assertEqual(rows[3]["details"]["code"], 1006)
        self.assertEqual(json.loads(rows[4]["frame"])["data"]["t"], 9)  # gzip frame inflated
        self.assertEqual(rows[2]["recv_wall_ns"], T0 + 2)

    def test_hftbacktest_lines_are_receive_time_and_frame(self) -> None:
        lines = self.lines("hftbacktest", streams=["btcusdt@trade"])
        self.assertEqual(lines, [f"{T0 + n} {f.decode()}" for n, f in enumerate(self.frames)])

    def test_plain_lines_mark_a_disconnect_with_an_empty_line(self) -> None:
        lines = self.lines("lines")
        self.assertEqual(lines[3], "")
        self.assertEqual(len(lines), 5)

    def test_a_bad_format_is_refused_naming_the_choices(self) -> None:
        with self.assertRaisesRegex(ValueError, "jsonl, hftbacktest, lines"):
            export(self.out, self.out / "x", "csv")

    def test_replay_feeds_the_callbacks_a_client_would_call(self) -> None:
        seen: list[tuple[str, int]] = []
        count = replay_into(self.out, lambda stream, data: seen.append((stream, data["t"])))
        self.assertEqual(count, 4)
        self.assertEqual(
            seen,
            [
                ("btcusdt@trade", 0),
                ("btcusdt@trade", 1),
                ("btcusdt@trade", 2),
                ("ethusdt@trade", 9),
            ],
        )
