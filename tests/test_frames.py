"""RFC 6455 on the receiving side, through both frame paths of ``SessionProtocol``.

Plain final text frames are cut out by the fast path; everything else goes to autobahn's
parser. Each test feeds raw server bytes to a client whose real handshake is done (iosim,
no sockets), split every way a TCP stream may split them, and checks what a user sees:
the messages, the counters, the pongs, and a failed connection where the RFC says so.
"""

from __future__ import annotations

import struct

from autobahn.websocket.protocol import WebSocketProtocol
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.protocol import SessionProtocol
from binance_twisted._json import dumps
from tests.support import Harness, trade
from tests.test_protocol import TRADES, converse

OPEN = WebSocketProtocol.STATE_OPEN


def frame(
    payload: bytes,
    opcode: int = 1,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    width: int | None = None,
) -> bytes:
    """One frame as a server writes it; ``width`` forces a 7-, 16- or 64-bit length."""
    size = len(payload)
    width = width or (7 if size < 126 else 16 if size < 65536 else 64)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    masked = 0x80 if mask else 0
    if width == 7:
        head += bytes([masked | size])
    elif width == 16:
        head += bytes([masked | 126]) + struct.pack("!H", size)
    else:
        head += bytes([masked | 127]) + struct.pack("!Q", size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def message(n: int, pad: int = 0) -> bytes:
    data = trade(n) | ({"pad": "x" * pad} if pad else {})
    return dumps({"stream": TRADES, "data": data})


def opened(limit: int | None = None) -> tuple[Harness, SessionProtocol]:
    """A client after a real handshake; ``limit`` lowers its message size limit (the
    policy's floor is 1 KiB; autobahn copied the limits when the session opened)."""
    harness, pump = converse([])
    client = pump.client
    if limit is not None:
        client.maxMessagePayloadSize = client.maxFramePayloadSize = limit
    return harness, client


def ids(harness: Harness) -> list[int]:
    return [data["t"] for _, data in harness.received]


class SplitTests(SynchronousTestCase):
    def feed(self, chunks: list[bytes]) -> tuple[Harness, SessionProtocol]:
        harness, client = opened()
        for chunk in chunks:
            client.dataReceived(chunk)
        return harness, client

    def test_a_frame_split_at_every_byte_boundary_arrives_once(self) -> None:
        """7-, 16- and 64-bit lengths, and a ping between them, cut at every byte of the
        headers and around them: every message once, in order, counted exactly."""
        small, medium, large = message(1), message(2, pad=300), message(3, pad=70_000)
        ping = frame(b"hi", opcode=9)
        stream = frame(small) + frame(medium) + ping + frame(large) + frame(message(4))
        heads = [0, len(frame(small)), len(frame(small)) + len(frame(medium)) + len(ping)]
        cuts = sorted({c for h in heads for c in range(h, h + 12)} | {len(stream) - 1})
        for cut in cuts:
            harness, client = self.feed([stream[:cut], stream[cut:]])
            self.assertEqual(ids(harness), [1, 2, 3, 4], cut)
            stats = harness.connection.stats
            payloads = [small, medium, large, message(4)]
            self.assertEqual(stats.messages, 4, cut)
            self.assertEqual(stats.bytes, sum(map(len, payloads)), cut)
            self.assertEqual(client.state, OPEN, cut)

    def test_byte_by_byte(self) -> None:
        stream = b"".join(frame(message(n, pad=n * 40)) for n in range(1, 6))
        harness, _ = self.feed([stream[i : i + 1] for i in range(len(stream))])
        self.assertEqual(ids(harness), [1, 2, 3, 4, 5])

    def test_a_chunk_of_many_frames_is_read_in_one_go(self) -> None:
        stream = b"".join(frame(message(n)) for n in range(100))
        harness, client = self.feed([stream])
        self.assertEqual(ids(harness), list(range(100)))
        self.assertEqual(client.data, b"")

    def test_big_frames_gathered_across_many_reads_arrive_whole_and_in_order(self) -> None:
        """Two 200 KB frames, a ping and a small frame, read 7,000 bytes at a time (the
        big ones are gathered by the fast path): every message once, in order, counted
        exactly, the ping answered, nothing left over."""
        big1, big2 = message(1, pad=200_000), message(2, pad=200_000)
        stream = frame(big1) + frame(big2) + frame(b"hi", opcode=9) + frame(message(3))
        harness, client = opened()
        harness.clock.advance(5)
        for i in range(0, len(stream), 7000):
            client.dataReceived(stream[i : i + 7000])
        self.assertEqual(ids(harness), [1, 2, 3])
        stats = harness.connection.stats
        self.assertEqual(
            (stats.messages, stats.bytes), (3, len(big1) + len(big2) + len(message(3)))
        )
        self.assertEqual(client.data, b"")
        self.assertIsNone(client._pieces)
        self.assertEqual(client.last_ping, 5)


class HandshakeChunkTests(SynchronousTestCase):
    def test_frames_in_the_handshakes_last_read_take_the_fast_path(self) -> None:
        """A server that streams at once puts its first frames in the same read as its
        handshake reply; they arrive in order, counted, without autobahn's per-message
        path, and a frame that read cuts short is finished by the next read."""
        slow: list[bytes] = []
        original = SessionProtocol.onMessage

        def counted(proto: SessionProtocol, payload: bytes, binary: bool) -> None:
            slow.append(payload)
            original(proto, payload, binary)

        self.patch(SessionProtocol, "onMessage", counted)
        first = [(message(n), False) for n in range(1, 41)]
        harness, pump = converse(first)  # iosim hands the reply and frames over as one read
        client = pump.client
        self.assertEqual(ids(harness), list(range(1, 41)))
        self.assertEqual(slow, [])
        tail = frame(message(41)) + frame(message(42, pad=90_000))
        client.dataReceived(tail[:70])
        client.dataReceived(tail[70:])
        self.assertEqual(ids(harness), list(range(1, 43)))
        self.assertEqual(harness.connection.stats.messages, 42)
        self.assertEqual(slow, [])


class ControlAndFragmentTests(SynchronousTestCase):
    def test_fragments_with_a_ping_between_them_make_one_message(self) -> None:
        """A text message in three fragments with a ping in the middle: one message, the
        ping answered, and plain frames after it delivered as before."""
        whole = message(7, pad=500)
        parts = [whole[:100], whole[100:300], whole[300:]]
        stream = (
            frame(parts[0], fin=False)
            + frame(parts[1], opcode=0, fin=False)
            + frame(b"ping!", opcode=9)
            + frame(parts[2], opcode=0)
            + frame(message(8))
        )
        for cut in (1, 50, 107, 215, len(stream) - 3):
            harness, client = opened()
            pongs = []
            client.sendPong = lambda payload=None, p=pongs: p.append(payload)  # type: ignore[assignment]
            client.dataReceived(stream[:cut])
            client.dataReceived(stream[cut:])
            self.assertEqual(ids(harness), [7, 8], cut)
            self.assertEqual(pongs, [b"ping!"], cut)

    def test_a_close_frame_ends_the_session_with_its_code_and_reason(self) -> None:
        harness, client = opened()
        client.dataReceived(frame(message(1)) + frame(struct.pack("!H", 1001) + b"bye", opcode=8))
        self.assertEqual(ids(harness), [1])
        self.assertNotEqual(client.state, OPEN)
        self.assertEqual(client.remoteCloseCode, 1001)
        self.assertEqual(client.remoteCloseReason, "bye")


class ViolationTests(SynchronousTestCase):
    """What the RFC says must fail the connection fails it, whichever path met it first."""

    def assert_fails(self, bad: bytes) -> None:
        harness, client = opened()
        client.dataReceived(frame(message(1)) + bad + frame(message(2)))
        self.assertEqual(ids(harness), [1])  # nothing after the violation is read
        self.assertNotEqual(client.state, OPEN)
        self.assertTrue(client.failedByMe)

    def test_reserved_bits_fail(self) -> None:
        self.assert_fails(frame(message(9), rsv=4))

    def test_reserved_opcodes_fail(self) -> None:
        self.assert_fails(frame(message(9), opcode=3))

    def test_a_masked_server_frame_fails(self) -> None:
        self.assert_fails(frame(message(9), mask=b"\x01\x02\x03\x04"))

    def test_a_non_minimal_length_fails(self) -> None:
        self.assert_fails(frame(message(9), width=16))  # 16-bit length for < 126 bytes

    def test_a_continuation_without_a_start_fails(self) -> None:
        self.assert_fails(frame(message(9), opcode=0))


class ContentTests(SynchronousTestCase):
    def test_invalid_utf8_is_dropped_and_counted_and_the_stream_goes_on(self) -> None:
        """As the JSON decoder refuses it: counted as a decode error, the next frame read."""
        harness, client = opened()
        client.dataReceived(frame(message(1)) + frame(b'{"stream":"\xff\xfe"}') + frame(message(2)))
        self.assertEqual(ids(harness), [1, 2])
        self.assertEqual(harness.connection.stats.decode_errors, 1)
        self.assertEqual(client.state, OPEN)

    def test_a_frame_over_the_size_limit_fails_with_1009(self) -> None:
        """From its header alone, whichever length form it uses; nothing after it is read."""
        for pad in (200, 70_000):
            harness, client = opened(limit=150)
            client.dataReceived(frame(message(1)) + frame(message(2, pad=pad)) + frame(message(3)))
            self.assertEqual(ids(harness), [1], pad)
            self.assertEqual(harness.connection.stats.oversized, 1, pad)
            self.assertNotEqual(client.state, OPEN, pad)
