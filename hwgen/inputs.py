"""Input spike-count files (``.npy``) for simulation."""

from pathlib import Path

import numpy as np

from .errors import HwgenError

__all__ = ["TEST_SPLIT", "InputError", "load_inputs", "load_labels", "load_test_split",
           "random_inputs"]

#: The file next to a model that holds its test split (``check --samples all``).
TEST_SPLIT = "test_split.npz"


class InputError(HwgenError):
    """An input file does not fit the model."""


def _load(path, what, archive=False):
    """The array of a ``.npy`` file, or with ``archive`` the members of an ``.npz``."""
    kind = ".npz archive" if archive else ".npy array"
    try:
        data = np.load(path, allow_pickle=False)
        if archive and isinstance(data, np.lib.npyio.NpzFile):
            # Members load lazily: read them here, where a broken one is caught.
            with data:
                return {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file does not exist") from None
    except Exception as exc:  # numpy raises many kinds for a broken file
        raise InputError(f"{path}: cannot be read as a {kind} ({exc})") from None
    if archive or not isinstance(data, np.ndarray):
        found = "a single array" if isinstance(data, np.ndarray) else "an .npz archive"
        raise InputError(f"{path}: the {what} file must be a {kind}, not {found}")
    return data


def load_inputs(path, model):
    """``X`` from a ``.npy`` file: integers in ``[0, input.max_value]`` of shape
    ``[T, input.size]`` (one inference) or ``[N, T, input.size]``."""
    path = Path(path)
    x = _load(path, "input")
    t, size = model.timesteps, model.input_size
    want = f"[{t}, {size}] or [N, {t}, {size}]"
    if x.ndim not in (2, 3) or x.shape[-2:] != (model.timesteps, model.input_size):
        raise InputError(f"{path}: inputs must have shape {want}, got {list(x.shape)}")
    return _checked_values(path, x, model)


def _checked_values(path, x, model):
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)) or not np.all(x == np.round(x)):
            raise InputError(f"{path}: inputs must be integers")
    elif x.dtype.kind not in "iub":
        raise InputError(f"{path}: inputs must be integers, not {x.dtype}")
    if x.size and (x.min() < 0 or x.max() > model.input_max):
        raise InputError(f"{path}: inputs must lie in [0, {model.input_max}] "
                         f"(input.max_value), found {x.min()} .. {x.max()}")
    return x.astype(np.int64)


def load_labels(path, count):
    """Class labels (``.npy``, ``count`` non-negative integers) of ``count`` inferences."""
    path = Path(path)
    return _checked_labels(path, _load(path, "label"), count)


def _checked_labels(path, y, count):
    if y.ndim != 1 or len(y) != count:
        raise InputError(f"{path}: labels must have shape [{count}] (one per inference), "
                         f"got {list(y.shape)}")
    if y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise InputError(f"{path}: labels must be non-negative integers")
    return y.astype(np.int64)


def load_test_split(model):
    """``(X [N, T, size], labels [N])`` of the model's test split: ``test_split.npz``
    next to the model file, holding ``inputs`` (``[N, T, input.size]``, or
    ``[N, input.size]`` for inputs held for every timestep) and ``labels`` (``[N]``)."""
    if model.path is None or not model.path.is_file():
        raise InputError("this model was not read from a file: it has no test split")
    path = model.path.parent / TEST_SPLIT
    if not path.exists():
        raise InputError(f"{path}: no test split next to the model (an .npz with 'inputs' "
                         "and 'labels'); give --inputs X.npy --labels Y.npy instead")
    split = _load(path, "test split", archive=True)
    missing = {"inputs", "labels"} - set(split)
    if missing:
        raise InputError(f"{path}: the test split lacks {', '.join(sorted(missing))}")
    x, y = split["inputs"], split["labels"]
    t, size = model.timesteps, model.input_size
    if x.ndim == 2 and x.shape[1] == size:
        x = np.repeat(x[:, None, :], t, axis=1)
    if x.ndim != 3 or x.shape[1:] != (t, size):
        raise InputError(f"{path}: 'inputs' must have shape [N, {t}, {size}] or [N, {size}], "
                         f"got {list(x.shape)}")
    return _checked_values(path, x, model), _checked_labels(path, y, x.shape[0])


def random_inputs(model, samples, seed=0, density=0.5):
    """``[samples, T, input.size]`` random inputs: each value nonzero with ``density``."""
    rng = np.random.default_rng(seed)
    shape = (samples, model.timesteps, model.input_size)
    values = rng.integers(1, model.input_max + 1, size=shape)
    return np.where(rng.random(shape) < density, values, 0).astype(np.int64)
