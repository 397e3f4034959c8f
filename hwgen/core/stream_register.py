"""A block that passes its input stream through unchanged, through one register stage
(full throughput): the hardware of a layer that keeps every address and value
(``flatten``). The register gives the block logic of its own, so it keeps its place and
its streams in the design's hierarchy (an empty block would be inlined away)."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..aer import event_signature

__all__ = ["StreamRegister"]


class StreamRegister(wiring.Component):
    def __init__(self, addr_count, event_max):
        super().__init__({"i_events": In(event_signature(addr_count, event_max)),
                          "o_events": Out(event_signature(addr_count, event_max))})

    def elaborate(self, platform):
        m = Module()
        take = ~self.o_events.valid | self.o_events.ready
        m.d.comb += self.i_events.ready.eq(take)
        with m.If(take):
            m.d.sync += [self.o_events.valid.eq(self.i_events.valid),
                         self.o_events.payload.eq(self.i_events.payload)]
        return m
