"""Concatenation of several AER streams into one address space, tick-aligned."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..aer import event_layout
from .round_robin import RoundRobin

__all__ = ["EventMerge"]


class EventMerge(wiring.Component):
    """Merge the events of ``len(sizes)`` streams; input ``k`` lands at addresses
    ``sum(sizes[:k]) ..``. Emits one tick per timestep, once every input has sent its
    tick; an input that has sent its tick is held until then, so events of timestep
    ``t + 1`` never pass a tick of ``t``.

    The input on the output is chosen round-robin, starting after the one served last, so
    that no input starves; once the output stalls (valid and not ready) the choice is held
    until the event is taken, so the payload stays put as DESIGN.md section 5 requires.
    The merge is combinational: no register between an input and the output.

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
        count = len(inputs)
        o = self.o_events
        ticked = Signal(count)          # inputs whose tick of this timestep was taken
        all_ticked = ticked == (1 << count) - 1
        wants = [src.valid & ~ticked[k] for k, src in enumerate(inputs)]

        # The input served this cycle: the held one, else round-robin after the last.
        rr = RoundRobin(m, wants)
        sel, chosen = rr.sel, rr.chosen
        with m.If(all_ticked):
            self.send_tick(m, ticked)
        with m.Elif(chosen):
            with m.Switch(sel):
                for k, src in enumerate(inputs):
                    with m.Case(k):
                        self.serve(m, k, ticked)
                        with m.If(src.ready):
                            rr.served(m, k)
        rr.hold(m, o.valid & ~o.ready & ~all_ticked)
        return m

    def send_tick(self, m, ticked):
        """Every input has sent its tick: send the merged tick, then start a new round."""
        o = self.o_events
        m.d.comb += [o.valid.eq(1), o.p.tick.eq(1)]
        with m.If(o.ready):
            m.d.sync += ticked.eq(0)

    def serve(self, m, k, ticked):
        """Take input ``k``'s event this cycle: its tick is noted in ``ticked``, an event
        beyond its size is dropped, any other goes out with the input's base added."""
        src, o = self.inputs()[k], self.o_events
        with m.If(src.p.tick):
            m.d.comb += src.ready.eq(1)
            m.d.sync += ticked[k].eq(1)
        with m.Elif(src.p.addr >= self._sizes[k]):
            # Out of this input's range: dropped here, as a core drops it, so it cannot
            # land on the next input's axons.
            m.d.comb += src.ready.eq(1)
        with m.Else():
            m.d.comb += [o.valid.eq(1), o.p.addr.eq(src.p.addr + sum(self._sizes[:k])),
                         o.p.value.eq(src.p.value), src.ready.eq(o.ready)]
