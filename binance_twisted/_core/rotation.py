"""Make-before-break: a replacement session is opened and prepared before the old one goes.

Binance ends every session after 24 h and announces maintenance with ``serverShutdown``.
A :class:`Rotation` dials a candidate next to the current session, lets the subclass move
the traffic over (resubscribe streams, user data), switches, then retires the old session.
How traffic moves is the subclass's business: ``market.connection._StreamHandover`` hands
sequenced streams over without a gap or a duplicate; the WebSocket API's resubscribes.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._core.protocol import SessionFactory, SessionProtocol, close_session

__all__ = ["Rotation", "RotationHost"]


class RotationHost(Protocol):
    """What a rotation needs from the connection it rotates."""

    policy: ConnectionPolicy

    @property
    def clock(self) -> IReactorTime:
        """The reactor the connection schedules on."""

    def is_rotating(self, rotation: Rotation) -> bool:
        """Whether ``rotation`` is still the connection's rotation under way."""

    def complete_rotation(self, rotation: Rotation) -> None:
        """The candidate carries everything: make it current, retire the old session."""

    def abandon_rotation(self, rotation: Rotation, reason: str) -> None:
        """The candidate failed: keep the old session and try again later."""

    def promote_candidate(self, rotation: Rotation) -> None:
        """The old session died before the candidate opened: its lineage becomes current."""


class Rotation:
    """Make-before-break from ``old`` to a candidate session; subclasses hand traffic over.

    The candidate's ``factory`` is dialled by the host. When the candidate is open,
    :meth:`begin` lets the subclass prepare it (subscribe, resubscribe); the subclass calls
    :meth:`finish` when the candidate carries everything, and ``handover_timeout`` calls it
    regardless.
    """

    def __init__(
        self, session: RotationHost, reason: str, old: SessionProtocol, factory: SessionFactory
    ) -> None:
        self.session = session
        self.reason = reason
        self.old = old
        self.factory = factory
        self.candidate: SessionProtocol | None = None
        self.finished = False
        self.deadline: IDelayedCall | None = None

    def candidate_opened(self, proto: SessionProtocol) -> None:
        self.candidate = proto
        timeout = self.session.policy.handover_timeout
        self.deadline = self.session.clock.callLater(timeout, self.finish)
        self.begin(proto)

    def begin(self, proto: SessionProtocol) -> None:
        """The candidate is open: start moving traffic (subclass)."""

    def flush(self) -> None:
        """Before completing: move whatever is still pending (subclass)."""

    def lingers(self) -> bool:
        """Whether the new session still needs filtering after the switch."""
        return False

    def stop_filtering(self) -> None:
        """After the switch (and any lingering): the new session delivers normally."""

    def restore_old(self) -> None:
        """The candidate failed: the old session delivers normally again."""

    def retire_old(self) -> None:
        """After the switch: close the old session."""
        close_session(self.old)

    def finish(self) -> None:
        """Switch whatever is left and complete."""
        if not self.session.is_rotating(self):
            return
        self.flush()
        self.finished = True
        self.cancel_deadline()
        self.session.complete_rotation(self)

    def candidate_lost(self, reason: str) -> None:
        self.cancel_deadline()
        self.restore_old()
        self.session.abandon_rotation(self, reason)

    def old_lost(self) -> None:
        """The old session died first: switch to the candidate now, or wait for it to open."""
        if self.candidate is not None:
            self.finish()
        else:
            self.cancel_deadline()
            self.session.promote_candidate(self)

    def cancel_deadline(self) -> None:
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None
