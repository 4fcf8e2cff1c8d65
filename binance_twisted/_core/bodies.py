"""HTTP response bodies: read up to a bound, and told in a few plain words.

A REST answer is read whole before it is decoded. Unbounded, one endless or giant body (a
broken proxy, an attacker between us and Binance) grows memory until the timeout fires;
bounded, it fails as soon as it passes the limit and its connection is closed. An error page
is shown as a short plain excerpt of its start, never by scanning all of it.
"""

from __future__ import annotations

import html
import re
from typing import Any

import treq
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from binance_twisted.errors import MessageTooBigError

__all__ = ["MAX_EXCERPT", "excerpt", "read_body"]

MAX_EXCERPT = 200
_EXCERPT_SCAN = 4096  # bytes of a body an excerpt looks at
_HTML_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


class _OverLimit(Exception):
    """The body passed the limit (raised inside treq's collector, which then hangs up)."""


def read_body(response: Any, limit: int, label: str) -> Deferred[bytes]:
    """The whole body of ``response``, or :class:`MessageTooBigError` once it passes
    ``limit`` bytes. A ``Content-Length`` over the limit fails at once; either way the
    connection is closed rather than drained."""
    declared = response.length if isinstance(response.length, int) else None
    pieces: list[bytes] = []
    size = 0

    def collect(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > limit:
            raise _OverLimit
        pieces.append(data)

    def too_big(failure: Failure) -> None:
        failure.trap(_OverLimit)
        raise MessageTooBigError(f"{label}: response body over the {limit}-byte limit")

    if declared is not None and declared > limit:
        refuse = treq.collect(response, _refuse)  # hangs up at the first chunk
        refuse.addErrback(lambda _: None)
        return defer.fail(
            MessageTooBigError(
                f"{label}: response body of {declared} bytes (Content-Length) over the "
                f"{limit}-byte limit"
            )
        )
    collected: Deferred[Any] = treq.collect(response, collect)
    collected.addCallbacks(lambda _: b"".join(pieces), too_big)
    return collected


def _refuse(data: bytes) -> None:
    raise _OverLimit


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
