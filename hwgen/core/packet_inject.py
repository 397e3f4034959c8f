"""Where a source's events enter the router fabric: they become packets of that source."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PacketInject"]


class PacketInject(wiring.Component):
    """Tag every event of source ``src`` (``size`` neurons) with its source id.

    An event whose address is ``size`` or more is dropped here (only the network input can
    carry one, DESIGN.md section 5), so a packet never lands on another source's axons.
    Combinational: no register between the source and the router.

    Members
    -------
    i_events : In(stream.Signature(event layout of the source))
    o_packets : Out(stream.Signature(packet_layout))
    """

    def __init__(self, event_layout, packet_layout, src, size):
        self._src, self._size = src, size
        super().__init__({"i_events": In(stream.Signature(event_layout)),
                          "o_packets": Out(stream.Signature(packet_layout))})

    def elaborate(self, platform):
        m = Module()
        i, o = self.i_events, self.o_packets
        dropped = ~i.p.tick & (i.p.addr >= self._size)
        m.d.comb += [o.p.addr.eq(i.p.addr), o.p.value.eq(i.p.value), o.p.tick.eq(i.p.tick),
                     o.p.src.eq(self._src),
                     o.valid.eq(i.valid & ~dropped), i.ready.eq(o.ready | dropped)]
        return m
