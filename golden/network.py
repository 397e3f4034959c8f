"""Golden network: every layer of a model over one or many inferences (DESIGN.md section 4)."""

import numpy as np

__all__ = ["run", "predict"]


def run(model, inputs):
    """Spikes of every layer.

    Parameters
    ----------
    model : hwgen.model.Model
    inputs : int array, shape ``[T, input_size]`` or ``[N, T, input_size]``
        Values in ``[0, input_max]``. Every inference starts from zero state.

    Returns
    -------
    dict
        ``{layer name: int64 array [T, size]}`` (``[N, T, size]`` for batched inputs).
    """
    x = np.asarray(inputs)
    if x.ndim not in (2, 3) or x.shape[-1] != model.input_size:
        raise ValueError(f"inputs must have shape [T, {model.input_size}] or "
                         f"[N, T, {model.input_size}], got {list(x.shape)}")
    if x.dtype.kind not in "iub" or (x.size and (x.min() < 0 or x.max() > model.input_max)):
        raise ValueError(f"inputs must be integers in [0, {model.input_max}]")
    batched = x.ndim == 3
    if not batched:
        x = x[None]
    x = x.astype(np.int64)
    n, steps, _ = x.shape
    spikes = {layer.name: np.zeros((n, steps, layer.size), np.int64) for layer in model.layers}
    # The batch is the vector axis: every inference runs in lock-step. Each layer's own
    # arithmetic is its golden step (golden/<type>.py), reached through the layer object.
    state = {layer.name: layer.golden_state(n) for layer in model.layers}
    for t in range(steps):
        seen = {"input": x[:, t]}
        for layer in model.layers:
            xin = np.concatenate([seen[s] for s in layer.inputs], axis=1)
            s, state[layer.name] = layer.golden_step(xin, state[layer.name])
            spikes[layer.name][:, t] = s
            seen[layer.name] = s
    return spikes if batched else {k: v[0] for k, v in spikes.items()}


def predict(model, spikes):
    """Argmax over output neurons of the summed output spikes (lowest index wins ties)."""
    out = spikes[model.output]
    return np.argmax(out.sum(axis=-2), axis=-1)
