"""NIR graphs -> hwgen models (``hwgen import-nir``, DESIGN.md section 1).

NIR (the Neuromorphic Intermediate Representation, PyPI ``nir``) describes neurons in
continuous time. A graph becomes :class:`hwgen.quantize.FloatLayer` s -- one per IF, LIF or
CubaLIF node, with the Affine / Linear / Scale / Flatten nodes in front of it folded into
its weights -- and then :func:`hwgen.quantize.quantize` makes integers of them.

Discretization with a time step ``dt`` (forward Euler, as snnTorch's and Norse's NIR
importers do):

- ``LIF``: ``tau dv/dt = (v_leak - v) + r I`` becomes ``v <- (1 - dt/tau) v + dt/tau (v_leak
  + r I)``: a leak ``1 - dt/tau``, input weights times ``r dt/tau``, a bias ``dt/tau v_leak``.
- ``IF``: ``dv/dt = r I`` becomes ``v <- v + r I`` (dt does not enter: NIR's IF integrates one
  input per step in every importer).
- ``CubaLIF``: exact only when ``tau_syn == dt``: the synaptic current then holds exactly
  this step's input ``w_in I`` and the node is a LIF with weights times ``w_in``. Any longer
  ``tau_syn`` is a second state variable hwgen's neuron does not have, and is refused.
- Spikes: NIR fires when ``v > v_threshold`` and resets to ``v_reset`` (``--reset hard``).
  Soft reset (subtract the threshold) and graded spikes (``--max-spikes D``) are not
  expressible in NIR; they are options.
"""

import string
from pathlib import Path

import numpy as np

from .model import _RESERVED
from .model_fields import NAME_RE
from .quantize import FloatLayer, QuantizeError, quantize

__all__ = ["NirImportError", "import_nir", "read_graph", "graph_layers", "legal_name",
           "SUPPORTED"]

NEURONS = ("IF", "LIF", "CubaLIF")
MAPS = ("Affine", "Linear", "Scale", "Flatten")
SUPPORTED = ("Input", "Output") + MAPS + NEURONS
_NAME_CHARS = set(string.ascii_lowercase + string.digits)


class NirImportError(QuantizeError):
    """A NIR graph hwgen cannot import; names the node and the reason."""


def read_graph(path):
    """Read a ``.nir`` file; a clear :class:`NirImportError` for anything that goes wrong."""
    import nir
    path = Path(path)
    if not path.is_file():
        raise NirImportError(f"{path}: NIR file does not exist")
    try:
        return nir.read(path)
    except Exception as exc:     # h5py and nir raise many kinds for a broken file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NirImportError(f"{path}: not a readable NIR graph ({detail})") from None


def import_nir(graph, *, timesteps, weight_bits=8, dt=1e-4, reset="hard", max_spikes=1,
               input_max=1, decay_bits=16, v_bits=None, name=None):
    """Import ``graph`` (a ``nir.NIRGraph`` or a ``.nir`` path) as a quantized model.

    Returns a :class:`hwgen.quantize.Quantized` (``.model``, ``.report``, ``.write(path)``).
    """
    source = "<NIR graph>"
    if isinstance(graph, (str, Path)):
        source = str(graph)
        if name is None:
            name = legal_name(Path(graph).stem, set())
        graph = read_graph(graph)
    if not dt > 0:
        raise NirImportError(f"dt must be positive, got {dt}")
    input_size, layers, output = graph_layers(graph, dt=dt, reset=reset, max_spikes=max_spikes,
                                              source=source)
    return quantize(layers, name=name or "nir", timesteps=timesteps, input_size=input_size,
                    input_max=input_max, weight_bits=weight_bits, decay_bits=decay_bits,
                    v_bits=v_bits, output=output, source=source)


def graph_layers(graph, *, dt, reset="hard", max_spikes=1, source="<NIR graph>"):
    """``(input size, [FloatLayer], output layer name)`` for a NIR graph."""
    nodes, edges = graph.nodes, list(graph.edges)
    for key, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise NirImportError(f"{source}: node '{key}' is a {kind}, which import-nir does not "
                                 f"support (supported: {', '.join(SUPPORTED)})")
    preds = {key: [] for key in nodes}
    for edge in edges:
        a, b = edge[0], edge[1]
        for end in (a, b):
            if end not in nodes:
                raise NirImportError(f"{source}: edge {a} -> {b} names node '{end}', which "
                                     f"the graph does not have")
        preds[b].append(a)
    inputs = [k for k, n in nodes.items() if type(n).__name__ == "Input"]
    outputs = [k for k, n in nodes.items() if type(n).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirImportError(f"{source}: hwgen needs exactly one Input and one Output node; "
                             f"the graph has {len(inputs)} and {len(outputs)}")
    in_key, out_key = inputs[0], outputs[0]
    input_size = _size(nodes[in_key].input_type["input"])

    # The output must be a spiking layer: follow the Output back through Flatten only.
    key = _single_pred(preds, out_key, source)
    while type(nodes[key]).__name__ == "Flatten":
        key = _single_pred(preds, key, source)
    kind = type(nodes[key]).__name__
    if kind not in NEURONS:
        raise NirImportError(f"{source}: the Output is fed by {kind} node '{key}'; hwgen's "
                             f"output must be the spikes of an IF, LIF or CubaLIF node (a "
                             f"non-spiking readout has no hardware equivalent yet)")
    out_neuron = key

    # Each neuron node's input: every path back to a neuron node or the Input, through
    # linear maps; a path's matrix is the product of the maps on it.
    contributions = {}
    order = []            # neuron nodes in evaluation order (sources before consumers)
    visiting = set()

    def visit(key):
        if key in contributions or key == in_key:
            return
        if key in visiting:
            raise NirImportError(f"{source}: node '{key}' is part of a recurrent loop; hwgen "
                                 f"layers take spikes of the same timestep from earlier "
                                 f"layers only, so recurrence cannot be mapped")
        visiting.add(key)
        size = _neuron_size(nodes[key])
        sources, bias = {}, np.zeros(size)
        for p in preds[key] or _no_input(key, source):
            bias += _collect(nodes, preds, p, np.eye(size), sources, key, in_key, source, set())
        for src in sources:
            visit(src)
        visiting.discard(key)
        contributions[key] = (sources, bias)
        order.append(key)

    visit(out_neuron)
    names, taken = {}, set()
    for key in order:
        names[key] = legal_name(key, taken, prefix=type(nodes[key]).__name__.lower())
    names[in_key] = "input"
    layers = []
    for key in order:
        sources, bias = contributions[key]
        srcs = sorted(sources, key=lambda s: -1 if s == in_key else order.index(s))
        weight = np.concatenate([sources[s] for s in srcs], axis=1)
        layers.append(_neuron_layer(nodes[key], key, names[key], [names[s] for s in srcs],
                                    weight, bias, dt=dt, reset=reset, max_spikes=max_spikes,
                                    source=source))
    return input_size, layers, names[out_neuron]


def _collect(nodes, preds, key, m, sources, target, in_key, source, seen):
    """Add the path matrices from ``key`` (seen through ``m``) into ``sources``.

    Returns the bias this branch adds. ``m`` maps the output of ``key`` onto the input of
    neuron node ``target``.
    """
    node = nodes[key]
    kind = type(node).__name__
    if key == in_key or kind in NEURONS:
        size = _size(node.input_type["input"]) if key == in_key else _neuron_size(node)
        if m.shape[1] != size:
            raise NirImportError(f"{source}: '{key}' gives {size} values but the path to "
                                 f"'{target}' expects {m.shape[1]}")
        sources[key] = sources.get(key, 0) + m
        return np.zeros(m.shape[0])
    if kind == "Output":
        raise NirImportError(f"{source}: the Output node '{key}' feeds '{target}'")
    if key in seen:
        raise NirImportError(f"{source}: node '{key}' is part of a loop without neurons")
    seen = seen | {key}
    weight, bias = _linear_map(node, key, m.shape[1], source)
    total = m @ bias
    for p in preds[key] or _no_input(key, source):
        total = total + _collect(nodes, preds, p, m @ weight, sources, target, in_key, source,
                                 seen)
    return total


def _linear_map(node, key, out_size, source):
    """``(W, b)`` of a linear node, W of shape [out, in]."""
    kind = type(node).__name__
    if kind == "Flatten":      # hwgen sees every tensor flattened (C order): nothing to do
        return np.eye(out_size), np.zeros(out_size)
    if kind == "Scale":
        scale = np.asarray(node.scale, dtype=np.float64).reshape(-1)
        w, b = np.diag(scale), np.zeros(scale.size)
    else:
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 2:
            raise NirImportError(f"{source}: {kind} node '{key}' has a weight of shape "
                                 f"{list(w.shape)}; only 2-D [out, in] weights are supported")
        b = (np.asarray(node.bias, dtype=np.float64).reshape(-1) if kind == "Affine"
             else np.zeros(w.shape[0]))
    if w.shape[0] != out_size:
        raise NirImportError(f"{source}: {kind} node '{key}' gives {w.shape[0]} values where "
                             f"{out_size} are expected")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
        raise NirImportError(f"{source}: {kind} node '{key}' holds a value that is not finite")
    return w, b


def _neuron_layer(node, key, name, inputs, weight, bias, *, dt, reset, max_spikes, source):
    kind = type(node).__name__
    where = f"NIR node '{key}' ({kind})"

    def uniform(field):
        values = np.unique(np.asarray(getattr(node, field), dtype=np.float64))
        if values.size != 1:
            raise NirImportError(f"{source}: {where} has {values.size} different {field} "
                                 f"values; an hwgen layer shares one")
        return float(values[0])

    size = weight.shape[0]
    r = np.asarray(node.r, dtype=np.float64).reshape(-1) * np.ones(size)
    v_leak = np.zeros(size)
    if kind == "IF":
        decay, gain = 1.0, r
    else:
        tau = uniform("tau" if kind == "LIF" else "tau_mem")
        if kind == "CubaLIF":
            tau_syn = uniform("tau_syn")
            if not np.isclose(tau_syn, dt, rtol=1e-6, atol=0):
                raise NirImportError(
                    f"{source}: {where} has tau_syn = {tau_syn:g}, not dt = {dt:g}: its "
                    f"synaptic current is a second state variable that hwgen's neuron "
                    f"(DESIGN.md section 4) does not have; only tau_syn == dt maps exactly")
            r = r * np.asarray(node.w_in, dtype=np.float64).reshape(-1)
        if np.isinf(tau) and np.any(np.isinf(r)):
            raise NirImportError(f"{source}: {where} has tau = r = inf (what snnTorch exports "
                                 f"for beta = 1): the input gain r*dt/tau is undefined; "
                                 f"export an IF node instead")
        if dt / tau > 1 + 1e-6:       # float32 round trips of tau = dt land a few ulps under
            raise NirImportError(f"{source}: {where} has tau = {tau:g} < dt = {dt:g}; the "
                                 f"forward Euler step would be unstable (pass a smaller --dt)")
        step = min(dt / tau, 1.0)
        decay = 1.0 - step
        gain = r * step
        v_leak = np.asarray(node.v_leak, dtype=np.float64).reshape(-1) * step
    if reset == "hard":
        v_reset = uniform("v_reset")
    else:
        v_reset = 0.0
    return FloatLayer(name=name, inputs=inputs, weight=weight * gain[:, None],
                      bias=bias * gain + v_leak, threshold=uniform("v_threshold"),
                      decay=decay, strict=True, reset=reset, v_reset=v_reset,
                      max_spikes=max_spikes, origin=where)


def _size(shape):
    return int(np.prod(np.asarray(shape, dtype=np.int64)))


def _neuron_size(node):
    return int(np.asarray(node.v_threshold).size)


def _single_pred(preds, key, source):
    if len(preds[key]) != 1:
        raise NirImportError(f"{source}: node '{key}' has {len(preds[key])} inputs; it needs "
                             f"exactly one")
    return preds[key][0]


def _no_input(key, source):
    raise NirImportError(f"{source}: node '{key}' has no input edge")


def legal_name(key, taken, prefix="n"):
    """A name from a NIR node key: [a-z][a-z0-9_]*, unique, not 'input' ('0' -> 'lif_0')."""
    name = "".join(c if c in _NAME_CHARS else "_" for c in str(key).lower()).strip("_") or "layer"
    if not NAME_RE.match(name) or name in ("input", "output") or name in _RESERVED:
        name = f"{prefix}_{name}"
    base, i = name, 1
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name
