"""The model file, ``format: hwgen-model/1`` (DESIGN.md section 3): loading and validation.

:func:`load_model` reads a YAML file, checks every rule and returns a :class:`Model` whose
tensors are ``numpy.int64`` arrays. Any broken rule raises :class:`ModelError` with one
message naming the file, the layer and the rule; nothing else is raised for bad input.
"""

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .errors import HwgenError

__all__ = ["ModelError", "Neuron", "DenseLayer", "Model", "load_model", "model_from_dict"]

FORMAT = "hwgen-model/1"
NAME_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
# Ranges hwgen supports; the golden model computes in int64, so these keep every
# intermediate value (fan-in * weight * input value, v * decay) far inside 63 bits.
V_BITS_RANGE = (2, 32)
WEIGHT_BITS_RANGE = (2, 16)
MAX_SPIKES_RANGE = (1, 255)
INPUT_MAX_RANGE = (1, 255)
FRAC_BITS_RANGE = (0, 16)
MAX_SIZE = 65536
MAX_TIMESTEPS = 65536
# (System)Verilog keywords cannot name the top module (IEEE 1800-2017 Annex B).
_RESERVED = set("""
    accept_on alias always always_comb always_ff always_latch and assert assign assume
    automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez
    cell chandle checker class clocking cmos config const constraint context continue cover
    covergroup coverpoint cross deassign default defparam design disable dist do edge else
    end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
    endinterface endmodule endpackage endprimitive endprogram endproperty endspecify
    endsequence endtable endtask enum event eventually expect export extends extern final
    first_match for force foreach forever fork forkjoin function generate genvar global
    highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir
    include initial inout input inside instance int integer interconnect interface
    intersect join join_any join_none large let liblist library local localparam logic
    longint macromodule matches medium modport module nand negedge nettype new nexttime
    nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos
    posedge primitive priority program property protected pull0 pull1 pulldown pullup
    pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real
    realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
    rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence
    shortint shortreal showcancelled signed small soft solve specify specparam static
    string strong strong0 strong1 struct super supply0 supply1 sync_accept_on
    sync_reject_on table tagged task this throughout time timeprecision timeunit tran
    tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0
    unsigned until until_with untyped use uwire var vectored virtual void wait wait_order
    wand weak weak0 weak1 while wildcard wire with within wor xnor xor
""".split())


class ModelError(HwgenError):
    """A model file breaks a rule of ``hwgen-model/1``."""


@dataclass(frozen=True)
class Neuron:
    """Neuron parameters of one layer (DESIGN.md section 4)."""
    model: str                 # "if" | "lif"
    threshold: int
    reset: str                 # "hard" | "soft" | "none"
    v_bits: int
    max_spikes: int = 1
    v_reset: int = 0
    leak_shift: int | None = None        # lif {shift: k}
    leak_decay: int | None = None        # lif {decay: λ, frac_bits: f}
    leak_frac_bits: int | None = None

    @property
    def v_min(self):
        return -(1 << (self.v_bits - 1))

    @property
    def v_max(self):
        return (1 << (self.v_bits - 1)) - 1

    def to_dict(self):
        d = {"model": self.model}
        if self.leak_shift is not None:
            d["leak"] = {"shift": self.leak_shift}
        elif self.leak_decay is not None:
            d["leak"] = {"decay": self.leak_decay, "frac_bits": self.leak_frac_bits}
        d.update(threshold=self.threshold, reset=self.reset, v_reset=self.v_reset,
                 v_bits=self.v_bits, max_spikes=self.max_spikes)
        return d


@dataclass
class DenseLayer:
    name: str
    inputs: list[str]          # source names, concatenated in this order ("input" = network)
    size: int
    weights: np.ndarray        # int64 [size, fan_in]
    bias: np.ndarray           # int64 [size]
    weight_bits: int
    neuron: Neuron
    type: str = field(default="dense")

    @property
    def fan_in(self):
        return self.weights.shape[1]


@dataclass
class Model:
    name: str
    timesteps: int
    input_size: int
    input_max: int
    layers: list[DenseLayer]
    output: str
    path: Path | None = None

    def layer(self, name):
        return next(layer for layer in self.layers if layer.name == name)

    def source_size(self, name):
        return self.input_size if name == "input" else self.layer(name).size

    def source_max(self, name):
        """Largest value an event from ``name`` carries."""
        return self.input_max if name == "input" else self.layer(name).neuron.max_spikes


# --- loading -------------------------------------------------------------------------------

class _Checker:
    """Collects the context (file, layer) every message names."""

    def __init__(self, path):
        self.path = path
        self.layer = None

    def fail(self, rule):
        where = f"{self.path}"
        if self.layer is not None:
            where += f": layer '{self.layer}'"
        raise ModelError(f"{where}: {rule}")

    def mapping(self, value, what):
        if not isinstance(value, dict):
            self.fail(f"{what} must be a mapping, not {_kind(value)}")
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
            self.fail(f"{what} must be an integer, not {_kind(value)} {value!r}")
        value = int(value)
        if lo is not None and value < lo:
            self.fail(f"{what} must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            self.fail(f"{what} must be <= {hi}, got {value}")
        return value

    def name(self, value, what):
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.fail(f"{what} must match [a-z][a-z0-9_]*, got {value!r}")
        return value

    def choice(self, value, what, choices):
        if value not in choices:
            self.fail(f"{what} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def tensor(self, spec, what, shape, base_dir, npz_cache):
        if isinstance(spec, dict):
            self.keys(spec, what, ("file", "key"))
            file = spec["file"]
            if not isinstance(file, str) or not isinstance(spec["key"], str):
                self.fail(f"{what}: 'file' and 'key' must be strings")
            npz_path = (base_dir / file)
            if npz_path not in npz_cache:
                if not npz_path.is_file():
                    self.fail(f"{what}: tensor file '{npz_path}' does not exist")
                try:
                    with np.load(npz_path, allow_pickle=False) as npz:
                        npz_cache[npz_path] = {k: npz[k] for k in npz.files}
                except Exception as exc:  # numpy raises many kinds for a broken file
                    self.fail(f"{what}: tensor file '{npz_path}' cannot be read as .npz ({exc})")
            arrays = npz_cache[npz_path]
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
                      f"not {_kind(spec)}")

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


def _kind(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            float: "a float", type(None): "empty"}.get(type(value), type(value).__name__)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (the default keeps the
    last one silently, hiding a typo)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue                    # left to the default (which refuses it)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_model(path):
    """Read and validate a model file; raise :class:`ModelError` on any broken rule."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ModelError(f"{path}: model file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: model file cannot be read ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelError(f"{path}: not valid YAML{at}: {problem}") from None
    return model_from_dict(data, path=path)


def model_from_dict(data, path=Path("<model>"), base_dir=None):
    """Validate a parsed model (a dict as read from YAML) and build a :class:`Model`."""
    path = Path(path)
    base_dir = Path(base_dir) if base_dir is not None else path.parent
    c = _Checker(path)
    c.mapping(data, "the model")
    c.keys(data, "the model", ("format", "name", "timesteps", "input", "layers", "output"))
    if data["format"] != FORMAT:
        c.fail(f"format must be '{FORMAT}', got {data['format']!r}")
    name = c.name(data["name"], "name")
    if name in _RESERVED:
        c.fail(f"name '{name}' is a Verilog keyword and cannot name the top module")
    timesteps = c.integer(data["timesteps"], "timesteps", 1, MAX_TIMESTEPS)
    inp = c.mapping(data["input"], "input")
    c.keys(inp, "input", ("size", "max_value"))
    input_size = c.integer(inp["size"], "input.size", 1, MAX_SIZE)
    input_max = c.integer(inp["max_value"], "input.max_value", *INPUT_MAX_RANGE)

    layers_data = data["layers"]
    if not isinstance(layers_data, list) or not layers_data:
        c.fail("layers must be a non-empty list")
    npz_cache = {}
    layers = []
    sizes = {"input": input_size}
    for index, ld in enumerate(layers_data):
        c.layer = None
        c.mapping(ld, f"layers[{index}]")
        if "name" not in ld:
            c.fail(f"layers[{index}] is missing the field 'name'")
        lname = c.name(ld["name"], f"layers[{index}].name")
        c.layer = lname
        if lname == "input":
            c.fail("'input' is reserved for the network input and cannot name a layer")
        if lname in sizes:
            c.fail("layer names must be unique; this name is used twice")
        if "type" not in ld:
            c.fail("the layer is missing the field 'type'")
        ltype = ld["type"]
        if ltype in ("attention", "conv2d", "sumpool2d", "flatten"):
            c.fail(f"type '{ltype}' is not supported yet by this version of hwgen "
                   f"(supported: dense)")
        c.choice(ltype, "type", ("dense",))
        layers.append(_dense_layer(c, ld, index, layers, sizes, base_dir, npz_cache))
        sizes[lname] = layers[-1].size

    c.layer = None
    output = data["output"]
    if not isinstance(output, str) or output not in sizes or output == "input":
        c.fail(f"output must name a layer, got {output!r}")
    return Model(name=name, timesteps=timesteps, input_size=input_size, input_max=input_max,
                 layers=layers, output=output, path=path)


def _dense_layer(c, ld, index, layers, sizes, base_dir, npz_cache):
    c.keys(ld, "the layer", ("name", "type", "size", "weights", "weight_bits", "neuron"),
           ("input", "bias"))
    size = c.integer(ld["size"], "size", 1, MAX_SIZE)

    # Inputs: default = the previous layer; a list = concatenation. Layers are evaluated in
    # file order, so an input must be the network input or an earlier layer.
    default = layers[-1].name if layers else "input"
    src = ld.get("input", default)
    src_list = src if isinstance(src, list) else [src]
    if not src_list:
        c.fail("input must name a layer or be a non-empty list of layer names")
    for s in src_list:
        if not isinstance(s, str) or s not in sizes:
            c.fail(f"input {s!r} must be 'input' or the name of an earlier layer")
    if len(set(src_list)) != len(src_list):
        c.fail("input lists the same layer twice")
    fan_in = sum(sizes[s] for s in src_list)

    weight_bits = c.integer(ld["weight_bits"], "weight_bits", *WEIGHT_BITS_RANGE)
    weights = c.tensor(ld["weights"], "weights", (size, fan_in), base_dir, npz_cache)
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    if weights.size and (weights.min() < lo or weights.max() > hi):
        bad = np.argwhere((weights < lo) | (weights > hi))[0]
        c.fail(f"weights[{bad[0]}, {bad[1]}] = {weights[tuple(bad)]} does not fit in signed "
               f"weight_bits={weight_bits} ([{lo}, {hi}])")
    neuron = _neuron(c, ld["neuron"])
    if "bias" in ld:
        bias = c.tensor(ld["bias"], "bias", (size,), base_dir, npz_cache)
        if bias.size and (bias.min() < neuron.v_min or bias.max() > neuron.v_max):
            bad = int(np.argmax((bias < neuron.v_min) | (bias > neuron.v_max)))
            c.fail(f"bias[{bad}] = {bias[bad]} does not fit in signed v_bits={neuron.v_bits}")
    else:
        bias = np.zeros(size, dtype=np.int64)
    return DenseLayer(name=ld["name"], inputs=src_list, size=size, weights=weights, bias=bias,
                      weight_bits=weight_bits, neuron=neuron)


def _neuron(c, nd):
    c.mapping(nd, "neuron")
    c.keys(nd, "neuron", ("model", "threshold", "reset", "v_bits"),
           ("leak", "v_reset", "max_spikes"))
    model = c.choice(nd["model"], "neuron.model", ("if", "lif"))
    v_bits = c.integer(nd["v_bits"], "neuron.v_bits", *V_BITS_RANGE)
    vmax = (1 << (v_bits - 1)) - 1
    threshold = c.integer(nd["threshold"], "neuron.threshold", 1, vmax)
    reset = c.choice(nd["reset"], "neuron.reset", ("hard", "soft", "none"))
    v_reset = c.integer(nd.get("v_reset", 0), "neuron.v_reset", -(vmax + 1), vmax)
    max_spikes = c.integer(nd.get("max_spikes", 1), "neuron.max_spikes", *MAX_SPIKES_RANGE)
    leak = {}
    if model == "lif":
        if "leak" not in nd:
            c.fail("neuron.leak is required for model 'lif' ({shift: k} or "
                   "{decay: λ, frac_bits: f})")
        ld = c.mapping(nd["leak"], "neuron.leak")
        if "shift" in ld:
            c.keys(ld, "neuron.leak", ("shift",))
            leak["leak_shift"] = c.integer(ld["shift"], "neuron.leak.shift", 0, v_bits)
        else:
            c.keys(ld, "neuron.leak", ("decay", "frac_bits"))
            f = c.integer(ld["frac_bits"], "neuron.leak.frac_bits", *FRAC_BITS_RANGE)
            leak["leak_decay"] = c.integer(ld["decay"], "neuron.leak.decay", 0, 1 << f)
            leak["leak_frac_bits"] = f
    elif "leak" in nd:
        c.fail("neuron.leak is only allowed for model 'lif'")
    return Neuron(model=model, threshold=threshold, reset=reset, v_bits=v_bits,
                  max_spikes=max_spikes, v_reset=v_reset, **leak)
