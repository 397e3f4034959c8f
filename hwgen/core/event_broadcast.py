"""Fan-out of one AER stream to several consumers."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["EventBroadcast"]


class EventBroadcast(wiring.Component):
    """Copy every event to ``count`` outputs; the input is taken once every output has
    taken it (each output may take it in a different cycle).

    Members
    -------
    i_events : In(stream.Signature(layout))
    o_<k> : Out(stream.Signature(layout)), one per consumer
    """

    def __init__(self, layout, count):
        self._count = count
        members = {"i_events": In(stream.Signature(layout))}
        members.update({f"o_{k}": Out(stream.Signature(layout)) for k in range(count)})
        super().__init__(members)

    def outputs(self):
        return [getattr(self, f"o_{k}") for k in range(self._count)]

    def elaborate(self, platform):
        m = Module()
        outs = self.outputs()
        taken = Signal(self._count)     # outputs that took the current event already
        done = []
        for k, o in enumerate(outs):
            m.d.comb += [o.payload.eq(self.i_events.payload),
                         o.valid.eq(self.i_events.valid & ~taken[k])]
            done.append(taken[k] | o.ready)
        all_done = Signal()
        m.d.comb += [all_done.eq(Cat(*done).all()),
                     self.i_events.ready.eq(all_done)]
        with m.If(self.i_events.valid):
            with m.If(all_done):
                m.d.sync += taken.eq(0)
            with m.Else():
                for k, o in enumerate(outs):
                    with m.If(o.ready):
                        m.d.sync += taken[k].eq(1)
        return m
