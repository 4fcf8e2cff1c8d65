"""Order-book faults: what the diff-depth streams and depth snapshots get wrong on purpose.

Pure bookkeeping, per lowercase symbol: how many gaps, stale snapshots, duplicated and
swapped diff events are still to come, and the events held back for a swap. The server
state asks for a :class:`DepthPlan` once per step of a symbol that publishes diff events
and sends that step's events (Spot and futures alike) as it says.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["BookFaults", "DepthPlan", "Held"]

#: How many ids (and unpublished level changes) one injected gap skips.
GAP_SIZE = 2


@attrs.frozen
class Held:
    """One diff event held back to be sent after the next one: stream, shape, payload."""

    stream: str
    futures: bool
    payload: Any
    copies: int


@attrs.define
class DepthPlan:
    """How to send one step's diff events of one symbol."""

    copies: int = 1
    hold: bool = False
    release: list[Held] = attrs.Factory(list)
    held: list[Held] = attrs.Factory(list)


class BookFaults:
    """Pending order-book faults, by lowercase symbol."""

    def __init__(self) -> None:
        self.gaps: dict[str, int] = {}
        self.stale: dict[str, list[int]] = {}
        self.duplicates: dict[str, int] = {}
        self.reorders: dict[str, int] = {}
        self._held: dict[str, list[Held]] = {}

    def add(self, table: dict[str, int], symbol: str, count: int) -> None:
        """Queue ``count`` more faults of one kind for ``symbol``."""
        table[symbol] = table.get(symbol, 0) + count

    def add_stale(self, symbol: str, count: int, behind: int) -> None:
        """Queue ``count`` stale snapshots, each ``behind`` steps old."""
        self.stale.setdefault(symbol, []).extend([behind] * count)

    @staticmethod
    def _take(table: dict[str, int], symbol: str) -> bool:
        left = table.get(symbol, 0)
        if left <= 0:
            return False
        if left == 1:
            del table[symbol]
        else:
            table[symbol] = left - 1
        return True

    def take_gap(self, symbol: str) -> int:
        """How many ids the next diff of ``symbol`` skips (0: none), consuming one gap."""
        return GAP_SIZE if self._take(self.gaps, symbol) else 0

    def take_stale(self, symbol: str) -> int | None:
        """How many steps behind the next snapshot of ``symbol`` is (``None``: current)."""
        queue = self.stale.get(symbol)
        if not queue:
            return None
        behind = queue.pop(0)
        if not queue:
            del self.stale[symbol]
        return behind

    def plan(self, symbol: str) -> DepthPlan:
        """How to send this step's diff events of ``symbol``, consuming what it applies."""
        plan = DepthPlan(copies=2 if self._take(self.duplicates, symbol) else 1)
        held = self._held.pop(symbol, None)
        if held is not None:
            plan.release = held
        elif self._take(self.reorders, symbol):
            plan.hold = True
        return plan

    def finish(self, symbol: str, plan: DepthPlan) -> None:
        """Keep what ``plan`` held back for the next step of ``symbol``."""
        if plan.hold:
            self._held[symbol] = plan.held
