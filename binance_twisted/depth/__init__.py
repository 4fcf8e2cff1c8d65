"""Local order books: the exact :class:`OrderBook` (pure), the :class:`DepthSynchroniser`
that keeps one in sync with Binance, and the REST weight budget books share."""

from binance_twisted.depth.book import FuturesSequencer, OrderBook, SpotSequencer, Verdict
from binance_twisted.depth.budget import SnapshotScheduler, snapshot_weight
from binance_twisted.depth.synchroniser import DepthSynchroniser

__all__ = [
    "DepthSynchroniser",
    "FuturesSequencer",
    "OrderBook",
    "SnapshotScheduler",
    "SpotSequencer",
    "Verdict",
    "snapshot_weight",
]
