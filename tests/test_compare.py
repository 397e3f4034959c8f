"""first_mismatch names the first (sample, timestep, layer, neuron) in hardware order."""

import numpy as np

from hwgen.compare import describe_mismatch, first_mismatch
from hwgen.model import model_from_dict


def two_layer_model():
    return model_from_dict({
        "format": "hwgen-model/1", "name": "m", "timesteps": 3,
        "input": {"size": 2, "max_value": 1},
        "layers": [
            {"name": "a", "type": "dense", "size": 3, "weights": [[1, 1]] * 3,
             "weight_bits": 4, "neuron": {"model": "if", "threshold": 1, "reset": "soft",
                                          "v_bits": 6}},
            {"name": "b", "type": "dense", "size": 2, "weights": [[1, 1, 1]] * 2,
             "weight_bits": 4, "neuron": {"model": "if", "threshold": 1, "reset": "soft",
                                          "v_bits": 6}}],
        "output": "b"})


def test_equal_is_none():
    model = two_layer_model()
    spikes = {"a": np.zeros((2, 3, 3), int), "b": np.zeros((2, 3, 2), int)}
    assert first_mismatch(model, spikes, {k: v.copy() for k, v in spikes.items()}) is None


def test_earliest_timestep_wins_over_layer_order():
    model = two_layer_model()
    expected = {"a": np.zeros((2, 3, 3), int), "b": np.zeros((2, 3, 2), int)}
    actual = {k: v.copy() for k, v in expected.items()}
    actual["a"][1, 2, 0] = 1          # later sample
    actual["b"][0, 1, 1] = 2          # earlier timestep, later layer: this one first
    actual["a"][0, 1, 2] = 1          # same timestep, earlier layer: this one first
    assert first_mismatch(model, expected, actual) == (0, 1, "a", 2, 0, 1)
    assert "sample 0, timestep 1, layer 'a', neuron 2" in describe_mismatch(
        first_mismatch(model, expected, actual))
