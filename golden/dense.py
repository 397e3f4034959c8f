"""Golden dense layer: ``I = bias + W x`` into the layer's neurons (DESIGN.md section 4)."""

from .neuron import neuron_step

__all__ = ["dense_step"]


def dense_step(layer, x, v):
    """One timestep of a dense layer for a batch.

    Parameters
    ----------
    layer : hwgen.layers.dense.DenseLayer
    x : int64 array [batch, fan_in]
        The concatenated input spikes of this timestep.
    v : int64 array [batch, size]
        Membrane state before the step.

    Returns
    -------
    (spikes, v_next) : int64 arrays [batch, size]
    """
    current = x @ layer.weights.T + layer.bias      # exact in int64 (see model ranges)
    return neuron_step(layer.neuron, v, current)
