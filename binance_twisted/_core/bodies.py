"""HTTP response bodies: read up to a bound, and told in a few plain words.

A REST answer is read whole before it is decoded. Unbounded, one endless or giant body (a
broken proxy, an attacker between us and Binance) grows memory until the timeout fires;
bounded, it fails as soon as it passes the limit and its connection is closed. An error page
is shown as a short plain excerpt of its start, never by scanning all of it.
"""

from __future__ import annotations

import html
import re
from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss

from binance_twisted.errors import MessageTooBigError

__all__ = ["MAX_EXCERPT", "excerpt", "read_body"]

MAX_EXCERPT = 200
_EXCERPT_SCAN = 4096  # bytes of a body an excerpt looks at
_HTML_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def read_body(response: Any, limit: int, label: str) -> Deferred[bytes]:
    """The whole body of ``response``, or :class:`MessageTooBigError` once it passes
    ``limit`` bytes; a ``Content-Length`` over the limit fails at once. Cancelling the
    Deferred (a timeout does) hangs up too: the connection is closed, never drained."""
    reader = _BodyReader(limit, label)
    declared = response.length if isinstance(response.length, int) else None
    if declared is not None and declared > limit:
        reader.refusal = (
            f"{label}: response body of {declared} bytes (Content-Length) over the "
            f"{limit}-byte limit"
        )
    response.deliverBody(reader)
    return reader.finished


class _BodyReader(Protocol):
    """Collects a body up to a limit; hangs up when over it, or when cancelled."""

    def __init__(self, limit: int, label: str) -> None:
        self.limit, self.label = limit, label
        self.pieces: list[bytes] = []
        self.size = 0
        self.finished: Deferred[bytes] = Deferred(lambda _: self.hang_up())
        self.done = False
        #: set when the Content-Length alone is over the limit: fail before any data
        self.refusal: str | None = None

    def connectionMade(self) -> None:
        if self.refusal is not None:
            self.fail(self.refusal)

    def dataReceived(self, data: bytes) -> None:
        if self.done:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.fail(f"{self.label}: response body over the {self.limit}-byte limit")
        else:
            self.pieces.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.done:
            return
        self.done = True
        if reason.check(ResponseDone, PotentialDataLoss):
            self.finished.callback(b"".join(self.pieces))
        else:
            self.finished.errback(reason)

    def fail(self, message: str) -> None:
        self.hang_up()
        if not self.finished.called:
            self.finished.errback(MessageTooBigError(message))

    def hang_up(self) -> None:
        self.done = True
        self.pieces = []
        if self.transport is not None:
            # a response body's transport is a producer: stopping it closes the connection
            cast(IPushProducer, self.transport).stopProducing()


def excerpt(prefix: str, body: bytes) -> str:
    """``prefix: plain text of the body's start``, tags dropped, whitespace collapsed,
    at most 200 characters."""
    text = body[:_EXCERPT_SCAN].decode("utf-8", "replace")
    text = _HTML_TAG.sub(" ", _HTML_DROP.sub(" ", text))
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    line = f"{prefix}: {text}" if text else prefix
    if len(line) > MAX_EXCERPT:
        line = line[: MAX_EXCERPT - 1].rstrip() + "…"
    return line
