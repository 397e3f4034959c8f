"""Golden neuron step: DESIGN.md section 4, vectorized over the neurons of a layer."""

import numpy as np

__all__ = ["neuron_step"]


def neuron_step(neuron, v, current):
    """One timestep of a layer's neurons.

    Parameters
    ----------
    neuron : hwgen.model.Neuron
    v : int64 array
        Membrane state before the step.
    current : int64 array
        Input ``I`` of the step (bias included).

    Returns
    -------
    (spikes, v_next) : int64 arrays
    """
    v = np.asarray(v, dtype=np.int64)
    if neuron.model == "if":
        v_leak = v
    elif neuron.leak_shift is not None:
        v_leak = v - (v >> neuron.leak_shift)           # >> on int64 is arithmetic (floor)
    else:
        v_leak = (v * neuron.leak_decay) >> neuron.leak_frac_bits
    u = np.clip(v_leak + current, neuron.v_min, neuron.v_max)
    theta = neuron.threshold
    fired = u >= theta
    if neuron.max_spikes == 1:
        s = fired.astype(np.int64)
    else:
        s = np.where(fired, np.minimum(u // theta, neuron.max_spikes), 0)
    if neuron.reset == "hard":
        v_next = np.where(s > 0, neuron.v_reset, u)
    elif neuron.reset == "soft":
        v_next = u - s * theta
    else:
        v_next = u
    return s.astype(np.int64), v_next.astype(np.int64)
