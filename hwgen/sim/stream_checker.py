"""A protocol checker of one AER stream (DESIGN.md section 5), fed one sample per cycle.

Pure Python, so that every testbench (the network co-simulation, the stream-block
benches) runs the same rules and they can be unit-tested without a simulator:

- while ``valid & ~ready``, the next cycle still has ``valid`` and the same payload;
- exactly ``ticks`` ticks cross the stream (one per timestep of every inference);
- no event crosses after the last tick;
- every address is below the stream's address count (where the stream promises it:
  only the top input may carry addresses its destination drops).

The first broken rule is kept in :attr:`StreamChecker.error` (with the cycle), later
samples are ignored: the first error is the useful one.
"""

from ..aer import unpack

__all__ = ["StreamChecker"]


class StreamChecker:
    """Checks one stream.

    Parameters
    ----------
    name : str
        The stream's name in messages (e.g. its path in the design).
    layout : amaranth.lib.data.StructLayout
        The stream's event layout (:func:`hwgen.aer.event_layout`).
    ticks : int
        Ticks the stream must carry in all: inferences x timesteps.
    addr_count : int, optional
        Addresses the stream carries; ``None`` checks no address.
    """

    def __init__(self, name, layout, ticks, addr_count=None):
        self.name = name
        self.layout = layout
        self.expected_ticks = ticks
        self.addr_count = addr_count
        self.ticks = 0
        self.error = None
        self._stalled = None        # the payload offered and not taken last cycle

    @property
    def idle(self):
        """No event is waiting to be taken: a cycle without ``valid`` needs no check."""
        return self._stalled is None

    def fail(self, cycle, rule):
        """Record a broken rule (the first one is kept)."""
        if self.error is None:
            self.error = f"stream '{self.name}', cycle {cycle}: {rule}"

    def sample(self, cycle, valid, ready, payload):
        """One cycle's ``valid``, ``ready`` (ints) and ``payload`` (an int of its bits).

        Returns the :class:`~hwgen.aer.Event` taken this cycle, or ``None``.
        """
        if self._stalled is not None:
            if not valid:
                self.fail(cycle, "valid fell before the event was taken")
            elif payload != self._stalled:
                self.fail(cycle, f"payload changed from {self._stalled:#x} to {payload:#x} "
                           "while the event waited for ready")
        self._stalled = payload if valid and not ready else None
        if not (valid and ready):
            return None
        event = unpack(self.layout, payload)
        if self.ticks >= self.expected_ticks:
            self.fail(cycle, f"an event after the last tick ({event})")
        elif event.tick:
            self.ticks += 1
        elif self.addr_count is not None and event.addr >= self.addr_count:
            self.fail(cycle, f"address {event.addr} out of range (the stream carries "
                       f"{self.addr_count} addresses)")
        return event

    def finish(self, cycle):
        """Call once at the end: every expected tick must have crossed."""
        if self.ticks != self.expected_ticks:
            self.fail(cycle, f"{self.ticks} ticks crossed, {self.expected_ticks} expected "
                       "(one per timestep of every inference)")
        return self.error
