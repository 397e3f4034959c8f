"""The network top's blocks when cores talk through a router fabric (:mod:`hwgen.fabric`):
each source's events enter as packets, routers carry them, each destination's delivery
port turns them back into events of its concatenated input."""

from amaranth.hdl import Cat
from amaranth.lib import wiring

from .aer import packet_layout
from .core.packet_deliver import PacketDeliver
from .core.packet_inject import PacketInject
from .core.router import LINK, Deliver, Router
from .core.timestep_gate import TimestepGate

__all__ = ["elaborate_fabric"]


def elaborate_fabric(m, top):
    """Add the cores, the fabric and its ports of ``top`` (a
    :class:`~hwgen.network.NetworkTop` whose graph has a fabric) to module ``m``."""
    opts, plan = top._options, top.graph.fabric
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
        out = top.add_core(m, part.name, part.layer)
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

    # Routers, and the links between mesh routers.
    arriving, leaving = {}, {}
    for spec in plan.routers():
        kinds = [Deliver(r.src for r in plan.routes_to(name)) if kind == "deliver" else LINK
                 for kind, name in spec.outputs]
        # Between routers a FIFO at every input: no ready path runs router to router.
        depth = opts.link_depth if plan.topology == "mesh" else 0
        router = Router(layout, len(spec.inputs), kinds, spec.table, buffer_depth=depth,
                        arrivals=spec.arrivals)
        m.submodules[spec.name] = router
        xy = spec.tile
        for k, (kind, name) in enumerate(spec.inputs):
            if kind == "source":
                wiring.connect(m, packets[name], getattr(router, f"i_{k}"))
            else:
                arriving[(xy, name)] = getattr(router, f"i_{k}")
        for j, (kind, name) in enumerate(spec.outputs):
            if kind == "deliver":
                wiring.connect(m, getattr(router, f"o_{j}"), delivered[name])
            else:
                leaving[(xy, name)] = getattr(router, f"o_{j}")
    for (xy, port), out in leaving.items():
        wiring.connect(m, out, arriving[(plan.neighbour(xy, port), plan.opposite(port))])
