"""Bit-exact comparison of two simulations' spikes, every layer."""

import numpy as np

__all__ = ["first_mismatch", "describe_mismatch"]


def first_mismatch(model, expected, actual):
    """The first ``(sample, timestep, layer, neuron, expected, actual)`` that differs, in
    the order the hardware computes them (sample, then timestep, then layer in file order,
    then neuron); ``None`` when every layer is bit-exact. Arrays are ``[N, T, size]``."""
    first = None
    for order, layer in enumerate(model.layers):
        e, a = np.asarray(expected[layer.name]), np.asarray(actual[layer.name])
        if e.shape != a.shape:
            return (0, 0, layer.name, 0, f"shape {e.shape}", f"shape {a.shape}")
        diff = np.argwhere(e != a)
        if len(diff):
            n, t, i = diff[0]
            key = (int(n), int(t), order, int(i))
            if first is None or key < first[0]:
                first = (key, layer.name, int(e[n, t, i]), int(a[n, t, i]))
    if first is None:
        return None
    (n, t, _, i), name, ev, av = first
    return n, t, name, i, ev, av


def describe_mismatch(mismatch, expected_name="golden", actual_name="rtl"):
    n, t, layer, i, ev, av = mismatch
    return (f"first mismatch: sample {n}, timestep {t}, layer '{layer}', neuron {i}: "
            f"{expected_name} {ev}, {actual_name} {av}")
