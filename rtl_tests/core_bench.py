"""One core alone in Amaranth's simulator: input events of each timestep in, its output
events out, summed per address, and its cycles per timestep counted.

No Verilog build, so property-based tests can afford many random layers; the network
tests run the same cores inside generated designs under Verilator and Icarus.
"""

import random

import numpy as np
from amaranth.sim import Simulator

__all__ = ["run_core", "golden_unit", "shuffled_events"]


def shuffled_events(events, *, fan_in, addr_max, junk, rng):
    """``events`` (``[(addr, value)]``) plus ``junk`` events at addresses beyond ``fan_in``
    (that the core must drop), in a random order."""
    evs = list(events)
    evs += [(rng.randint(fan_in, addr_max), 1) for _ in range(junk if addr_max >= fan_in
                                                               else 0)]
    rng.shuffle(evs)
    return evs


def run_core(core, stimulus, out_size, *, stall_in=0.0, stall_out=0.0, seed=0,
             max_cycles=100_000, also=(), toplevel=None):
    """Feed ``stimulus`` (per timestep a list of ``(addr, value)`` events) to ``core``,
    each timestep followed by its tick, under random stalls on both streams (``seed``).

    Returns ``(out [steps, out_size], cycles)``: ``cycles[t]`` counts the cycles from
    timestep ``t``'s first input handshake (its tick's when it has no event) to its output
    tick, both included: without stalls, the core's own time. ``also``: more testbenches
    to run alongside (e.g. one that loads weights); ``toplevel``: the design to simulate
    when ``core`` is part of a larger one.
    """
    steps = len(stimulus)
    out = np.zeros((steps, out_size), np.int64)
    cycles = []

    async def bench(ctx):
        ready_rng = random.Random(seed + 1)
        t, index, start, cycle = 0, 0, None, 0
        ctx.set(core.i_events.valid, 0)
        while t < steps:
            events = stimulus[t]
            presenting = index <= len(events) and ready_rng.random() >= stall_in
            if presenting:
                if index < len(events):
                    ctx.set(core.i_events.p, {"addr": events[index][0],
                                              "value": events[index][1], "tick": 0})
                else:
                    ctx.set(core.i_events.p, {"addr": 0, "value": 0, "tick": 1})
            ctx.set(core.i_events.valid, presenting)
            ctx.set(core.o_events.ready, ready_rng.random() >= stall_out)
            _, _, i_ready, o_valid, o_ready, o_p = await ctx.tick().sample(
                core.i_events.ready, core.o_events.valid, core.o_events.ready,
                core.o_events.p)
            cycle += 1
            if presenting and i_ready:
                if start is None:
                    start = cycle
                index += 1
            if o_valid and o_ready:
                if o_p.tick:
                    cycles.append(cycle - start + 1)
                    t, index, start = t + 1, 0, None
                else:
                    out[t, o_p.addr] += o_p.value
            if cycle > max_cycles:
                raise AssertionError(f"the core stopped moving (timestep {t}, "
                                     f"{cycle} cycles)")
        ctx.set(core.i_events.valid, 0)

    sim = Simulator(toplevel or core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    for other in also:
        sim.add_testbench(other, background=True)
    sim.run()
    return out, cycles


def golden_unit(layer, spikes):
    """The golden spikes of one inference of ``layer`` alone, for its input ``spikes``
    ``[steps, fan_in]``."""
    state = layer.golden_state(1)
    out = []
    for x in spikes:
        s, state = layer.golden_step(x[None], state)
        out.append(s[0])
    return np.array(out)
