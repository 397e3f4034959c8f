"""Hypothesis strategies of random valid dense models (DESIGN.md section 3)."""

import numpy as np
from hypothesis import strategies as st

from hwgen.model import model_from_dict


@st.composite
def neurons(draw, v_bits_range=(4, 14), threshold_max=40):
    v_bits = draw(st.integers(*v_bits_range))
    vmax = (1 << (v_bits - 1)) - 1
    model = draw(st.sampled_from(["if", "lif"]))
    n = {
        "model": model,
        "threshold": draw(st.integers(1, min(vmax, threshold_max))),
        "reset": draw(st.sampled_from(["hard", "soft", "none"])),
        "v_reset": draw(st.integers(-min(8, vmax), min(8, vmax))),
        "v_bits": v_bits,
        "max_spikes": draw(st.sampled_from([1, 1, 2, 3, 5])),
    }
    if model == "lif":
        if draw(st.booleans()):
            n["leak"] = {"shift": draw(st.integers(0, min(6, v_bits)))}
        else:
            f = draw(st.integers(0, 6))
            n["leak"] = {"decay": draw(st.integers(0, 1 << f)), "frac_bits": f}
    return n


# Larger matrices come from NumPy with a drawn seed: hypothesis draws (and shrinks) each
# value of a small one, but its data budget is far below 256 x 1024 weights.
HYPOTHESIS_MATRIX_MAX = 256


def _matrix(draw, rows, cols, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if rows * cols > HYPOTHESIS_MATRIX_MAX:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        return rng.integers(lo, hi + 1, (rows, cols)).tolist()
    return [[draw(st.integers(lo, hi)) for _ in range(cols)] for _ in range(rows)]


@st.composite
def models(draw, max_layers=3, max_size=10, max_input=12, min_size=1):
    """A random valid model, with list inputs (concatenation) and fan-out sometimes.

    Layers have ``min_size .. max_size`` neurons, the input ``min_size .. max_input``
    values; thresholds reach a few times the fan-in, so that large layers do not all
    fire on every timestep.
    """
    input_size = draw(st.integers(min_size, max_input))
    sizes = {"input": input_size}
    layers = []
    for k in range(draw(st.integers(1, max_layers))):
        name = f"l{k}"
        size = draw(st.integers(min_size, max_size))
        earlier = list(sizes)
        if k > 0 and draw(st.integers(0, 3)) == 0:
            inputs = draw(st.lists(st.sampled_from(earlier), min_size=2, max_size=2,
                                   unique=True))
        else:
            inputs = [earlier[-1]]
        fan_in = sum(sizes[s] for s in inputs)
        bits = draw(st.integers(2, 8))
        neuron = draw(neurons(threshold_max=max(40, 4 * fan_in)))
        vmax = (1 << (neuron["v_bits"] - 1)) - 1
        layer = {"name": name, "type": "dense", "size": size,
                 "input": inputs if len(inputs) > 1 else inputs[0],
                 "weights": _matrix(draw, size, fan_in, bits), "weight_bits": bits,
                 "neuron": neuron}
        if draw(st.booleans()):
            layer["bias"] = [draw(st.integers(-min(vmax, 20), min(vmax, 20)))
                             for _ in range(size)]
        layers.append(layer)
        sizes[name] = size
    data = {"format": "hwgen-model/1", "name": "rnd", "timesteps": draw(st.integers(1, 5)),
            "input": {"size": input_size, "max_value": draw(st.sampled_from([1, 1, 3, 7]))},
            "layers": layers, "output": draw(st.sampled_from(list(sizes)[1:]))}
    return model_from_dict(data)


def dense_mlp(sizes, timesteps=4, seed=0, name="mlp"):
    """A dense network of the sizes users have (e.g. 784-128-10): 8-bit random weights,
    LIF neurons with binary spikes, thresholds that give a moderate spike rate."""
    rng = np.random.default_rng(seed)
    layers = []
    for k, (fan_in, size) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append({
            "name": f"l{k}", "type": "dense", "size": size, "weight_bits": 8,
            "weights": rng.integers(-128, 128, (size, fan_in)).tolist(),
            "neuron": {"model": "lif", "leak": {"shift": 3}, "threshold": 800,
                       "reset": "soft", "v_bits": 16, "max_spikes": 1}})
    return model_from_dict({"format": "hwgen-model/1", "name": name,
                            "timesteps": timesteps,
                            "input": {"size": sizes[0], "max_value": 1},
                            "layers": layers, "output": layers[-1]["name"]})
