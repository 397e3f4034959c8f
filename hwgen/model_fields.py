"""Checks of model-file fields (DESIGN.md section 3), shared by the loader and every layer
type: each failure is one :class:`ModelError` naming the file, the layer and the rule."""

import re

import numpy as np

from .errors import HwgenError

__all__ = ["ModelError", "FieldChecker", "kind", "MAX_SIZE"]

NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
# The most neurons of a layer or inputs of a network (addresses of one event stream).
MAX_SIZE = 65536


class ModelError(HwgenError):
    """A model file breaks a rule of ``hwgen-model/1``."""


class FieldChecker:
    """Collects the context (file, layer) every message names."""

    def __init__(self, path, base_dir):
        self.path = path
        self.layer = None
        self.base_dir = base_dir     # tensor files are relative to the model file
        self._npz_cache = {}      # one read of each .npz, however many tensors it holds

    def fail(self, rule):
        where = f"{self.path}"
        if self.layer is not None:
            where += f": layer '{self.layer}'"
        raise ModelError(f"{where}: {rule}")

    def mapping(self, value, what):
        if not isinstance(value, dict):
            self.fail(f"{what} must be a mapping, not {kind(value)}")
        return value

    def keys(self, d, what, required, optional=()):
        for key in required:
            if key not in d:
                self.fail(f"{what} is missing the field '{key}'")
        unknown = sorted(set(d) - set(required) - set(optional), key=str)
        if unknown:
            allowed = ", ".join(sorted(set(required) | set(optional)))
            self.fail(f"{what} has an unknown field '{unknown[0]}' (allowed: {allowed})")

    def integer(self, value, what, lo=None, hi=None):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            self.fail(f"{what} must be an integer, not {kind(value)} {value!r}")
        value = int(value)
        if lo is not None and value < lo:
            self.fail(f"{what} must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            self.fail(f"{what} must be <= {hi}, got {value}")
        return value

    def feature_map_shape(self, value, what):
        """A ``[C, H, W]`` list of positive integers."""
        if not isinstance(value, list) or len(value) != 3:
            self.fail(f"{what} must be a list [C, H, W], not {kind(value)} {value!r}")
        shape = tuple(self.integer(v, f"{what}[{i}]", 1, MAX_SIZE) for i, v in enumerate(value))
        if shape[0] * shape[1] * shape[2] > MAX_SIZE:
            self.fail(f"{what} {list(shape)} holds more than {MAX_SIZE} values")
        return shape

    def name(self, value, what):
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.fail(f"{what} must match [a-z][a-z0-9_]*, got {value!r}")
        return value

    def choice(self, value, what, choices):
        if value not in choices:
            self.fail(f"{what} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def tensor(self, spec, what, shape):
        if isinstance(spec, dict):
            self.keys(spec, what, ("file", "key"))
            file = spec["file"]
            if not isinstance(file, str) or not isinstance(spec["key"], str):
                self.fail(f"{what}: 'file' and 'key' must be strings")
            npz_path = self.base_dir / file
            if npz_path not in self._npz_cache:
                if not npz_path.is_file():
                    self.fail(f"{what}: tensor file '{npz_path}' does not exist")
                try:
                    with np.load(npz_path, allow_pickle=False) as npz:
                        self._npz_cache[npz_path] = {k: npz[k] for k in npz.files}
                except Exception as exc:  # numpy raises many kinds for a broken file
                    self.fail(f"{what}: tensor file '{npz_path}' cannot be read as .npz ({exc})")
            arrays = self._npz_cache[npz_path]
            if spec["key"] not in arrays:
                self.fail(f"{what}: key '{spec['key']}' is not in '{npz_path}' "
                          f"(it has: {', '.join(sorted(arrays)) or 'nothing'})")
            array = self._array(arrays[spec["key"]], what)
        elif isinstance(spec, np.ndarray):          # models built in code (Python API)
            array = self._array(spec, what)
        else:
            array = self._nested(spec, what)
        if array.shape != tuple(shape):
            self.fail(f"{what} must have shape {list(shape)}, got {list(array.shape)}")
        return array

    def _array(self, array, what):
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                self.fail(f"{what} must hold integers only (the model is quantized)")
        elif array.dtype.kind not in "iub":
            self.fail(f"{what} must hold integers only, not {array.dtype}")
        if array.size and np.abs(array.astype(np.float64)).max() >= 2**62:
            self.fail(f"{what} holds values too large for any supported width")
        return array.astype(np.int64)

    def _nested(self, spec, what):
        if not isinstance(spec, list):
            self.fail(f"{what} must be a nested list of integers or {{file:, key:}}, "
                      f"not {kind(spec)}")

        def walk(x, depth):
            if isinstance(x, list):
                # A bound on the depth stops a recursive YAML alias (`&w [*w]`);
                # shapes are checked afterwards.
                if depth >= 8:
                    self.fail(f"{what} is nested too deeply (a recursive alias?)")
                return [walk(y, depth + 1) for y in x]
            if isinstance(x, bool) or not isinstance(x, int | np.integer):
                self.fail(f"{what} must hold integers only, found {x!r}")
            if abs(int(x)) >= 2**62:
                self.fail(f"{what} holds values too large for any supported width")
            return int(x)

        values = walk(spec, 0)
        try:
            return np.array(values, dtype=np.int64)
        except ValueError:
            self.fail(f"{what} is a ragged list (rows of different lengths)")


def kind(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            float: "a float", type(None): "empty"}.get(type(value), type(value).__name__)
