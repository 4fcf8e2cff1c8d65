"""Who listens to what, indexed both ways (pure).

Per connection the streams keep subscription order (``LIST_SUBSCRIPTIONS`` returns them in
that order); per stream the connections are kept so that a tick renders each stream once and
sends the same bytes to all of its subscribers, whatever the number of connections.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["Subscriptions"]

C = TypeVar("C", bound=Hashable)


class Subscriptions(Generic[C]):
    """A two-way index between connections and stream names."""

    def __init__(self) -> None:
        self._by_connection: dict[C, dict[str, None]] = {}
        self._by_stream: dict[str, dict[C, None]] = {}

    def streams(self, connection: C) -> list[str]:
        """The streams of ``connection``, in subscription order."""
        return list(self._by_connection.get(connection, ()))

    def count_with(self, connection: C, names: Iterable[str]) -> int:
        """How many streams ``connection`` would hold after subscribing ``names``."""
        current = self._by_connection.get(connection, {})
        return len(current) + sum(1 for name in dict.fromkeys(names) if name not in current)

    def add(self, connection: C, names: Iterable[str]) -> None:
        """Subscribe ``connection`` to ``names`` (already subscribed ones keep their place)."""
        current = self._by_connection.setdefault(connection, {})
        for name in names:
            current[name] = None
            self._by_stream.setdefault(name, {})[connection] = None

    def remove(self, connection: C, names: Iterable[str]) -> None:
        """Unsubscribe ``connection`` from ``names``; unknown names are ignored."""
        current = self._by_connection.get(connection, {})
        for name in names:
            if current.pop(name, ...) is None:
                listeners = self._by_stream[name]
                del listeners[connection]
                if not listeners:
                    del self._by_stream[name]

    def forget(self, connection: C) -> None:
        """Drop every subscription of ``connection``."""
        self.remove(connection, self.streams(connection))
        self._by_connection.pop(connection, None)

    def subscribers(self, name: str) -> list[C]:
        """The connections subscribed to ``name``."""
        return list(self._by_stream.get(name, ()))

    def by_stream(self) -> list[tuple[str, list[C]]]:
        """A snapshot of every subscribed stream with its connections."""
        return [(name, list(listeners)) for name, listeners in self._by_stream.items()]
