"""Concatenation of several AER streams into one address space, tick-aligned."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..aer import event_layout

__all__ = ["EventMerge"]


class EventMerge(wiring.Component):
    """Merge the events of ``len(sizes)`` streams; input ``k`` lands at addresses
    ``sum(sizes[:k]) ..``. Emits one tick per timestep, once every input has sent its
    tick; an input that has sent its tick is held until then, so events of timestep
    ``t + 1`` never pass a tick of ``t``.

    Parameters
    ----------
    sizes : list of int
        Address count of each input.
    max_values : list of int
        Largest event value of each input.

    Members
    -------
    i_<k> : In(stream.Signature(event_layout(sizes[k], max_values[k]))), one per input
    o_events : Out(stream.Signature(event_layout(sum(sizes), max(max_values))))
    """

    def __init__(self, sizes, max_values):
        self._sizes = list(sizes)
        members = {f"i_{k}": In(stream.Signature(event_layout(size, vmax)))
                   for k, (size, vmax) in enumerate(zip(sizes, max_values, strict=True))}
        members["o_events"] = Out(stream.Signature(event_layout(sum(sizes), max(max_values))))
        super().__init__(members)

    def inputs(self):
        return [getattr(self, f"i_{k}") for k in range(len(self._sizes))]

    def elaborate(self, platform):
        m = Module()
        inputs = self.inputs()
        ticked = Signal(len(inputs))
        all_ticked = ticked == (1 << len(inputs)) - 1
        o = self.o_events

        with m.If(all_ticked):
            m.d.comb += [o.valid.eq(1), o.p.tick.eq(1)]
            with m.If(o.ready):
                m.d.sync += ticked.eq(0)
        with m.Else():
            # Fixed priority: the lowest-numbered input with something to say goes first.
            offset = 0
            for k, src in enumerate(inputs):
                wants = src.valid & ~ticked[k]
                with m.If(wants) if k == 0 else m.Elif(wants):
                    with m.If(src.p.tick):
                        m.d.comb += src.ready.eq(1)
                        m.d.sync += ticked[k].eq(1)
                    with m.Elif(src.p.addr >= self._sizes[k]):
                        # Out of this input's range: dropped here, as a core drops it, so it
                        # cannot land on the next input's axons.
                        m.d.comb += src.ready.eq(1)
                    with m.Else():
                        m.d.comb += [o.valid.eq(1), o.p.addr.eq(src.p.addr + offset),
                                     o.p.value.eq(src.p.value), src.ready.eq(o.ready)]
                offset += self._sizes[k]
        return m
