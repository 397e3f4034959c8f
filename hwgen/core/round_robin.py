"""Round-robin choice among requesters, shared by the blocks that arbitrate a stream."""

from amaranth.hdl import Signal

__all__ = ["RoundRobin"]


class RoundRobin:
    """Choose one of ``wants`` (a list of 1-bit values) each cycle: the one after the
    requester served last, so that no requester starves; once the output stalls the choice
    is held (:meth:`hold`) so the payload stays put (DESIGN.md section 5).

    ``sel`` is the chosen index and ``chosen`` says whether there is one; call
    :meth:`served` where requester ``k`` is taken and :meth:`hold` with "the output
    stalled this cycle".
    """

    def __init__(self, m, wants, prefix=""):
        count = len(wants)
        self.sel = Signal(range(count), name=f"{prefix}sel")
        self.chosen = Signal(name=f"{prefix}chosen")
        self._held = Signal(name=f"{prefix}held")       # the output stalled last cycle
        self._sel_held = Signal(range(count), name=f"{prefix}sel_held")
        self._last = Signal(range(count), name=f"{prefix}last")
        with m.If(self._held):
            m.d.comb += [self.sel.eq(self._sel_held), self.chosen.eq(1)]
        with m.Else():
            with m.Switch(self._last):
                for first in range(count):
                    with m.Case(first):
                        order = [(first + 1 + i) % count for i in range(count)]
                        for i, k in enumerate(order):
                            with m.If(wants[k]) if i == 0 else m.Elif(wants[k]):
                                m.d.comb += [self.sel.eq(k), self.chosen.eq(1)]

    def served(self, m, k):
        """Requester ``k`` was taken this cycle: the next round starts after it."""
        m.d.sync += self._last.eq(k)

    def hold(self, m, stalled):
        """``stalled``: the output was valid and not ready; keep this choice next cycle."""
        m.d.sync += [self._held.eq(stalled), self._sel_held.eq(self.sel)]
