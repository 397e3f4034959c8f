"""A FIFO of AER events between blocks, so a producer's update phase overlaps with the
consumer's accumulate phase."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

__all__ = ["EventFIFO"]


class EventFIFO(wiring.Component):
    """Synchronous FIFO of events, with ``ready`` and ``valid`` from registers (no
    combinational path through it); from two entries on it takes and gives an event every
    cycle.

    Two entries are amaranth's ``SyncFIFO``: its two rows are registers read without a
    clock, and it takes an event in the cycle it gives one. A ``SyncFIFOBuffered`` of
    depth 2 (one row and an output register) would refuse it and move an event every other
    cycle. Other depths are ``SyncFIFOBuffered``: a synchronous read, block RAM when deep.

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
        kind = SyncFIFO if self._depth == 2 else SyncFIFOBuffered
        m.submodules.fifo = fifo = kind(width=self._layout.size, depth=self._depth)
        m.d.comb += [
            fifo.w_data.eq(self.i_events.payload),
            fifo.w_en.eq(self.i_events.valid),
            self.i_events.ready.eq(fifo.w_rdy),
            self.o_events.payload.eq(fifo.r_data),
            self.o_events.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o_events.ready),
        ]
        return m
