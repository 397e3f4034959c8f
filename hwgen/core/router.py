"""A multicast AER router with a routing table, the building block of the crossbar and the
mesh (:mod:`hwgen.fabric`)."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .event_fifo import EventFIFO
from .round_robin import RoundRobin

__all__ = ["Router", "LINK", "Deliver"]

LINK = "link"


class Deliver:
    """An output port that ends at a destination: it takes the packets of the sources
    ``expected`` (source ids) of one timestep, absorbs their ticks and sends one tick of
    its own once every expected source has sent one. A source that has sent its tick is
    not served again until then, so no packet of timestep ``t + 1`` passes a tick of ``t``.

    Held means held at the head of its input: where several sources share an input (a
    mesh link), a packet of ``t + 1`` there blocks the others' packets of ``t`` behind it.
    So on a shared input the expected sources must send all of timestep ``t`` before any
    of ``t + 1``; the mesh's timestep gate guarantees it (``docs/fabric.md``). On the
    crossbar every source has its own input and nothing is required.
    """

    def __init__(self, expected):
        self.expected = sorted(set(expected))
        if not self.expected:
            raise ValueError("a delivery port must expect at least one source")


class Router(wiring.Component):
    """Route packets (:func:`hwgen.aer.packet_layout`) from ``inputs`` ports to
    ``len(outputs)`` ports by a routing table.

    The table is a memory of one row per source id: the set of output ports a packet of
    that source leaves by (an input where only one source arrives uses that row as a
    constant: no lookup). A packet is copied to each of them (multicast) and leaves its
    input once every one of them has taken it, each in its own cycle. Every output port
    chooses among the inputs that want it round-robin, so no input starves, and holds its
    choice while it stalls. Nothing is dropped or duplicated; back-pressure reaches the
    inputs.

    An output is a ``LINK`` (to another router: packets and ticks pass unchanged) or a
    :class:`Deliver` (to a destination: the sources' ticks merge into one per timestep).

    Parameters
    ----------
    layout : StructLayout
        The packet layout (has ``src`` and ``tick``).
    inputs : int
        Input ports.
    outputs : list of ``LINK`` or Deliver
    table : list of sets
        ``table[src]``: the output ports of source ``src``'s packets.
    buffer_depth : int
        Entries of a FIFO at each input (0: none). Between routers, at least 2, so that
        no ``ready`` runs combinationally from one router into the next and back.
    arrivals : list of sets, optional
        Per input, the source ids whose packets can arrive there (default: any). The
        router only builds the paths from an input to the outputs those sources' rows
        name: on an X-Y mesh most of the 25 input-output pairs never carry a packet, and
        an input that only one source uses needs no table lookup.

    Members
    -------
    i_<k> : In(stream.Signature(layout)), one per input
    o_<j> : Out(stream.Signature(layout)), one per output
    """

    def __init__(self, layout, inputs, outputs, table, buffer_depth=0, arrivals=None):
        self._layout = layout
        self._inputs = inputs
        self._outputs = list(outputs)
        self._table = [set(row) for row in table]
        self._depth = buffer_depth
        everyone = set(range(len(self._table)))
        self._arrivals = [set(a) for a in arrivals] if arrivals else [everyone] * inputs
        if len(self._arrivals) != inputs or any(not a <= everyone for a in self._arrivals):
            raise ValueError("arrivals must name, per input, source ids of the table")
        # The outputs each input can reach: the only input-output paths built.
        self._reach = [set().union(*(self._table[s] for s in a)) for a in self._arrivals]
        for row in self._table:
            if not row <= set(range(len(self._outputs))):
                raise ValueError(f"routing table names output {max(row)} of "
                                 f"{len(self._outputs)}")
        members = {f"i_{k}": In(stream.Signature(layout)) for k in range(inputs)}
        members |= {f"o_{j}": Out(stream.Signature(layout)) for j in range(len(outputs))}
        super().__init__(members)

    @property
    def table_masks(self):
        """The table memory's contents: one bit per output port, per source id."""
        return [sum(1 << j for j in row) for row in self._table]

    def elaborate(self, platform):
        m = Module()
        n_out = len(self._outputs)
        if n_out == 0:
            # Routes nowhere (a core nobody reads): take every packet.
            for k in range(self._inputs):
                m.d.comb += getattr(self, f"i_{k}").ready.eq(1)
            return m

        # Each input's head packet (through its FIFO, if any) and its row of the table.
        table = None
        heads, masks = [], []
        for k in range(self._inputs):
            port = getattr(self, f"i_{k}")
            if self._depth:
                fifo = EventFIFO(self._layout, self._depth)
                m.submodules[f"in_{k}"] = fifo
                wiring.connect(m, wiring.flipped(port), fifo.i_events)
                port = fifo.o_events
            heads.append(port)
            if len(self._arrivals[k]) == 1:
                # One source arrives here (a crossbar input, a tile's own port): its row.
                masks.append(Const(self.table_masks[min(self._arrivals[k])], n_out))
                continue
            # A read port without a clock: the table is a small ROM in logic; the bits of
            # outputs this input never reaches are constant 0, so no logic is built.
            if table is None:
                m.submodules.table = table = Memory(
                    shape=unsigned(n_out), depth=len(self._table), init=self.table_masks)
            lookup = table.read_port(domain="comb")
            reach = Const(sum(1 << j for j in self._reach[k]), n_out)
            m.d.comb += lookup.addr.eq(port.p.src)
            masks.append(lookup.data & reach)

        # taken[k]: the outputs that took input k's head already; took[k][j]: output j
        # takes it this cycle.
        taken = [Signal(n_out, name=f"taken_{k}") for k in range(self._inputs)]
        took = [[Signal(name=f"took_{k}_{j}") for j in range(n_out)]
                for k in range(self._inputs)]

        for j, kind in enumerate(self._outputs):
            o = getattr(self, f"o_{j}")
            if not self._candidates(j):
                continue            # no source's row names it: never valid
            if isinstance(kind, Deliver):
                self._deliver(m, j, kind, o, heads, masks, taken, took)
            else:
                self._link(m, j, o, heads, masks, taken, took)

        # A head leaves its input once every output of its row has taken it.
        for k, head in enumerate(heads):
            now = Cat(*took[k])
            done = (taken[k] | now | ~masks[k]).all()
            m.d.comb += head.ready.eq(done)
            with m.If(head.valid):
                m.d.sync += taken[k].eq(Mux(done, 0, taken[k] | now))
        return m

    def _candidates(self, j):
        """The inputs that can send to output ``j``."""
        return [k for k in range(self._inputs) if j in self._reach[k]]

    def _wants(self, j, heads, masks, taken):
        return [heads[k].valid & masks[k][j] & ~taken[k][j] for k in self._candidates(j)]

    def _link(self, m, j, o, heads, masks, taken, took):
        """An output towards another router: packets (ticks too) pass unchanged."""
        rr = RoundRobin(m, self._wants(j, heads, masks, taken), prefix=f"o{j}_")
        with m.If(rr.chosen):
            with m.Switch(rr.sel):
                for i, k in enumerate(self._candidates(j)):
                    head = heads[k]
                    with m.Case(i):
                        m.d.comb += [o.valid.eq(1), o.payload.eq(head.payload),
                                     took[k][j].eq(o.ready)]
                        with m.If(o.ready):
                            rr.served(m, i)
        rr.hold(m, o.valid & ~o.ready)

    @staticmethod
    def _waits_for_merged_tick(ticked, head):
        """A head a delivery port must not serve yet: its source has sent its tick of this
        timestep (``ticked``), so it is of the next one."""
        return ticked.bit_select(head.p.src, 1)

    def _deliver(self, m, j, kind, o, heads, masks, taken, took):
        """An output to a destination: one tick per timestep, after every source's."""
        n_src = len(self._table)
        ticked = Signal(n_src, name=f"o{j}_ticked")     # sources whose tick was taken
        expected = Const(sum(1 << s for s in kind.expected), n_src)
        all_ticked = (ticked & expected) == expected
        wants = [w & ~self._waits_for_merged_tick(ticked, heads[k])
                 for w, k in zip(self._wants(j, heads, masks, taken), self._candidates(j),
                                strict=True)]
        rr = RoundRobin(m, wants, prefix=f"o{j}_")
        with m.If(all_ticked):
            m.d.comb += [o.valid.eq(1), o.p.tick.eq(1)]
            with m.If(o.ready):
                m.d.sync += ticked.eq(0)
        with m.Elif(rr.chosen):
            with m.Switch(rr.sel):
                for i, k in enumerate(self._candidates(j)):
                    head = heads[k]
                    with m.Case(i):
                        with m.If(head.p.tick):
                            # Absorbed here: the merged tick goes out when all are in.
                            m.d.comb += took[k][j].eq(1)
                            m.d.sync += ticked.bit_select(head.p.src, 1).eq(1)
                            rr.served(m, i)
                        with m.Else():
                            m.d.comb += [o.valid.eq(1), o.payload.eq(head.payload),
                                         took[k][j].eq(o.ready)]
                            with m.If(o.ready):
                                rr.served(m, i)
        rr.hold(m, o.valid & ~o.ready & ~all_ticked)
