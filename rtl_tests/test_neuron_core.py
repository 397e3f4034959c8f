"""The neuron core alone (one layer, no FIFO), bit-exact against golden under stalls."""

import numpy as np
import pytest
from conftest import SEED, assert_bit_exact, simulators

from hwgen.inputs import random_inputs
from hwgen.model import model_from_dict
from hwgen.network import GenerateOptions

# (neuron, lanes, burst): every neuron variant, widths that clamp, 1..5 lanes.
CASES = {
    "if_hard_binary_p1": ({"model": "if", "threshold": 5, "reset": "hard", "v_reset": -2,
                           "v_bits": 6}, 1, False),
    "lif_shift_soft_graded_p2": ({"model": "lif", "leak": {"shift": 2}, "threshold": 4,
                                  "reset": "soft", "v_bits": 8, "max_spikes": 4}, 2, False),
    "lif_decay_none_graded_burst_p3": ({"model": "lif", "leak": {"decay": 11, "frac_bits": 4},
                                        "threshold": 3, "reset": "none", "v_bits": 7,
                                        "max_spikes": 3}, 3, True),
    "if_soft_clamp_p5": ({"model": "if", "threshold": 9, "reset": "soft", "v_bits": 5,
                          "max_spikes": 2}, 5, False),
}


def one_layer_model(neuron, seed, fan_in=7, size=10, timesteps=5, max_value=3):
    rng = np.random.default_rng(seed)
    vmax = (1 << (neuron["v_bits"] - 1)) - 1
    return model_from_dict({
        "format": "hwgen-model/1", "name": "core", "timesteps": timesteps,
        "input": {"size": fan_in, "max_value": max_value},
        "layers": [{"name": "layer", "type": "dense", "size": size, "weight_bits": 5,
                    "weights": rng.integers(-16, 16, (size, fan_in)).tolist(),
                    "bias": rng.integers(-min(vmax, 6), min(vmax, 6) + 1, size).tolist(),
                    "neuron": neuron}],
        "output": "layer"})


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("case", sorted(CASES))
def test_core_bit_exact(case, sim, build_dir):
    neuron, lanes, burst = CASES[case]
    model = one_layer_model(neuron, SEED)
    x = random_inputs(model, samples=3, seed=SEED, density=0.6)
    assert_bit_exact(model, x, sim, build_dir,
                     GenerateOptions(lanes=lanes, burst=burst, fifo_depth=0))


@pytest.mark.parametrize("sim", simulators())
def test_core_state_returns_to_zero_between_inferences(sim, build_dir):
    """The same input twice in a row gives the same spikes twice: no state leaks over."""
    model = one_layer_model(CASES["if_soft_clamp_p5"][0], SEED, timesteps=3)
    x = random_inputs(model, samples=1, seed=SEED, density=0.9)
    _, info = assert_bit_exact(model, np.concatenate([x, x]), sim, build_dir,
                               GenerateOptions(lanes=2, fifo_depth=0))
    rtl = info["spikes"]["layer"]
    assert np.array_equal(rtl[0], rtl[1])           # the hardware's two runs agree
    assert rtl[0].any()                              # and the input really makes it spike
