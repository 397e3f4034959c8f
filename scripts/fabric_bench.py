"""Benchmarks of the router fabric, for ``scripts/bench.py`` (section ``fabric``).

1. Split speed-up: a 784 -> 128 layer on the crossbar over 1, 2, 4, 8 cores (and on the
   mesh), cycles per timestep measured in co-simulation (fast engine, no stalls).
2. Router throughput: one router alone in Amaranth's simulator, saturated (every input
   always valid, every output always ready): packets per cycle per output port when
   destinations do not collide (a permutation) and when all inputs want one output.
3. Latency: cycles from a packet entering the first router of a chain of 1, 2, 4 mesh
   routers (2-entry link FIFOs) to leaving the last.
4. Size: a 5-port mesh router with a 32-bit packet (the payload Hoplite reports), and
   the same router without input FIFOs, synthesized by yosys for iCE40 and ECP5:
   LUT/FF/BRAM per router and per port.
"""

import sys
from pathlib import Path

import numpy as np
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from hwgen.aer import packet_layout
from hwgen.build import synth_resources
from hwgen.core.router import LINK, Deliver, Router
from hwgen.inputs import random_inputs
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import run_rtl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from random_models import dense_mlp  # noqa: E402

__all__ = ["bench_fabric"]

LINK_DEPTH = GenerateOptions().link_depth       # the mesh's default link FIFO

HOPLITE = {"LUT": 60, "FF": 100, "payload_bits": 32,
           "source": ("Kapre and Gray, FPL 2015: a deflection-routed 2D torus router, "
                      "Xilinx Virtex-7, 32-bit payload")}


def split_speedup(build, log):
    model = dense_mlp([784, 128], timesteps=4, seed=0, name="wide")
    x = random_inputs(model, samples=2, seed=5, density=0.2)
    events = int(np.count_nonzero(x))
    runs = []
    for topology, cores in [("p2p", 1), ("crossbar", 1), ("crossbar", 2), ("crossbar", 4),
                            ("crossbar", 8), ("mesh", 8)]:
        splits = {} if topology == "p2p" else {"l0": cores}
        options = GenerateOptions(topology=topology, splits=splits)
        _, info = run_rtl(model, x, options=options,
                          build_dir=build / f"split_{topology}_{cores}",
                          stall_in=0.0, stall_out=0.0)
        ticks = info["tick_cycles"]["l0"]
        # From the first tick on, one timestep per tick interval (the first includes
        # the reset's state clearing).
        per_step = float(np.mean(np.diff(ticks)))
        runs.append({"topology": topology, "cores": cores, "cycles": info["cycles"],
                     "cycles_per_timestep": round(per_step, 1)})
        log(f"fabric: 784->128 on {topology}, {cores} core(s): {per_step:.0f} cycles/timestep")
    base = next(r for r in runs if r["topology"] == "crossbar" and r["cores"] == 1)
    for r in runs:
        r["speedup"] = round(base["cycles_per_timestep"] / r["cycles_per_timestep"], 2)
    return {"workload": f"784 -> 128 LIF layer, 8-bit weights, 2 inferences x 4 timesteps, "
                        f"{events} input events (density 0.2), P = 1, no stalls",
            "runs": runs}


def _saturate(router, n_in, n_out, cycles):
    """Every input always valid with packets of source k (routed by the table), every
    output always ready: packets out of each output in ``cycles`` cycles."""
    counts = [0] * n_out

    async def bench(ctx):
        for k in range(n_in):
            port = getattr(router, f"i_{k}")
            ctx.set(port.valid, 1)
            ctx.set(port.p.src, k)
            ctx.set(port.p.addr, k)
        for j in range(n_out):
            ctx.set(getattr(router, f"o_{j}").ready, 1)
        for _ in range(cycles):
            await ctx.tick()
            for j in range(n_out):
                o = getattr(router, f"o_{j}")
                counts[j] += ctx.get(o.valid) and ctx.get(o.ready)
    sim = Simulator(router)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return counts


def throughput(log):
    layout = packet_layout(4, 256, 1)
    cycles = 1000
    runs = []
    for name, table in [("permutation (k -> (k + 1) mod 4)",
                         [{(k + 1) % 4} for k in range(4)]),
                        ("all to output 0", [{0} for _ in range(4)]),
                        ("broadcast (every input to every output)", [set(range(4))] * 4)]:
        for depth in (0, 1, 2):
            router = Router(layout, 4, [LINK] * 4, table, buffer_depth=depth)
            counts = _saturate(router, 4, 4, cycles)
            used = [c for c in counts if c]
            per_port = round(sum(used) / len(used) / cycles, 3)
            runs.append({"traffic": name, "input_fifo": depth, "packets_out": counts,
                         "per_used_output_per_cycle": per_port})
            log(f"fabric: router 4x4 {name}, fifo {depth}: {per_port} packets/cycle/port")
    return {"workload": f"4-input, 4-output router, inputs always valid, outputs always "
                        f"ready, {cycles} cycles", "runs": runs}


class _Chain(Elaboratable):
    """Routers connected output 0 to input 0, in a line."""

    def __init__(self, routers):
        self.routers = routers

    def elaborate(self, platform):
        m = Module()
        for k, r in enumerate(self.routers):
            m.submodules[f"r{k}"] = r
        for a, b in zip(self.routers, self.routers[1:], strict=False):
            wiring.connect(m, a.o_0, b.i_0)
        return m


def _chain_latency(hops):
    """Cycles from a packet taken at the first router of ``hops`` to valid at the last."""
    layout = packet_layout(2, 256, 1)
    chain = _Chain([Router(layout, 1, [LINK], [{0}, {0}], buffer_depth=LINK_DEPTH)
                    for _ in range(hops)])
    first, last = chain.routers[0].i_0, chain.routers[-1].o_0
    result = {}

    async def bench(ctx):
        ctx.set(last.ready, 1)
        ctx.set(first.valid, 1)
        ctx.set(first.p.addr, 7)
        await ctx.tick()            # taken at this edge
        ctx.set(first.valid, 0)
        for cycle in range(1, 100):
            if ctx.get(last.valid):
                result["cycles"] = cycle
                return
            await ctx.tick()
    sim = Simulator(chain)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return result["cycles"]


def latency(log):
    runs = []
    for hops in (1, 2, 4):
        runs.append({"hops": hops, "cycles": _chain_latency(hops)})
        log(f"fabric: {hops} hop(s): {runs[-1]['cycles']} cycles")
    return {"workload": f"one packet through a chain of mesh routers ({LINK_DEPTH}-entry "
                        "FIFO at each input), no contention: cycles from taken at the "
                        "first input to valid at the last output", "runs": runs}


# Outputs: 0 local (delivery), 1 north, 2 east, 3 south, 4 west. Inputs: 0 local, then
# from the north, east, south, west neighbour. X-Y routing: a packet travelling in Y
# never turns to X, none goes back where it came from.
_XY_TURNS = [{0, 1, 2, 3, 4}, {0, 3}, {0, 1, 3, 4}, {0, 1}, {0, 1, 2, 3}]


def router_size(log):
    # 32 bits like Hoplite's payload: 64 sources (6 bits), 24-bit address, value, tick.
    layout = packet_layout(64, 1 << 24, 1)
    assert layout.size == 32
    rng = np.random.default_rng(0)
    runs = []
    for sources in (8, 64):
        # A router inside a mesh: each source arrives on one input (the local port for
        # one of them), its row a random non-empty set of the turns X-Y allows there.
        arrivals = [{0}, *({s for s in range(1, sources) if s % 4 == k} for k in range(4))]
        table = []
        for src in range(sources):
            allowed = sorted(_XY_TURNS[next(k for k, a in enumerate(arrivals) if src in a)])
            pick = rng.random(len(allowed)) < 0.5
            pick[rng.integers(len(allowed))] = True
            table.append({p for p, keep in zip(allowed, pick, strict=True) if keep})
        for depth in (0, LINK_DEPTH):
            for family in ("ice40", "ecp5"):
                router = Router(layout, 5, [Deliver(range(sources))] + [LINK] * 4, table,
                                buffer_depth=depth, arrivals=arrivals)
                res = synth_resources(router, "router", family)
                runs.append({"sources": sources, "family": family, "input_fifo": depth,
                             **res, "LUT_per_port": round(res["LUT"] / 5, 1),
                             "FF_per_port": round(res["FF"] / 5, 1)})
                log(f"fabric: 5-port router, {sources} sources, {family}, fifo {depth}: {res}")
    return {"workload": "a 5-port mesh router (local + 4 links) inside a mesh, 32-bit "
                        "packets (6-bit source id, 24-bit address, value, tick), routing "
                        "table of 8 or 64 sources with X-Y turns only, one delivery port "
                        "(tick merging); yosys synth_ice40 / synth_ecp5, no place and route",
            "hoplite": HOPLITE, "runs": runs}


def bench_fabric(build, log):
    return {"split": split_speedup(build, log), "throughput": throughput(log),
            "latency": latency(log), "size": router_size(log)}
