"""Real-valued spiking layers -> a quantized hwgen model, with a report of every change.

Both ``hwgen import-nir`` and ``hwgen quantize`` first describe the network as a list of
:class:`FloatLayer` -- discrete time, real numbers, DESIGN.md section 4 read over the reals:

    u = decay * v + weight @ x + bias
    s = 0 if u < threshold (u <= threshold when ``strict``), else 1, or min(u // threshold, D)
    v = v_reset if s else u (hard) | u - s * threshold (soft) | u (none)

and :func:`quantize` maps that onto integers, one scale ``s`` per layer: every quantity in
voltage units (weights, bias, threshold, v_reset) is multiplied by ``s`` and rounded. The
scale is 1 when the layer already is integer-valued and fits ``weight_bits`` -- then nothing
changes and the model is exact -- and otherwise the largest that fits the weights in
``weight_bits``. Thresholds are rounded so that the comparison stays right for integer
membranes: ``u > t  <=>  u >= floor(t) + 1`` (NIR's strict rule) and ``u >= t  <=>  u >=
ceil(t)``. The membrane width is chosen so that it can never clamp within ``timesteps``.

A spike-driven self-attention layer is a :class:`FloatAttention`: it has no weights (its
inputs are counts of products of 0/1 spikes, integers already), so its scale is 1 and
only its threshold is rounded, by the same rule.

A convolution is a :class:`FloatConv2d`, quantized as a :class:`FloatLayer` whose weight
rows are its output channels (each row ``[C_in * kh * kw]``: one scale per layer, the same
rules). Sum pooling (:class:`FloatSumPool2d`) and :class:`FloatFlatten` have nothing to
quantize: they are copied as they are.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import HwgenError
from .layers.attention import VARIANTS, AttentionLayer
from .layers.conv2d import Conv2dLayer
from .layers.dense import WEIGHT_BITS_RANGE, DenseLayer
from .layers.flatten import FlattenLayer
from .layers.sumpool2d import SumPool2dLayer
from .layers.window import Window2d
from .model import FORMAT, FRAC_BITS_RANGE, V_BITS_RANGE, model_from_dict
from .output_dir import atomic_output_dir
from .widths import signed_bits

__all__ = ["QuantizeError", "FloatLayer", "FloatAttention", "FloatConv2d", "FloatSumPool2d",
           "FloatFlatten", "Quantized", "quantize",
           "load_float_npz", "format_report", "snap", "integer_threshold"]

# Relative tolerance under which a float is taken to be the integer next to it. NIR files
# hold float32, and values that went through dt/tau and back (snnTorch exports tau =
# dt/(1-beta), r = tau/dt) land a few float32 ulps (2^-24) off.
_SNAP = 2.0 ** -20


class QuantizeError(HwgenError):
    """A float network that cannot become an hwgen model; names what and where."""


@dataclass
class FloatLayer:
    name: str
    inputs: list[str]          # "input" or earlier layers, concatenated in this order
    weight: np.ndarray         # float [size, fan_in]: voltage added per unit of input
    bias: np.ndarray           # float [size]: voltage added every timestep
    threshold: float
    decay: float = 1.0         # v_leak = decay * v; 1 = integrate-and-fire
    strict: bool = False       # spike when u > threshold (NIR) instead of u >= threshold
    reset: str = "hard"
    v_reset: float = 0.0
    max_spikes: int = 1
    origin: str = ""           # where it came from, for messages ("NIR node 'lif1' (LIF)")

    @property
    def size(self):
        return self.weight.shape[0]

    def where(self):
        return self.origin or f"layer '{self.name}'"

    def entry(self, weights, bias, weight_bits, neuron):
        """The model-file mapping of the quantized layer."""
        entry = {"name": self.name, "type": DenseLayer.type_name,
                 "input": _input_field(self.inputs), "size": self.size, "weights": weights,
                 "weight_bits": weight_bits, "neuron": neuron}
        if np.any(bias):
            entry["bias"] = bias
        return entry


def _pair(v):
    return tuple(int(x) for x in v) if isinstance(v, tuple | list) else (int(v), int(v))


@dataclass
class FloatConv2d(FloatLayer):
    """A 2-D convolution of the ``[C, H, W]`` map ``input_shape`` into neurons: ``weight``
    is ``[C_out, C_in, kh, kw]``, ``bias`` ``[C_out]`` (docs/conv.md). ``inputs`` names
    one source."""
    input_shape: tuple = ()
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    sparse: bool = False

    @property
    def window(self):
        return Window2d(tuple(self.input_shape), tuple(self.weight.shape[2:]),
                        _pair(self.stride), _pair(self.padding))

    @property
    def size(self):
        ho, wo = self.window.out_hw
        return self.weight.shape[0] * ho * wo

    def entry(self, weights, bias, weight_bits, neuron):
        win = self.window
        entry = {"name": self.name, "type": Conv2dLayer.type_name, "input": self.inputs[0],
                 "input_shape": list(win.in_shape), "out_channels": int(weights.shape[0]),
                 "kernel": list(win.kernel), "stride": list(win.stride),
                 "padding": list(win.padding), "weights": weights,
                 "weight_bits": weight_bits, "neuron": neuron}
        if np.any(bias):
            entry["bias"] = bias
        if self.sparse:
            entry["sparse"] = True
        return entry


@dataclass
class FloatSumPool2d:
    """Sum pooling of the ``[C, H, W]`` map ``input_shape`` (no parameters to quantize)."""
    name: str
    input: str
    input_shape: tuple
    kernel: tuple
    stride: tuple | None = None        # default: the kernel
    padding: tuple = (0, 0)
    origin: str = ""

    @property
    def inputs(self):
        return [self.input]

    @property
    def window(self):
        kernel = _pair(self.kernel)
        return Window2d(tuple(self.input_shape), kernel,
                        kernel if self.stride is None else _pair(self.stride),
                        _pair(self.padding))

    @property
    def size(self):
        ho, wo = self.window.out_hw
        return self.input_shape[0] * ho * wo

    def where(self):
        return self.origin or f"layer '{self.name}'"


@dataclass
class FloatFlatten:
    """A ``[C, H, W]`` map read as a vector (row-major): nothing to quantize."""
    name: str
    input: str
    size: int
    origin: str = ""

    @property
    def inputs(self):
        return [self.input]

    def where(self):
        return self.origin or f"layer '{self.name}'"


@dataclass
class FloatAttention:
    """A spike-driven self-attention layer (DESIGN.md section 4) over three binary layers
    ``q``, ``k``, ``v`` of ``tokens * dim`` neurons. Its neuron block reads counts (sums of
    products of 0/1 spikes), so ``threshold`` and ``v_reset`` are in count units: the
    quantizer keeps scale 1 and rounds them as for a :class:`FloatLayer`."""
    name: str
    variant: str               # "hadamard" | "linear"
    tokens: int
    dim: int
    heads: int
    q: str
    k: str
    v: str
    threshold: float
    decay: float = 1.0
    strict: bool = False
    reset: str = "soft"
    v_reset: float = 0.0
    max_spikes: int = 1
    origin: str = ""

    @property
    def inputs(self):
        return [self.q, self.k, self.v]

    @property
    def size(self):
        return self.tokens * self.dim

    def where(self):
        return self.origin or f"layer '{self.name}'"


@dataclass
class Quantized:
    """The result: a validated :class:`hwgen.model.Model` and the report of what changed."""
    model: object
    report: dict

    @property
    def exact(self):
        return self.report["exact"]

    def write(self, path):
        """Write ``path`` (YAML) and its weights next to it (``<stem>.npz``), atomically."""
        return write_model(self.model, path)


def snap(x):
    """``x`` with values within _SNAP (relative) of an integer replaced by that integer."""
    x = np.asarray(x, dtype=np.float64)
    r = np.rint(x)
    close = np.abs(x - r) <= _SNAP * np.maximum(1.0, np.abs(x))
    return np.where(close, r, x)


def _is_integral(x):
    x = snap(x)
    return bool(np.all(x == np.rint(x)))


def integer_threshold(t, strict):
    """The integer threshold of a scaled float one: ``u > t <=> u >= floor(t) + 1`` when
    ``strict``, ``u >= t <=> u >= ceil(t)`` otherwise (for integer membranes ``u``)."""
    t = float(snap(t))
    return math.floor(t) + 1 if strict else math.ceil(t)


def _leak(decay, decay_bits, where):
    """The hwgen leak for ``v -> decay * v``: (neuron fields, realized decay, exact?)."""
    decay = float(snap(decay))
    if not 0.0 <= decay <= 1.0:
        raise QuantizeError(f"{where}: leak factor {decay:g} is outside [0, 1] (for a NIR LIF "
                            f"this means tau < dt: forward Euler would be unstable)")
    if decay == 1.0:
        return {"model": "if"}, 1.0, True
    for k in range(1, FRAC_BITS_RANGE[1] + 1):     # 1 - 2^-k: a shift, no multiplier
        if abs(decay - (1.0 - 2.0 ** -k)) <= _SNAP:
            return {"model": "lif", "leak": {"shift": k}}, 1.0 - 2.0 ** -k, False
    lam = round(decay * (1 << decay_bits))
    f = decay_bits
    while f > 0 and lam % 2 == 0:                  # the smallest equivalent fraction
        lam //= 2
        f -= 1
    # decay 0 is exact (the neuron forgets everything); any other product is floored.
    return ({"model": "lif", "leak": {"decay": lam, "frac_bits": f}}, lam / (1 << f),
            lam == 0)


def _leak_text(neuron):
    leak = neuron.get("leak")
    if leak is None:
        return "none"
    if "shift" in leak:
        return f"v - (v >> {leak['shift']})"
    return f"(v * {leak['decay']}) >> {leak['frac_bits']}"


def _bits_for(magnitude):
    """Membrane width holding every value in [-magnitude, magnitude] (v_bits >= 2)."""
    return max(2, signed_bits(-magnitude, magnitude))


def quantize(layers, *, name, timesteps, input_size, input_max, weight_bits=8,
             decay_bits=16, v_bits=None, output=None, source="<float model>",
             input_shape=None):
    """Map ``layers`` (list of :class:`FloatLayer` and the other float layer types) onto
    a validated hwgen model. ``input_shape``: ``[C, H, W]`` when the input is a map.

    ``v_bits=None`` picks, per layer, the smallest membrane that cannot clamp within
    ``timesteps`` (capped at 32; the report says when it is capped).
    """
    if not WEIGHT_BITS_RANGE[0] <= weight_bits <= WEIGHT_BITS_RANGE[1]:
        raise QuantizeError(f"weight_bits must be in {list(WEIGHT_BITS_RANGE)}, got "
                            f"{weight_bits}")
    if not FRAC_BITS_RANGE[0] <= decay_bits <= FRAC_BITS_RANGE[1]:
        raise QuantizeError(f"decay bits must be in {list(FRAC_BITS_RANGE)}, got {decay_bits}")
    if not layers:
        raise QuantizeError(f"{source}: the network has no spiking layer")
    sizes, source_max = {"input": input_size}, {"input": input_max}
    entries, rows, notes = [], [], []
    for layer in layers:
        for src in layer.inputs:
            if src not in sizes:
                raise QuantizeError(f"{source}: {layer.where()}: input '{src}' is neither "
                                    "'input' nor an earlier layer")
        where = f"{source}: {layer.where()}"
        spikes = None
        if isinstance(layer, FloatAttention):
            entry, row, note = _quantize_attention(layer, where, source_max, timesteps,
                                                   decay_bits, v_bits)
        elif isinstance(layer, FloatSumPool2d | FloatFlatten):
            entry, row, note = _copy_layer(layer)
            spikes = source_max[layer.input] * (
                layer.window.area if isinstance(layer, FloatSumPool2d) else 1)
        elif isinstance(layer, FloatConv2d):
            # A weight row is an output channel over (C_in, kh, kw): every one of its
            # columns reads an axon of the one source.
            xmax = np.full(int(np.prod(layer.weight.shape[1:])), source_max[layer.inputs[0]],
                           dtype=np.int64)
            entry, row, note = _quantize_layer(layer, where, xmax, timesteps, weight_bits,
                                               decay_bits, v_bits)
        else:
            # The largest value each input can carry: bounds the current and its error.
            xmax = np.concatenate([np.full(sizes[src], source_max[src], dtype=np.int64)
                                   for src in layer.inputs])
            entry, row, note = _quantize_layer(layer, where, xmax, timesteps, weight_bits,
                                               decay_bits, v_bits)
        entries.append(entry)
        rows.append(row)
        notes += [note] if note else []
        sizes[layer.name] = layer.size
        source_max[layer.name] = layer.max_spikes if spikes is None else spikes
    inp = {"size": input_size, "max_value": input_max}
    if input_shape is not None:
        inp["shape"] = [int(v) for v in input_shape]
    data = {"format": FORMAT, "name": name, "timesteps": timesteps, "input": inp,
            "layers": entries, "output": output or layers[-1].name}
    model = model_from_dict(data, path=Path(source))
    report = {"source": str(source), "weight_bits": weight_bits, "timesteps": timesteps,
              "layers": rows, "notes": notes, "exact": all(r["exact"] for r in rows)}
    return Quantized(model=model, report=report)


def _quantize_layer(layer, where, xmax, timesteps, weight_bits, decay_bits, v_bits):
    """One layer: ``(model entry, report row, note or None)``."""
    for what, value in (("weights", layer.weight), ("bias", layer.bias),
                        ("threshold", layer.threshold), ("v_reset", layer.v_reset),
                        ("leak", layer.decay)):
        if not np.all(np.isfinite(value)):
            raise QuantizeError(f"{where}: {what} holds a value that is not finite")
    if layer.threshold < 0 or (layer.threshold == 0 and not layer.strict):
        raise QuantizeError(f"{where}: threshold {layer.threshold:g} is not positive; "
                            f"hwgen neurons need a threshold of at least 1 after scaling")
    qmax = (1 << (weight_bits - 1)) - 1
    shape = np.shape(layer.weight)                     # [rows, ...]: rows share a bias
    w = np.asarray(layer.weight, dtype=np.float64).reshape(shape[0], -1)
    b = np.asarray(layer.bias, dtype=np.float64)
    wmax = float(np.abs(w).max()) if w.size else 0.0
    if _is_integral(w) and _is_integral(b) and _is_integral(layer.v_reset) and wmax <= qmax:
        scale = 1.0                   # already integers that fit: change nothing
    elif wmax > 0:
        scale = qmax / wmax
    else:                             # no weights at all: keep the threshold legible
        scale = qmax / max(layer.threshold, 1.0)
    w_int = np.rint(snap(w * scale)).astype(np.int64)
    b_int = np.rint(snap(b * scale)).astype(np.int64)

    # Worst case of the change, in the float network's own (voltage) units.
    dw = w_int / scale - w
    db = b_int / scale - b
    current_error = float((np.abs(dw) @ xmax + np.abs(db)).max()) if w.size else 0.0
    current_max = int((np.abs(w_int) @ xmax + np.abs(b_int)).max()) if w.size else 0
    neuron, fields, neuron_exact, note = _quantize_neuron(layer, scale, where, current_max,
                                                          timesteps, decay_bits, v_bits)
    exact = (np.array_equal(w_int, snap(w * scale)) and np.array_equal(b_int, snap(b * scale))
             and neuron_exact)
    entry = layer.entry(w_int.reshape(shape), b_int, weight_bits, neuron)
    row = {
        "layer": layer.name, "from": layer.where(), "scale": scale,
        "weights": {"max": wmax, "max_int": int(np.abs(w_int).max()) if w.size else 0,
                    "max_abs_error": float(np.abs(dw).max()) if w.size else 0.0},
        "bias_max_abs_error": float(np.abs(db).max()) if b.size else 0.0,
        **fields,
        "worst_case_current_error": current_error,
        "exact": bool(exact),
    }
    return entry, row, note


def _quantize_neuron(layer, scale, where, current_max, timesteps, decay_bits, v_bits):
    """The neuron block of a layer whose voltages are multiplied by ``scale`` (its
    threshold, v_reset, leak and membrane width; ``current_max`` bounds its input per
    timestep in integer units). Returns ``(neuron mapping, report fields, exact, note)``."""
    theta = integer_threshold(layer.threshold * scale, layer.strict)
    v_reset = int(np.rint(snap(layer.v_reset * scale)))
    neuron, decay_q, leak_exact = _leak(layer.decay, decay_bits, where)
    # With integer membranes a comparison moves nowhere (u > t <=> u >= floor(t) + 1,
    # u >= t <=> u >= ceil(t)); only dividing by the threshold (graded spikes) or
    # subtracting it (soft reset) needs the threshold itself to be an integer.
    t_scaled = float(snap(layer.threshold * scale))
    divides = layer.max_spikes > 1 or layer.reset == "soft"
    need = _membrane_bits(current_max, decay_q, timesteps, theta, v_reset, layer.max_spikes)
    chosen, note = _choose_v_bits(where, v_bits, need, theta, v_reset, timesteps)
    exact = (v_reset == snap(layer.v_reset * scale) and leak_exact
             and (theta == t_scaled or not divides) and note is None)
    neuron.update(threshold=theta, reset=layer.reset, v_reset=v_reset, v_bits=chosen,
                  max_spikes=layer.max_spikes)
    fields = {
        "threshold": {"float": float(layer.threshold), "int": theta,
                      "rule": ("u > {:g}  <=>  u >= {}" if layer.strict else
                               "u >= {:g}  <=>  u >= {}").format(t_scaled, theta),
                      "abs_error": abs(theta - t_scaled) / scale if divides else 0.0,
                      "divides": divides},
        "leak": {"float": float(layer.decay), "realized": decay_q,
                 "hwgen": _leak_text(neuron)},
        "v_reset": {"float": float(layer.v_reset), "int": v_reset},
        "v_bits": chosen, "may_clamp": chosen < need,
    }
    return neuron, fields, bool(exact), note


def _copy_layer(layer):
    """A layer with nothing to quantize (sum pooling, flatten): ``(entry, row, None)``."""
    if isinstance(layer, FloatFlatten):
        entry = {"name": layer.name, "type": FlattenLayer.type_name, "input": layer.input}
    else:
        win = layer.window
        entry = {"name": layer.name, "type": SumPool2dLayer.type_name, "input": layer.input,
                 "input_shape": list(win.in_shape), "kernel": list(win.kernel),
                 "stride": list(win.stride), "padding": list(win.padding)}
    row = {"layer": layer.name, "type": entry["type"], "from": layer.where(), "exact": True}
    return entry, row, None


def _quantize_attention(layer, where, source_max, timesteps, decay_bits, v_bits):
    """An attention layer: ``(model entry, report row, note or None)``.

    No weights, so no scale (1): the threshold becomes ``integer_threshold(threshold)``,
    v_reset its nearest integer. Per timestep a neuron's input count is at most ``tokens``
    (hadamard: ``sum_n K V``) or ``tokens * dim / heads`` (linear: ``sum_c1 Q KV``) times
    the largest spikes of the inputs (1: the model refuses graded ones), which bounds the
    membrane as for a dense layer.
    """
    if layer.variant not in VARIANTS:
        raise QuantizeError(f"{where}: variant must be one of {', '.join(VARIANTS)}, got "
                            f"'{layer.variant}'")
    for what, value in (("threshold", layer.threshold), ("v_reset", layer.v_reset),
                        ("leak", layer.decay)):
        if not np.isfinite(value):
            raise QuantizeError(f"{where}: {what} holds a value that is not finite")
    if layer.threshold < 0 or (layer.threshold == 0 and not layer.strict):
        raise QuantizeError(f"{where}: threshold {layer.threshold:g} is not positive; "
                            f"hwgen neurons need a threshold of at least 1")
    terms = layer.tokens if layer.variant == "hadamard" else layer.tokens * (
        layer.dim // max(layer.heads, 1))
    peak = max(source_max.get(src, 1) for src in layer.inputs)
    neuron, fields, exact, note = _quantize_neuron(layer, 1.0, where, terms * peak * peak,
                                                   timesteps, decay_bits, v_bits)
    entry = {"name": layer.name, "type": AttentionLayer.type_name, "variant": layer.variant,
             "tokens": layer.tokens, "dim": layer.dim, "heads": layer.heads,
             "q": layer.q, "k": layer.k, "v": layer.v, "neuron": neuron}
    row = {
        "layer": layer.name, "type": AttentionLayer.type_name, "from": layer.where(),
        "scale": 1.0,
        **fields,
        "worst_case_current_error": 0.0,
        "exact": exact,
    }
    return entry, row, note


def _choose_v_bits(where, v_bits, need, theta, v_reset, timesteps):
    """The membrane width: ``v_bits`` if given (it must hold θ and v_reset), else the
    ``need`` bits that never clamp, capped at the largest hwgen allows. Returns
    ``(bits, note)``, the note saying when the membrane may clamp (``None`` otherwise)."""
    if v_bits is not None:
        if v_bits < max(_bits_for(theta), _bits_for(abs(v_reset))):
            raise QuantizeError(f"{where}: v_bits={v_bits} cannot hold the threshold "
                                f"{theta} and v_reset {v_reset}")
        chosen = v_bits
    else:
        chosen = min(need, V_BITS_RANGE[1])
    if chosen >= need:
        return chosen, None
    return chosen, (f"{where}: the membrane is {chosen} bits; it may clamp after {timesteps} "
                    f"timesteps of the largest input (it would need {need} bits never to "
                    "clamp)")


def _membrane_bits(current_max, decay, timesteps, theta, v_reset, max_spikes):
    """The smallest membrane width that never clamps within ``timesteps``.

    |u| grows by at most the largest input current, plus one for the floored leak product,
    per timestep; a leak bounds it for good after about 1 / (1 - decay) steps. A soft reset
    leaves at most D thresholds more in it.
    """
    steps = timesteps if decay >= 1.0 else min(timesteps, math.ceil(1 / (1 - decay)))
    bound = steps * (current_max + 1) + abs(v_reset) + theta * max_spikes
    return max(_bits_for(bound), _bits_for(theta), _bits_for(abs(v_reset)))


def _input_field(inputs):
    return inputs[0] if len(inputs) == 1 else list(inputs)


def format_report(report):
    """The report as text, one block per layer."""
    lines = [f"quantized {report['source']} to {report['weight_bits']}-bit weights"]
    for r in report["layers"]:
        if r.get("type") in (SumPool2dLayer.type_name, FlattenLayer.type_name):
            lines.append(f"  layer '{r['layer']}' (from {r['from']}): {r['type']}, nothing "
                         "to quantize")
            continue
        t, leak = r["threshold"], r["leak"]
        lines.append(f"  layer '{r['layer']}' (from {r['from']}): "
                     + ("approximate" if not r["exact"] else
                        "exact, nothing changed" if r["scale"] == 1.0 else
                        f"exact (every value times {r['scale']:.6g}, none rounded)"))
        if r.get("type") == AttentionLayer.type_name:
            lines.append("    attention: no weights, its input is counts of 0/1 spikes "
                         "(scale 1)")
        else:
            lines.append(f"    scale {r['scale']:.6g}: weights max {r['weights']['max']:.6g}"
                         f" -> {r['weights']['max_int']}, error <= "
                         f"{r['weights']['max_abs_error']:.3g} (bias error <= "
                         f"{r['bias_max_abs_error']:.3g})")
        threshold = f"    threshold {t['float']:.6g} -> {t['int']} ({t['rule']})"
        if t["divides"]:        # graded spikes divide by it, a soft reset subtracts it
            threshold += f"; as divisor / subtrahend off by {t['abs_error']:.3g}"
        lines.append(threshold)
        if leak["realized"] == 0.0:
            lines.append("    leak: none kept (decay 0, the membrane forgets every step)")
        elif leak["float"] != 1.0:
            error = abs(leak["realized"] - leak["float"])
            lines.append(f"    leak {leak['float']:.9g} -> {leak['hwgen']} = "
                         f"{leak['realized']:.9g}, error {error:.3g} per timestep "
                         "(plus the floor of the product)")
        lines.append(f"    v_reset {r['v_reset']['float']:.6g} -> {r['v_reset']['int']}; "
                     f"v_bits {r['v_bits']}" + (" (may clamp)" if r["may_clamp"] else
                                                " (never clamps)"))
        lines.append(f"    worst-case input error per timestep: "
                     f"{r['worst_case_current_error']:.3g} (threshold {t['float']:.6g})")
    for note in report["notes"]:
        lines.append(f"  note: {note}")
    lines.append("the model is exact" if report["exact"] else
                 "the model approximates the float network (see the errors above)")
    return "\n".join(lines)


def write_model(model, path):
    """Write ``model`` to ``path`` (YAML) with its tensors in ``<stem>.npz`` next to it.

    Both files are written into a temporary folder and moved in place at the end, so a
    failure leaves nothing half-written; other files in the folder are kept.
    """
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise QuantizeError(f"{path}: the model file name must end in .yaml")
    npz_path = path.with_suffix(".npz")
    arrays, layers = {}, []
    for layer in model.layers:
        if layer.type == AttentionLayer.type_name:
            q, k, v = layer.inputs
            layers.append({"name": layer.name, "type": layer.type, "variant": layer.variant,
                           "tokens": layer.tokens, "dim": layer.dim, "heads": layer.heads,
                           "q": q, "k": k, "v": v, "neuron": layer.neuron.to_dict()})
            continue
        if layer.type == FlattenLayer.type_name:
            layers.append({"name": layer.name, "type": layer.type, "input": layer.inputs[0]})
            continue
        if layer.type == SumPool2dLayer.type_name:
            win = layer.window
            layers.append({"name": layer.name, "type": layer.type, "input": layer.inputs[0],
                           "input_shape": list(win.in_shape), "kernel": list(win.kernel),
                           "stride": list(win.stride), "padding": list(win.padding)})
            continue
        arrays[f"{layer.name}_w"] = layer.weights
        if layer.type == Conv2dLayer.type_name:
            win = layer.window
            entry = {"name": layer.name, "type": layer.type, "input": layer.inputs[0],
                     "input_shape": list(win.in_shape), "out_channels": layer.out_channels,
                     "kernel": list(win.kernel), "stride": list(win.stride),
                     "padding": list(win.padding)}
            if layer.sparse:
                entry["sparse"] = True
        else:
            entry = {"name": layer.name, "type": DenseLayer.type_name,
                     "input": _input_field(layer.inputs), "size": layer.size}
        entry["weights"] = {"file": npz_path.name, "key": f"{layer.name}_w"}
        if np.any(layer.bias):
            arrays[f"{layer.name}_b"] = layer.bias
            entry["bias"] = {"file": npz_path.name, "key": f"{layer.name}_b"}
        entry.update(weight_bits=layer.weight_bits, neuron=layer.neuron.to_dict())
        layers.append(entry)
    inp = {"size": model.input_size, "max_value": model.input_max}
    if len(model.input_shape) == 3:
        inp["shape"] = list(model.input_shape)
    data = {"format": FORMAT, "name": model.name, "timesteps": model.timesteps,
            "input": inp, "layers": layers, "output": model.output}
    try:
        with atomic_output_dir(path.parent) as tmp:
            np.savez_compressed(tmp / npz_path.name,
                                **{k: _narrow(v) for k, v in arrays.items()})
            (tmp / path.name).write_text(yaml.safe_dump(data, sort_keys=False, width=100))
    except OSError as exc:
        raise QuantizeError(f"{path}: cannot write the model ({exc.strerror})") from None
    return path, npz_path


def _narrow(a):
    """The smallest signed integer dtype holding ``a`` (keeps the committed files small)."""
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if a.size == 0 or (a.min() >= info.min and a.max() <= info.max):
            return a.astype(dtype)
    return a.astype(np.int64)


def write_report(report, path):
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


# --- hwgen quantize: the float .npz format ------------------------------------------------

_LAYER_KEYS = {"weight", "bias", "threshold", "beta", "reset", "max_spikes", "v_reset"}


def load_float_npz(path):
    """Read a ``hwgen-float/1`` archive into :class:`FloatLayer` s (see docs/import.md).

    Keys are ``<layer>.<field>``; layers come in the order their keys first appear and each
    feeds the next. ``weight`` [size, fan_in] and ``threshold`` are required; ``bias``,
    ``beta`` (leak factor, default 1), ``reset`` (default "soft"), ``max_spikes`` (default
    1) and ``v_reset`` (default 0) are optional. Spikes follow DESIGN.md section 4 over the
    reals: ``u >= threshold``.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise QuantizeError(f"{path}: file does not exist") from None
    except Exception as exc:    # numpy raises many kinds for a broken archive
        raise QuantizeError(f"{path}: cannot be read as .npz ({exc})") from None
    fields = {}
    for key, value in arrays.items():
        layer, dot, what = key.rpartition(".")
        if not dot or what not in _LAYER_KEYS:
            raise QuantizeError(f"{path}: key '{key}' is not '<layer>.<field>' with field one "
                                f"of {', '.join(sorted(_LAYER_KEYS))}")
        fields.setdefault(layer, {})[what] = value
    if not fields:
        raise QuantizeError(f"{path}: the archive holds no layer")
    layers, fan_in = [], None
    for name, f in fields.items():
        where = f"{path}: layer '{name}'"
        for required in ("weight", "threshold"):
            if required not in f:
                raise QuantizeError(f"{where}: '{name}.{required}' is missing")
        w = _float_array(f["weight"], f"{where}: weight", ndim=2)
        if fan_in is not None and w.shape[1] != fan_in:
            raise QuantizeError(f"{where}: weight has {w.shape[1]} columns but the previous "
                                f"layer has {fan_in} neurons")
        size = w.shape[0]
        bias = _float_array(f.get("bias", np.zeros(size)), f"{where}: bias", shape=(size,))
        reset = str(f.get("reset", np.array("soft")))
        if reset not in ("hard", "soft", "none"):
            raise QuantizeError(f"{where}: reset must be hard, soft or none, got '{reset}'")
        max_spikes = f.get("max_spikes", np.array(1))
        if max_spikes.shape != () or max_spikes.dtype.kind not in "iu" or int(max_spikes) < 1:
            raise QuantizeError(f"{where}: max_spikes must be one integer >= 1")
        layers.append(FloatLayer(
            name=name, inputs=["input"] if not layers else [layers[-1].name], weight=w,
            bias=bias, threshold=_scalar(f["threshold"], f"{where}: threshold"),
            decay=_scalar(f.get("beta", np.array(1.0)), f"{where}: beta"),
            reset=reset, v_reset=_scalar(f.get("v_reset", np.array(0.0)), f"{where}: v_reset"),
            max_spikes=int(max_spikes), origin=f"layer '{name}'"))
        fan_in = size
    return layers


def _float_array(a, what, ndim=None, shape=None):
    if a.dtype.kind not in "fiu":
        raise QuantizeError(f"{what} must be numbers, not {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise QuantizeError(f"{what} must have {ndim} dimensions, got shape {list(a.shape)}")
    if shape is not None and a.shape != shape:
        raise QuantizeError(f"{what} must have shape {list(shape)}, got {list(a.shape)}")
    return a.astype(np.float64)


def _scalar(a, what):
    if a.size != 1 or a.dtype.kind not in "fiu":
        raise QuantizeError(f"{what} must be one number")
    return float(a.reshape(()))
