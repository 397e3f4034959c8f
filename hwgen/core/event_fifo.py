"""A FIFO of AER events between blocks, so a producer's update phase overlaps with the
consumer's accumulate phase."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

__all__ = ["EventFIFO"]


class EventFIFO(wiring.Component):
    """Buffered synchronous FIFO of events (block RAM for deep FIFOs).

    Parameters
    ----------
    layout : StructLayout
        Event layout (:func:`hwgen.aer.event_layout`).
    depth : int
        Entries held.

    Members
    -------
    i_events : In(stream.Signature(layout))
    o_events : Out(stream.Signature(layout))
    """

    def __init__(self, layout, depth):
        self._layout = layout
        self._depth = depth
        super().__init__({
            "i_events": In(stream.Signature(layout)),
            "o_events": Out(stream.Signature(layout)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=self._layout.size, depth=self._depth)
        m.d.comb += [
            fifo.w_data.eq(self.i_events.payload),
            fifo.w_en.eq(self.i_events.valid),
            self.i_events.ready.eq(fifo.w_rdy),
            self.o_events.payload.eq(fifo.r_data),
            self.o_events.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o_events.ready),
        ]
        return m
