"""The attention unit alone in Amaranth's simulator: random Q/K/V spikes in, its spikes out,
checked against the golden step, and its cycles per timestep counted.

No Verilog build, so property-based tests can afford many random layers; the network
tests (``test_attention_network.py``) run the same unit inside generated designs under
Verilator and Icarus.
"""

import random

import numpy as np
from amaranth.sim import Simulator

from hwgen.core.attention_core import AttentionCore
from hwgen.layers.attention import AttentionLayer
from hwgen.neuron import Neuron


def attention_layer(variant, tokens, dim, heads, neuron=None):
    """An attention layer (its q, k, v are named but need not exist: the unit alone)."""
    neuron = neuron or Neuron(model="if", threshold=2, reset="soft", v_bits=10)
    return AttentionLayer(name="att", inputs=["q", "k", "v"], variant=variant, tokens=tokens,
                          dim=dim, heads=heads, neuron=neuron)


def random_spikes(layer, steps, density, rng):
    """``[steps, 3 * tokens * dim]`` binary Q|K|V spikes."""
    return (rng.random((steps, 3 * layer.tokens * layer.dim)) < density).astype(np.int64)


def run_unit(layer, spikes, *, lanes=1, burst=False, stall_in=0.0, stall_out=0.0, seed=0,
             junk=0):
    """Feed ``spikes`` (``[steps, 3TD]``, one inference) through the unit.

    Events of a timestep go in a random order (``seed``), with ``junk`` extra events at
    addresses beyond ``3TD`` that the unit must drop. Returns ``(out [steps, TD], cycles)``:
    ``cycles[t]`` counts the cycles from timestep ``t``'s first input handshake to its
    output tick, both included (without stalls: the unit's own time).
    """
    steps, fan_in = spikes.shape
    td = layer.tokens * layer.dim
    core = AttentionCore(layer, timesteps=steps, lanes=lanes, burst=burst)
    rng = random.Random(seed)
    addr_max = (1 << len(core.i_events.p.addr)) - 1
    stimulus = []
    for t in range(steps):
        evs = [(int(a), 1) for a in np.flatnonzero(spikes[t])]
        evs += [(rng.randint(fan_in, addr_max), 1) for _ in range(junk if addr_max >= fan_in
                                                                   else 0)]
        rng.shuffle(evs)
        stimulus.append(evs)
    out = np.zeros((steps, td), np.int64)
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
            if cycle > 100_000 + 50 * sum(len(e) for e in stimulus) * layer.dim:
                raise AssertionError("the attention unit stopped moving")
        ctx.set(core.i_events.valid, 0)

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out, cycles


def golden_unit(layer, spikes):
    """The golden spikes of one inference of the layer alone."""
    state = layer.golden_state(1)
    out = []
    for x in spikes:
        s, state = layer.golden_step(x[None], state)
        out.append(s[0])
    return np.array(out)
