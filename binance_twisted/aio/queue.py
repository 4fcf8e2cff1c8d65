"""The bounded queue between a socket's callback and ``await socket.recv()``.

python-binance 1.x ends a socket's read loop when its queue holds ``max_queue_size``
messages (``BinanceWebsocketQueueOverflow``; every later ``recv()`` raises
``ReadLoopClosed``), so one slow consumer loses its stream for good. Here the socket goes
on: a full queue drops the oldest message (or the newest arriving, if asked), counts it,
and says so once in the stream, as 1.x's error dict where the loss is (before the
messages left when the oldest go, after them when the newest do); the next episode of
losses is reported again once the consumer has emptied the queue.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from binance_twisted._core.policy import Overflow, check_count, check_overflow
from binance_twisted.errors import error_message

__all__ = ["MessageQueue", "ReadLoopClosed", "check_queue"]

log = Logger(namespace="binance_twisted.aio")

OVERFLOW_TYPE = "BinanceWebsocketQueueOverflow"


def check_queue(size: int, overflow: str) -> None:
    """``max_queue_size`` and ``overflow`` as a manager is given them: ValueError if bad."""
    check_count("max_queue_size", size)
    check_overflow("overflow", overflow)


class ReadLoopClosed(Exception):
    """``recv()`` on a socket that has ended (closed, or given up after its error message),
    with nothing left to read (python-binance 1.x's name)."""


class MessageQueue:
    """Messages for one consumer: at most ``size`` waiting, one overflow report per episode."""

    def __init__(self, size: int, overflow: Overflow = "drop_oldest", name: str = "") -> None:
        check_queue(size, overflow)
        self.name = name
        self.size = size
        self.overflow = overflow
        #: messages dropped because the queue was full, over the queue's life
        self.dropped = 0
        self._messages: deque[Any] = deque()
        self._waiter: defer.Deferred | None = None
        self._reported = False  # this episode of losses was said in the stream
        self._report_first = False  # that report waits at the front, unread
        self._ended: str | None = None

    def __len__(self) -> int:
        return len(self._messages)

    @property
    def ended(self) -> bool:
        """No more messages will come (what is queued may still be read)."""
        return self._ended is not None

    def put(self, message: Any) -> None:
        """One message from the socket (on the reactor thread)."""
        if self._ended is not None:
            return
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.callback(message)
            return
        messages = self._messages
        if len(messages) < self.size:
            messages.append(message)
            return
        self.dropped += 1
        if self.overflow == "drop_oldest":
            if self._report_first:
                del messages[1]  # the oldest after the report, which stays first
            else:
                messages.popleft()
            messages.append(message)
        if not self._reported:
            self._reported = True
            what = "oldest" if self.overflow == "drop_oldest" else "newest"
            text = (
                f"Message queue size {len(messages)} exceeded maximum {self.size}: dropping "
                f"the {what} messages until recv() catches up; the socket goes on"
            )
            log.warn("{name}: {text}", name=self.name or "socket", text=text)
            report = error_message(OVERFLOW_TYPE, text)
            # where the loss is: before what is left (oldest dropped), or after (newest)
            if self.overflow == "drop_oldest":
                messages.appendleft(report)
                self._report_first = True
            else:
                messages.append(report)

    def get(self) -> defer.Deferred:
        """The next message: at once if one waits, else when one comes (one reader)."""
        if self._messages:
            message = self._messages.popleft()
            self._report_first = False
            if not self._messages:
                self._reported = False  # caught up: the next loss is news again
            return defer.succeed(message)
        if self._ended is not None:
            return defer.fail(ReadLoopClosed(self._ended))
        if self._waiter is not None:
            raise RuntimeError("another coroutine is already waiting in recv() on this socket")
        self._waiter = defer.Deferred(lambda _: self._forget_waiter())
        return self._waiter

    def end(self, reason: str, discard: bool = False) -> None:
        """No more messages: queued ones can still be read (unless ``discard``), then
        ``ReadLoopClosed(reason)``."""
        if discard:
            self._messages.clear()
        if self._ended is not None:
            return
        self._ended = reason
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.errback(ReadLoopClosed(reason))

    def _forget_waiter(self) -> None:
        self._waiter = None
