"""Where packets leave the router fabric: each lands at its source's axon base."""

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["PacketDeliver"]


class PacketDeliver(wiring.Component):
    """Turn the packets a router delivers to one destination into events of the
    destination's concatenated input: ``addr = base[src] + addr``. The bases are a table
    in memory (a small ROM), one row per source id. Ticks pass (the router's delivery port
    has merged them already). Combinational.

    Parameters
    ----------
    packet_layout, event_layout : StructLayout
    bases : list of int
        ``bases[src]``; 0 for sources that never reach this destination.

    Members
    -------
    i_packets : In(stream.Signature(packet_layout))
    o_events : Out(stream.Signature(event_layout))
    """

    def __init__(self, packet_layout, event_layout, bases):
        self._bases = list(bases)
        self._width = event_layout["addr"].width
        super().__init__({"i_packets": In(stream.Signature(packet_layout)),
                          "o_events": Out(stream.Signature(event_layout))})

    def elaborate(self, platform):
        m = Module()
        i, o = self.i_packets, self.o_events
        m.submodules.bases = bases = Memory(shape=unsigned(self._width),
                                            depth=len(self._bases), init=self._bases)
        base = bases.read_port(domain="comb")
        m.d.comb += [base.addr.eq(i.p.src),
                     o.p.addr.eq(base.data + i.p.addr), o.p.value.eq(i.p.value),
                     o.p.tick.eq(i.p.tick), o.valid.eq(i.valid), i.ready.eq(o.ready)]
        return m
