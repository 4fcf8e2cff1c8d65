"""A FakeBinance on the running loop, for 1.x asyncio code offline (examples, tests).

``FakeBinance`` returns Deferreds, which an asyncio task cannot await; this wraps its start
and stop for either kind of coroutine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from binance_twisted.aio.loop import running_reactor, wait

if TYPE_CHECKING:
    from binance_twisted.testing import FakeBinance

__all__ = ["fake_binance"]


@asynccontextmanager
async def fake_binance(**options: Any) -> AsyncIterator[FakeBinance]:
    """``async with fake_binance(event_interval=0.05) as fake:`` a local Binance on
    127.0.0.1 (``FakeBinance`` options), stopped on exit; point managers at it with
    ``endpoints=fake.endpoints``."""
    from binance_twisted.testing import FakeBinance

    fake = FakeBinance(running_reactor(), **options)
    await wait(fake.start())
    try:
        yield fake
    finally:
        await wait(fake.stop())
