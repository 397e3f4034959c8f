"""Admit one timestep at a time into a design (the mesh's deadlock guard)."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["TimestepGate"]


class TimestepGate(wiring.Component):
    """Pass events until a tick has passed; then hold the stream until every one of
    ``watched`` blocks has sent its own tick (``done[k]`` high for one cycle), so that the
    events of timestep ``t + 1`` enter only once the whole design has finished ``t``.

    Members
    -------
    i_events, o_events : the stream, same layout
    done : In(watched), one strobe per watched block: its tick was taken this cycle
    """

    def __init__(self, layout, watched):
        self._watched = watched
        super().__init__({"i_events": In(stream.Signature(layout)),
                          "o_events": Out(stream.Signature(layout)),
                          "done": In(watched)})

    def elaborate(self, platform):
        m = Module()
        i, o = self.i_events, self.o_events
        pending = Signal(self._watched)     # watched blocks that have not finished t yet
        is_open = pending == 0
        m.d.comb += [o.payload.eq(i.payload), o.valid.eq(i.valid & is_open),
                     i.ready.eq(o.ready & is_open)]
        with m.If(o.valid & o.ready & i.p.tick):
            m.d.sync += pending.eq((1 << self._watched) - 1)
        with m.Else():
            m.d.sync += pending.eq(pending & ~self.done)
        return m
