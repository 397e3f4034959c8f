"""The network top's blocks when cores talk through a router fabric (:mod:`hwgen.fabric`):
each source's events enter as packets, routers carry them, each destination's delivery
port turns them back into events of its concatenated input."""

from amaranth.hdl import Cat
from amaranth.lib import wiring

from .aer import packet_layout
from .core.event_fifo import EventFIFO
from .core.packet_deliver import PacketDeliver
from .core.packet_inject import PacketInject
from .core.router import LINK, Deliver, Router
from .core.timestep_gate import TimestepGate
from .fabric import MESH_PORTS

__all__ = ["elaborate_fabric"]


def elaborate_fabric(m, top):
    """Add the cores, the fabric and its ports of ``top`` (a
    :class:`~hwgen.network.NetworkTop` whose graph has a fabric) to module ``m``."""
    graph, opts, plan = top.graph, top._options, top.graph.fabric
    layout = packet_layout(len(plan.sources), plan.addr_count, plan.max_value)

    # Sources: each one's packets, by source name.
    packets = {}
    source_in = wiring.flipped(top.i_events)
    if plan.topology == "mesh" and opts.barrier:
        # One timestep in the fabric at a time: docs/fabric.md says why.
        gate = TimestepGate(top.i_events.p.shape(), len(plan.cores) + 1)
        m.submodules.input_gate = gate
        wiring.connect(m, source_in, gate.i_events)
        source_in = gate.o_events
        done = [top.cores[s.name].o_events for s in plan.cores] + [top.o_events]
        m.d.comb += gate.done.eq(Cat(*(o.valid & o.ready & o.p.tick for o in done)))
    inject = PacketInject(top.i_events.p.shape(), layout, 0, plan.source_size["input"])
    m.submodules.input_inject = inject
    wiring.connect(m, source_in, inject.i_events)
    packets["input"] = inject.o_packets
    for src, part in enumerate(plan.cores, start=1):
        core = top.cores[part.name]
        m.submodules[part.name] = core
        out = core.o_events
        if graph.has_fifo(part.layer):
            fifo = EventFIFO(out.p.shape(), opts.fifo_depth)
            m.submodules[graph.fifo_name(part.name)] = fifo
            wiring.connect(m, out, fifo.i_events)
            out = fifo.o_events
        inject = PacketInject(out.p.shape(), layout, src, part.size)
        m.submodules[f"{part.name}_inject"] = inject
        wiring.connect(m, out, inject.i_events)
        packets[part.name] = inject.o_packets

    # Destinations: each one's delivery port, by destination name.
    delivered = {}
    for dest in plan.destinations:
        bases = [0] * len(plan.sources)
        for route in plan.routes_to(dest):
            bases[route.src] = route.base
        sink = (wiring.flipped(top.o_events) if dest == "output"
                else top.cores[dest].i_events)
        deliver = PacketDeliver(layout, sink.p.shape(), bases)
        m.submodules[f"{dest}_deliver"] = deliver
        wiring.connect(m, deliver.o_events, sink)
        delivered[dest] = deliver.i_packets

    def expects(dest):
        return Deliver(route.src for route in plan.routes_to(dest))

    if plan.topology == "crossbar":
        router = Router(layout, len(plan.sources),
                        [expects(dest) for dest in plan.destinations],
                        plan.crossbar_table())
        m.submodules.router = router
        for k, name in enumerate(plan.sources):
            wiring.connect(m, packets[name], getattr(router, f"i_{k}"))
        for j, dest in enumerate(plan.destinations):
            wiring.connect(m, getattr(router, f"o_{j}"), delivered[dest])
    else:
        _mesh(m, plan, layout, opts, packets, delivered, expects)


def _mesh(m, plan, layout, opts, packets, delivered, expects):
    """A router per tile; links only where a multicast tree runs."""
    links = plan.mesh_links()
    on_tile = {}
    for name, xy in plan.tile.items():
        on_tile.setdefault(xy, []).append(name)
    # The stream arriving at each router input and leaving each router output, by
    # (tile, port): filled as the routers are made, connected at the end.
    arriving, leaving = {}, {}
    for xy, table in plan.mesh_tables.items():
        names = on_tile.get(xy, [])
        ins = [("local", packets[n]) for n in names if n in packets]
        ins += [(p, None) for p in MESH_PORTS[1:]
                if (plan.neighbour(xy, p), plan.opposite(p)) in links]
        outs = [p for p in MESH_PORTS if any(p in ports for ports in table.values())]
        if not outs:
            # Nothing leaves this tile's router: what enters is a core nobody reads.
            for _, stream_ in ins:
                m.d.comb += stream_.ready.eq(1)
            continue
        dest = next((n for n in names if n in delivered), None)
        kinds = [expects(dest) if p == "local" else LINK for p in outs]
        rows = [{outs.index(p) for p in table.get(src, ())} for src in range(len(plan.sources))]
        router = Router(layout, len(ins), kinds, rows, buffer_depth=opts.link_depth)
        m.submodules[f"router_{xy[0]}_{xy[1]}"] = router
        for k, (p, stream_) in enumerate(ins):
            if p == "local":
                wiring.connect(m, stream_, getattr(router, f"i_{k}"))
            else:
                arriving[(xy, p)] = getattr(router, f"i_{k}")
        for j, p in enumerate(outs):
            if p == "local":
                wiring.connect(m, getattr(router, f"o_{j}"), delivered[dest])
            else:
                leaving[(xy, p)] = getattr(router, f"o_{j}")
    for (xy, p), out in leaving.items():
        wiring.connect(m, out, arriving[(plan.neighbour(xy, p), plan.opposite(p))])
