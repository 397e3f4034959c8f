"""The attention unit alone in Amaranth's simulator (:mod:`core_bench`): random Q/K/V
spikes in, its spikes out, checked against the golden step, and its cycles per timestep
counted. The network tests (``test_attention_network.py``) run the same unit inside
generated designs under Verilator and Icarus.
"""

import random

import numpy as np
from core_bench import golden_unit, run_core, shuffled_events

from hwgen.core.attention_core import AttentionCore
from hwgen.layers.attention import AttentionLayer
from hwgen.neuron import Neuron

__all__ = ["attention_layer", "random_spikes", "run_unit", "golden_unit"]


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
    addresses beyond ``3TD`` that the unit must drop. Returns ``(out [steps, TD], cycles)``
    (:func:`core_bench.run_core`).
    """
    steps, fan_in = spikes.shape
    core = AttentionCore(layer, timesteps=steps, lanes=lanes, burst=burst)
    rng = random.Random(seed)
    addr_max = (1 << len(core.i_events.p.addr)) - 1
    stimulus = [shuffled_events([(int(a), 1) for a in np.flatnonzero(spikes[t])],
                                fan_in=fan_in, addr_max=addr_max, junk=junk, rng=rng)
                for t in range(steps)]
    return run_core(core, stimulus, layer.tokens * layer.dim, stall_in=stall_in,
                    stall_out=stall_out, seed=seed,
                    max_cycles=100_000 + 50 * int(spikes.sum()) * layer.dim)

