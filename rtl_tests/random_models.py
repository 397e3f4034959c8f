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


def conv_net(in_shape, convs, *, pools=None, dense=(10,), timesteps=3, seed=0,
             input_max=1, sparse=False, neuron=None, flatten=True, name="cnn"):
    """A CNN of random integer weights: ``convs`` is a list of ``(out_channels, kernel,
    stride, padding)``, each followed by the sum pooling ``pools[i]`` (``(kernel,
    stride)`` or None); then a flatten layer (or a dense layer reading the map directly)
    and dense layers of ``dense`` sizes. Thresholds scale with each layer's fan-in, so
    that spikes neither die out nor saturate with binary inputs at about 30% density."""
    rng = np.random.default_rng(seed)
    layers, spikes_in = [], input_max
    c = in_shape[0]
    for k, (co, kernel, stride, padding) in enumerate(convs):
        fan_in = c * kernel * kernel
        layers.append({
            "name": f"conv{k}", "type": "conv2d", "out_channels": co, "kernel": kernel,
            "stride": stride, "padding": padding, "weight_bits": 5, "sparse": sparse,
            "weights": rng.integers(-8, 9, (co, c, kernel, kernel)),
            "neuron": neuron or {"model": "if", "threshold": max(2, fan_in * spikes_in // 6),
                                 "reset": "soft", "v_bits": 14, "max_spikes": 1}})
        c, spikes_in = co, 1
        pool = (pools or [None] * len(convs))[k]
        if pool is not None:
            layers.append({"name": f"pool{k}", "type": "sumpool2d", "kernel": pool[0],
                           "stride": pool[1]})
            spikes_in = pool[0] * pool[0]
    if flatten:
        layers.append({"name": "flat", "type": "flatten"})
    model = model_from_dict({"format": "hwgen-model/1", "name": name,
                             "timesteps": timesteps,
                             "input": {"size": int(np.prod(in_shape)), "max_value": input_max,
                                       "shape": list(in_shape)},
                             "layers": layers, "output": layers[0]["name"]})
    fan_in = model.layers[-1].size
    for k, size in enumerate(dense):
        layers.append({
            "name": f"fc{k}", "type": "dense", "size": size, "weight_bits": 5,
            "weights": rng.integers(-8, 9, (size, fan_in)),
            "neuron": {"model": "if", "threshold": max(2, fan_in * spikes_in // 4),
                       "reset": "soft", "v_bits": 16, "max_spikes": 1}})
        fan_in, spikes_in = size, 1
    return model_from_dict({"format": "hwgen-model/1", "name": name,
                            "timesteps": timesteps,
                            "input": {"size": int(np.prod(in_shape)), "max_value": input_max,
                                      "shape": list(in_shape)},
                            "layers": layers, "output": layers[-1]["name"]})


def nir_paper_cnn(seed=0, timesteps=4, sparse=False, in_shape=(2, 34, 34)):
    """The shape of the NIR paper's CNN (a Sinabs network on N-MNIST): 2x34x34 ->
    conv 16 (5x5, stride 2, padding 1) -> conv 16 (3x3, padding 1) -> sum pool 2 ->
    conv 8 (3x3, padding 1) -> sum pool 2 -> flatten -> dense 256 -> dense 10: 8,970 IF
    neurons at the full input size, random weights."""
    return conv_net(in_shape, [(16, 5, 2, 1), (16, 3, 1, 1), (8, 3, 1, 1)],
                    pools=[None, (2, 2), (2, 2)], dense=(256, 10), timesteps=timesteps,
                    seed=seed, sparse=sparse, name="nir_cnn")
