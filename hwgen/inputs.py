"""Input spike-count files (``.npy``) for simulation."""

from pathlib import Path

import numpy as np

from .errors import HwgenError

__all__ = ["InputError", "load_inputs", "random_inputs"]


class InputError(HwgenError):
    """An input file does not fit the model."""


def load_inputs(path, model):
    """``X`` from a ``.npy`` file: integers in ``[0, input.max_value]`` of shape
    ``[T, input.size]`` (one inference) or ``[N, T, input.size]``."""
    path = Path(path)
    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: input file does not exist") from None
    except Exception as exc:  # numpy raises many kinds for a broken file
        raise InputError(f"{path}: cannot be read as a .npy array ({exc})") from None
    t, size = model.timesteps, model.input_size
    want = f"[{t}, {size}] or [N, {t}, {size}]"
    if x.ndim not in (2, 3) or x.shape[-2:] != (model.timesteps, model.input_size):
        raise InputError(f"{path}: inputs must have shape {want}, got {list(x.shape)}")
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
            raise InputError(f"{path}: inputs must be integers")
    elif x.dtype.kind not in "iub":
        raise InputError(f"{path}: inputs must be integers, not {x.dtype}")
    if x.size and (x.min() < 0 or x.max() > model.input_max):
        raise InputError(f"{path}: inputs must lie in [0, {model.input_max}] "
                         f"(input.max_value), found {x.min()} .. {x.max()}")
    return x.astype(np.int64)


def random_inputs(model, samples, seed=0, density=0.5):
    """``[samples, T, input.size]`` random inputs: each value nonzero with ``density``."""
    rng = np.random.default_rng(seed)
    shape = (samples, model.timesteps, model.input_size)
    values = rng.integers(1, model.input_max + 1, size=shape)
    return np.where(rng.random(shape) < density, values, 0).astype(np.int64)
