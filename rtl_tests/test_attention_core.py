"""The attention unit alone (Amaranth's simulator, :mod:`attention_unit_bench`): bit-exact
against the golden step for both variants, many (tokens, dim, heads, lanes), neuron
types, graded spikes and bursts, under random stalls with junk addresses; its cycles per
timestep equal its cycle model exactly; no multiplier anywhere in it."""

import numpy as np
import pytest
from attention_unit_bench import attention_layer, golden_unit, random_spikes, run_unit
from conftest import SEED
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import neurons

from hwgen.core.attention_core import AttentionCore, cycle_model, lanes_for
from hwgen.model import model_from_dict
from hwgen.neuron import Neuron

IF_SOFT = Neuron(model="if", threshold=2, reset="soft", v_bits=10)
LIF_GRADED = Neuron(model="lif", threshold=3, reset="soft", v_bits=10, max_spikes=3,
                    leak_shift=2)
HARD = Neuron(model="if", threshold=4, reset="hard", v_bits=6, v_reset=-1)

# (variant, tokens, dim, heads, lanes, neuron, burst)
CASES = {
    "hadamard_4x16x2_p4": ("hadamard", 4, 16, 2, 4, IF_SOFT, False),
    "hadamard_5x6x3_p2_graded_burst": ("hadamard", 5, 6, 3, 2, LIF_GRADED, True),
    "hadamard_3x5x1_p1_hard": ("hadamard", 3, 5, 1, 1, HARD, False),
    "linear_4x16x2_p4": ("linear", 4, 16, 2, 4, IF_SOFT, False),
    "linear_8x16x2_p1": ("linear", 8, 16, 2, 1, IF_SOFT, False),
    "linear_5x6x3_p2_graded": ("linear", 5, 6, 3, 2, LIF_GRADED, False),
    "linear_3x9x3_p4_graded_burst": ("linear", 3, 9, 3, 4, LIF_GRADED, True),
    "linear_6x4x1_p8_hard": ("linear", 6, 4, 1, 8, HARD, False),
    "linear_1x1x1": ("linear", 1, 1, 1, 1, IF_SOFT, False),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_unit_bit_exact(case, stall):
    variant, tokens, dim, heads, lanes, neuron, burst = CASES[case]
    layer = attention_layer(variant, tokens, dim, heads, neuron)
    rng = np.random.default_rng(SEED)
    x = random_spikes(layer, 4, 0.5, rng)
    out, _ = run_unit(layer, x, lanes=lanes, burst=burst, stall_in=stall, stall_out=stall,
                      seed=SEED, junk=3)
    np.testing.assert_array_equal(out, golden_unit(layer, x))


@st.composite
def random_layers(draw):
    heads = draw(st.integers(1, 3))
    nd = draw(neurons(v_bits_range=(4, 12), threshold_max=12))
    layer_dict = {"variant": draw(st.sampled_from(["hadamard", "linear"])),
                  "tokens": draw(st.integers(1, 6)), "dim": heads * draw(st.integers(1, 6)),
                  "heads": heads, "neuron": nd}
    return _layer(layer_dict)


def _layer(ad):
    """The attention layer of ``ad`` (its fields), loaded through the model file checks."""
    td = ad["tokens"] * ad["dim"]
    proj = {"type": "dense", "input": "input", "size": td, "weight_bits": 2,
            "weights": [[1]] * td,
            "neuron": {"model": "if", "threshold": 1, "reset": "hard", "v_bits": 4}}
    model = model_from_dict({
        "format": "hwgen-model/1", "name": "att", "timesteps": 1,
        "input": {"size": 1, "max_value": 1},
        "layers": [{"name": r, **proj} for r in "qkv"]
                  + [{"name": "att", "type": "attention", "q": "q", "k": "k", "v": "v", **ad}],
        "output": "att"})
    return model.layer("att")


@seed(SEED * 1000 + 500)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(layer=random_layers(), lanes=st.sampled_from([1, 2, 4, 8]), burst=st.booleans(),
       stall=st.sampled_from([0.0, 0.3, 0.7]), density=st.sampled_from([0.1, 0.5, 0.9]),
       steps=st.integers(1, 4), data_seed=st.integers(0, 2**16))
def test_random_layers_bit_exact(layer, lanes, burst, stall, density, steps, data_seed):
    x = random_spikes(layer, steps, density, np.random.default_rng(data_seed))
    out, _ = run_unit(layer, x, lanes=lanes, burst=burst, stall_in=stall, stall_out=stall,
                      seed=data_seed, junk=2)
    np.testing.assert_array_equal(out, golden_unit(layer, x))


@seed(SEED * 1000 + 501)
@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(layer=random_layers(), lanes=st.sampled_from([1, 2, 4, 8]), burst=st.booleans(),
       density=st.sampled_from([0.0, 0.2, 0.6, 1.0]), data_seed=st.integers(0, 2**16))
def test_cycles_equal_the_cycle_model(layer, lanes, burst, density, data_seed):
    """Without stalls, every timestep takes exactly the documented number of cycles
    (including empty timesteps, and with bursts: one cycle per extra event)."""
    x = random_spikes(layer, 3, density, np.random.default_rng(data_seed))
    out, cycles = run_unit(layer, x, lanes=lanes, burst=burst, seed=data_seed)
    td = layer.tokens * layer.dim
    burst_on = burst and layer.neuron.max_spikes > 1
    for t, s in enumerate(x):
        extra = int(out[t].sum() - np.count_nonzero(out[t])) if burst_on else 0
        model = cycle_model(layer, lanes, int(s[:td].sum()), int(s[td:2 * td].sum()),
                            int(s[2 * td:].sum()), burst_extra=extra)
        assert cycles[t] == model, (t, cycles, model)


@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_no_multiplier(variant):
    """Adds and masks only: the unit's netlist has no multiply cell (an IF neuron; a LIF
    decay λ is the neuron's own constant multiply, as in the dense core)."""
    from amaranth.back import rtlil
    layer = attention_layer(variant, 4, 16, 2, IF_SOFT)
    text = rtlil.convert(AttentionCore(layer, timesteps=4, lanes=4), name="att")
    assert "$mul" not in text and "$div" not in text and "$mod" not in text


def test_lanes_respect_heads():
    assert [lanes_for(dh, 8) for dh in (1, 2, 3, 6, 8, 16, 12)] == [1, 2, 1, 2, 8, 8, 4]
    assert lanes_for(16, 5) == 4
