"""What the layer types with weights (``dense``, ``conv2d``) share: the checks of their
``weights``, ``weight_bits`` and ``bias`` fields, and the memories of their cores."""

import numpy as np

__all__ = ["WEIGHT_BITS_RANGE", "parse_weights", "parse_bias", "core_memories"]

WEIGHT_BITS_RANGE = (2, 16)


def parse_weights(c, fields, shape):
    """``(weights, weight_bits)``: the tensor of ``shape``, every value in signed
    ``weight_bits``."""
    weight_bits = c.integer(fields["weight_bits"], "weight_bits", *WEIGHT_BITS_RANGE)
    weights = c.tensor(fields["weights"], "weights", shape)
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    if weights.size and (weights.min() < lo or weights.max() > hi):
        bad = tuple(int(i) for i in np.argwhere((weights < lo) | (weights > hi))[0])
        c.fail(f"weights[{', '.join(map(str, bad))}] = {weights[bad]} does not fit in "
               f"signed weight_bits={weight_bits} ([{lo}, {hi}])")
    return weights, weight_bits


def parse_bias(c, fields, size, neuron):
    """The optional ``bias`` of ``size`` values, each within the membrane (zeros when
    absent)."""
    if "bias" not in fields:
        return np.zeros(size, dtype=np.int64)
    bias = c.tensor(fields["bias"], "bias", (size,))
    if bias.size and (bias.min() < neuron.v_min or bias.max() > neuron.v_max):
        bad = int(np.argmax((bias < neuron.v_min) | (bias > neuron.v_max)))
        c.fail(f"bias[{bad}] = {bias[bad]} does not fit in signed v_bits={neuron.v_bits}")
    return bias


def core_memories(core):
    """``{name: {"width", "depth"}}`` of a core whose params list ``<name>_memory`` for
    weights, accumulators, potentials and bias (``None`` when it has none)."""
    p = core.params
    return {name: p[f"{name}_memory"] for name in ("weight", "acc", "v", "bias")
            if p[f"{name}_memory"] is not None}
