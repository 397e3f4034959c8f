"""NIR graphs -> hwgen models (``hwgen import-nir``, DESIGN.md section 1, docs/import.md).

NIR (the Neuromorphic Intermediate Representation, PyPI ``nir``) describes neurons in
continuous time. A graph becomes float layers (:mod:`hwgen.quantize`) -- one per IF, LIF
or CubaLIF node, with the Affine / Linear / Scale / Flatten nodes in front of it folded
into its weights, or the Conv2d (and Scale) nodes in front of it making it a
convolution; one sum-pooling layer per SumPool2d / AvgPool2d node -- and then
:func:`hwgen.quantize.quantize` makes integers of them.

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

Feature maps (``[C, H, W]``, flattened row-major as hwgen's maps are): a ``Conv2d``
(through ``Scale`` nodes at most) into a neuron node is an hwgen ``conv2d`` layer;
``SumPool2d`` is ``sumpool2d``; ``AvgPool2d`` is ``sumpool2d`` with its ``1 / area`` moved
into the layer that reads it; a ``Flatten`` of a whole map is the identity (a dense layer
reads a map row-major). Shapes come from the Input node and are propagated node by node.
"""

import math
import string
from pathlib import Path

import numpy as np

from .model import _RESERVED
from .model_fields import NAME_RE
from .quantize import FloatConv2d, FloatLayer, FloatSumPool2d, QuantizeError, quantize, snap

__all__ = ["NirImportError", "import_nir", "read_graph", "graph_layers", "legal_name",
           "SUPPORTED"]

NEURONS = ("IF", "LIF", "CubaLIF")
MAPS = ("Affine", "Linear", "Scale", "Flatten")
POOLS = ("SumPool2d", "AvgPool2d")
SUPPORTED = ("Input", "Output") + MAPS + ("Conv2d",) + POOLS + NEURONS
_NAME_CHARS = set(string.ascii_lowercase + string.digits)


class NirImportError(QuantizeError):
    """A NIR graph hwgen cannot import; names the node and the reason."""


def read_graph(path, type_check=True):
    """Read a ``.nir`` file; a clear :class:`NirImportError` for anything that goes wrong.
    Returns ``(graph, note)``: a file that fails only nir's own type inference (some
    exports do: a batch dimension on the Input, a placeholder type) is read again without
    it, and ``note`` says so (``None`` otherwise); hwgen propagates and checks the shapes
    itself. ``type_check=False`` skips the first attempt."""
    import nir
    path = Path(path)
    if not path.is_file():
        raise NirImportError(f"{path}: NIR file does not exist")
    try:
        return nir.read(path, type_check=type_check), None
    except Exception as exc:     # h5py and nir raise many kinds for a broken file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if type_check:
        try:
            graph = nir.read(path, type_check=False)
        except Exception:        # not a type problem: report the first error
            pass
        else:
            return graph, (f"{path}: nir's own type check refused the graph ({detail}); read "
                           "without it, hwgen propagated and checked the shapes itself")
    raise NirImportError(f"{path}: not a readable NIR graph ({detail})")


def import_nir(graph, *, timesteps, weight_bits=8, dt=1e-4, reset="hard", max_spikes=1,
               input_max=1, decay_bits=16, v_bits=None, name=None, type_check=True):
    """Import ``graph`` (a ``nir.NIRGraph`` or a ``.nir`` path) as a quantized model.

    Returns a :class:`hwgen.quantize.Quantized` (``.model``, ``.report``, ``.write(path)``).
    ``type_check`` is passed to :func:`read_graph` for a path.
    """
    source, read_note = "<NIR graph>", None
    if isinstance(graph, (str, Path)):
        source = str(graph)
        if name is None:
            name = legal_name(Path(graph).stem, set())
        graph, read_note = read_graph(graph, type_check=type_check)
    if not dt > 0:
        raise NirImportError(f"dt must be positive, got {dt}")
    walk = _Walk(graph, dt=dt, reset=reset, max_spikes=max_spikes, source=source)
    result = quantize(walk.layers, name=name or "nir", timesteps=timesteps,
                      input_size=walk.input_size, input_max=input_max,
                      weight_bits=weight_bits, decay_bits=decay_bits, v_bits=v_bits,
                      output=walk.output, source=source,
                      input_shape=walk.input_shape if len(walk.input_shape) == 3 else None)
    result.report["notes"] = ([read_note] if read_note else []) + walk.notes + \
        result.report["notes"]
    return result


def graph_layers(graph, *, dt, reset="hard", max_spikes=1, source="<NIR graph>"):
    """``(input size, [float layers], output layer name)`` for a NIR graph."""
    walk = _Walk(graph, dt=dt, reset=reset, max_spikes=max_spikes, source=source)
    return walk.input_size, walk.layers, walk.output


def _kind(node):
    return type(node).__name__


class _Walk:
    """One import: walks back from the Output, making every layer after its sources.

    ``shape[key]`` is the per-timestep output shape of a source node (the Input, a neuron
    node or a pooling node): ``(n,)`` or ``(C, H, W)``; ``divisor[key]`` is what its values
    must still be divided by (the areas of the AvgPool2d nodes they went through).
    """

    def __init__(self, graph, *, dt, reset, max_spikes, source):
        self.nodes, self.dt, self.reset, self.max_spikes = graph.nodes, dt, reset, max_spikes
        self.source = source
        for key, node in self.nodes.items():
            if _kind(node) not in SUPPORTED:
                self.fail(f"node '{key}' is a {_kind(node)}, which import-nir does not "
                          f"support (supported: {', '.join(SUPPORTED)})")
        self.preds = {key: [] for key in self.nodes}
        for edge in graph.edges:
            a, b = edge[0], edge[1]
            for end in (a, b):
                if end not in self.nodes:
                    self.fail(f"edge {a} -> {b} names node '{end}', which the graph does "
                              "not have")
            self.preds[b].append(a)
        inputs = [k for k, n in self.nodes.items() if _kind(n) == "Input"]
        outputs = [k for k, n in self.nodes.items() if _kind(n) == "Output"]
        if len(inputs) != 1 or len(outputs) != 1:
            self.fail(f"hwgen needs exactly one Input and one Output node; the graph has "
                      f"{len(inputs)} and {len(outputs)}")
        self.in_key, out_key = inputs[0], outputs[0]
        self.input_shape = self._input_shape()
        self.input_size = int(np.prod(self.input_shape))
        self.shape = {self.in_key: self.input_shape}
        self.divisor = {self.in_key: 1}
        self.names, self.taken = {self.in_key: "input"}, set()
        self.layers, self.notes, self.visiting = [], [], set()

        # The output must be a spiking layer: follow the Output back through Flatten only.
        key = self.single_pred(out_key)
        while _kind(self.nodes[key]) == "Flatten":
            key = self.single_pred(key)
        if _kind(self.nodes[key]) not in NEURONS:
            self.fail(f"the Output is fed by {_kind(self.nodes[key])} node '{key}'; hwgen's "
                      f"output must be the spikes of an IF, LIF or CubaLIF node (a "
                      f"non-spiking readout has no hardware equivalent yet)")
        self.visit(key)
        self.output = self.names[key]

    # --- helpers ------------------------------------------------------------------------

    def fail(self, message):
        raise NirImportError(f"{self.source}: {message}")

    def single_pred(self, key):
        preds = self.preds[key]
        if not preds:
            self.fail(f"node '{key}' has no input edge")
        if len(preds) != 1:
            self.fail(f"node '{key}' has {len(preds)} inputs; it needs exactly one")
        return preds[0]

    def kind(self, key):
        return _kind(self.nodes[key])

    def is_source(self, key):
        return key == self.in_key or self.kind(key) in NEURONS + POOLS

    def _input_shape(self):
        """``(n,)`` or ``(C, H, W)``: the Input's type without leading batch/time dims."""
        node = self.nodes[self.in_key]
        shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        if shape is None:
            self.fail(f"the Input node '{self.in_key}' has no shape (input_type)")
        dims = tuple(int(d) for d in np.asarray(shape).reshape(-1))
        if len(dims) > 3:         # [batch or time, C, H, W]: one timestep is [C, H, W]
            dims = dims[-3:]
        if not dims or min(dims) < 1:
            self.fail(f"the Input node '{self.in_key}' has the shape {list(dims)}; hwgen "
                      f"needs positive sizes")
        return dims if len(dims) == 3 else (int(np.prod(dims)),)

    # --- layers -------------------------------------------------------------------------

    def visit(self, key):
        """Make the layer of source node ``key`` (after its sources); return its shape."""
        if key in self.shape:
            return self.shape[key]
        if key in self.visiting:
            self.fail(f"node '{key}' is part of a recurrent loop; hwgen layers take spikes "
                      f"of the same timestep from earlier layers only, so recurrence cannot "
                      f"be mapped")
        self.visiting.add(key)
        if self.kind(key) in POOLS:
            self._pool_layer(key)
        else:
            conv = self._conv_chain(key)
            if conv is None:
                self._dense_layer(key)
            else:
                self._conv_layer(key, *conv)
        self.visiting.discard(key)
        return self.shape[key]

    def _name(self, key):
        self.names[key] = legal_name(key, self.taken, prefix=self.kind(key).lower())
        return self.names[key]

    def map_of(self, src, reader, declared=None):
        """The ``[C, H, W]`` that ``reader`` sees from source ``src``: its own map, or
        ``declared`` (``(C, H, W)`` from a Conv2d's ``input_shape``) over a flat source."""
        shape = self.visit(src)
        if len(shape) == 3:
            return shape
        if declared is not None and int(np.prod(declared)) == shape[0]:
            return tuple(declared)
        self.fail(f"{self.kind(reader)} node '{reader}' needs a [C, H, W] feature map, but "
                  f"'{src}' gives a vector of {shape[0]} values"
                  + ("" if declared is None else f" (its input_shape is {list(declared)})"))

    def _pool_layer(self, key):
        node, kind = self.nodes[key], self.kind(key)
        src = self.single_pred(key)
        if not self.is_source(src):
            self.fail(f"{kind} node '{key}' reads {self.kind(src)} node '{src}'; pooling "
                      f"must read the Input, a neuron node or another pooling node directly")
        in_shape = self.map_of(src, key)
        kernel = self.pair(node.kernel_size, key, "kernel_size", 1)
        stride = (kernel if getattr(node, "stride", None) is None else
                  self.pair(node.stride, key, "stride", 1))
        padding = self.pair(node.padding, key, "padding", 0)
        out_hw = self.window(key, in_shape, kernel, stride, padding)
        area = kernel[0] * kernel[1]
        self.divisor[key] = self.divisor[src] * (area if kind == "AvgPool2d" else 1)
        self.layers.append(FloatSumPool2d(
            name=self._name(key), input=self.names[src], input_shape=in_shape, kernel=kernel,
            stride=stride, padding=padding, origin=f"NIR node '{key}' ({kind})"))
        self.shape[key] = (in_shape[0], *out_hw)

    def _conv_chain(self, key):
        """``(conv key, Scales after it, Scales before it, source key)`` when neuron node
        ``key`` is fed by a Conv2d (through Scale nodes), else None."""
        if len(self.preds[key]) != 1:
            return None
        post, p = [], self.preds[key][0]
        while self.kind(p) == "Scale" and len(self.preds[p]) == 1 and p not in post:
            post.append(p)
            p = self.preds[p][0]
        if self.kind(p) != "Conv2d":
            return None
        conv, pre, q = p, [], self.single_pred(p)
        while self.kind(q) == "Scale":
            if q in pre:
                self.fail(f"node '{q}' is part of a loop without neurons")
            pre.append(q)
            q = self.single_pred(q)
        if not self.is_source(q):
            self.fail(f"Conv2d node '{conv}' reads {self.kind(q)} node '{q}'; a convolution "
                      f"must read the Input, a neuron node or a pooling node (through Scale "
                      f"nodes at most)")
        return conv, post, pre, q

    def _conv_layer(self, key, conv_key, post, pre, src):
        node = self.nodes[conv_key]
        where = f"Conv2d node '{conv_key}'"
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 4:
            self.fail(f"{where} has a weight of shape {list(w.shape)}; it must be [C_out, "
                      f"C_in, kh, kw]")
        c_out, c_in, kh, kw = w.shape
        groups = int(np.asarray(node.groups).reshape(-1)[0])
        if groups != 1:
            self.fail(f"{where} has groups = {groups}; hwgen's conv2d connects every input "
                      f"channel to every output channel (groups 1 only)")
        dilation = self.pair(node.dilation, conv_key, "dilation", 1)
        if dilation != (1, 1):
            self.fail(f"{where} has dilation {list(dilation)}; hwgen's conv2d has no "
                      f"dilation (1 only)")
        stride = self.pair(node.stride, conv_key, "stride", 1)
        declared = None
        if getattr(node, "input_shape", None) is not None:
            hw = tuple(int(v) for v in np.asarray(node.input_shape).reshape(-1))
            if len(hw) != 2:
                self.fail(f"{where} has input_shape {list(hw)}; it must be [H, W]")
            declared = (c_in, *hw)
        in_shape = self.map_of(src, conv_key, declared)
        if in_shape[0] != c_in:
            self.fail(f"{where} has {c_in} input channels, but '{src}' gives the map "
                      f"{list(in_shape)}")
        if declared is not None and tuple(declared) != tuple(in_shape):
            self.fail(f"{where} has input_shape {list(declared[1:])}, but '{src}' gives the "
                      f"map {list(in_shape)}")
        padding = self.conv_padding(node.padding, conv_key, (kh, kw), stride)
        ho, wo = self.window(conv_key, in_shape, (kh, kw), stride, padding)
        b = np.asarray(node.bias, dtype=np.float64).reshape(-1) * np.ones(c_out) \
            if node.bias is not None else np.zeros(c_out)
        if b.size != c_out:
            self.fail(f"{where} has {b.size} bias values for {c_out} output channels")
        for s in pre:                # before the conv: one factor per input channel
            w = w * self.channel_scale(s, in_shape)[None, :, None, None]
        for s in post:               # after it: one factor per output channel
            f = self.channel_scale(s, (c_out, ho, wo))
            w, b = w * f[:, None, None, None], b * f
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            self.fail(f"{where} holds a value that is not finite")
        neuron, size = self.nodes[key], c_out * ho * wo
        n = _neuron_size(neuron)
        if n not in (1, size):
            self.fail(f"'{key}' has {n} neurons, but {where} gives the map "
                      f"[{c_out}, {ho}, {wo}] ({size} values)")
        p = self.neuron_params(key, c_out, ho * wo)
        w = w * p["gain"][:, None, None, None]
        b = b * p["gain"] + p["v_leak"]
        name = self._name(key)
        w, b, p = self.avg_fold(key, name, {src: w}, b, p)
        self.layers.append(FloatConv2d(
            name=name, inputs=[self.names[src]], weight=w[src], bias=b,
            input_shape=in_shape, stride=stride, padding=padding,
            **self.neuron_fields(key, p)))
        self.shape[key], self.divisor[key] = (c_out, ho, wo), 1

    def _dense_layer(self, key):
        node = self.nodes[key]
        size = _neuron_size(node)
        if size == 1:               # scalar parameters: as many neurons as the input gives
            size = self.incoming_size(key)
        sources, bias = {}, np.zeros(size)
        for p in self.preds[key] or self.fail(f"node '{key}' has no input edge"):
            bias += self.collect(p, np.eye(size), sources, key, set(), ())
        srcs = sorted(sources, key=lambda s: -1 if s == self.in_key else
                      [lay.name for lay in self.layers].index(self.names[s]))
        p = self.neuron_params(key, size, 1)
        w = {s: sources[s] * p["gain"][:, None] for s in srcs}
        b = bias * p["gain"] + p["v_leak"]
        name = self._name(key)
        w, b, p = self.avg_fold(key, name, w, b, p)
        shape = np.shape(node.v_threshold)
        self.layers.append(FloatLayer(
            name=name, inputs=[self.names[s] for s in srcs],
            weight=np.concatenate([w[s] for s in srcs], axis=1), bias=b,
            **self.neuron_fields(key, p)))
        self.shape[key] = (tuple(int(d) for d in shape[-3:]) if len(shape) >= 3
                           and int(np.prod(shape[-3:])) == size else (size,))
        self.divisor[key] = 1

    def incoming_size(self, key, seen=frozenset()):
        """How many values the first input path of node ``key`` delivers (for a neuron
        node whose parameters are scalars)."""
        preds = self.preds[key] or self.fail(f"node '{key}' has no input edge")
        p = preds[0]
        if p in seen:
            self.fail(f"node '{p}' is part of a loop without neurons")
        node, kind = self.nodes[p], self.kind(p)
        if self.is_source(p):
            return int(np.prod(self.visit(p)))
        if kind in ("Affine", "Linear"):
            return int(np.shape(node.weight)[0])
        if kind == "Scale" and np.asarray(node.scale).size > 1:
            return int(np.asarray(node.scale).size)
        if kind in ("Scale", "Flatten"):
            return self.incoming_size(p, seen | {p})
        return 1                    # anything else is refused with its own message later

    def collect(self, key, m, sources, target, seen, flats):
        """Add the path matrices from ``key`` (seen through ``m``) into ``sources``; return
        the bias this branch adds. ``m`` maps the output of ``key`` onto the input of the
        neuron node ``target``; ``flats`` are the Flatten nodes on the way."""
        kind = self.kind(key)
        if self.is_source(key):
            shape = self.visit(key)
            size = int(np.prod(shape))
            if m.shape[1] != size:
                self.fail(f"'{key}' gives {size} values but the path to '{target}' expects "
                          f"{m.shape[1]}")
            if len(shape) == 3:
                for f in flats:
                    self.check_flatten(f, shape)
            sources[key] = sources.get(key, 0) + m
            return np.zeros(m.shape[0])
        if kind == "Output":
            self.fail(f"the Output node '{key}' feeds '{target}'")
        if kind == "Conv2d":
            self.fail(f"Conv2d node '{key}' reaches '{target}' through other nodes than "
                      f"Scale, or next to other inputs; a convolution must be the one input "
                      f"of a neuron node (through Scale nodes at most)")
        if key in seen:
            self.fail(f"node '{key}' is part of a loop without neurons")
        seen = seen | {key}
        weight, bias = self.linear_map(key, m.shape[1])
        if kind == "Flatten":
            flats = flats + (key,)
        total = m @ bias
        for p in self.preds[key] or self.fail(f"node '{key}' has no input edge"):
            total = total + self.collect(p, m @ weight, sources, target, seen, flats)
        return total

    def linear_map(self, key, out_size):
        """``(W, b)`` of a linear node, W of shape [out, in]."""
        node, kind = self.nodes[key], self.kind(key)
        if kind == "Flatten":      # hwgen sees every tensor flattened (C order): nothing to do
            return np.eye(out_size), np.zeros(out_size)
        if kind == "Scale":
            scale = np.asarray(node.scale, dtype=np.float64).reshape(-1)
            w, b = np.diag(scale), np.zeros(scale.size)
        else:
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2:
                self.fail(f"{kind} node '{key}' has a weight of shape {list(w.shape)}; only "
                          f"2-D [out, in] weights are supported")
            b = (np.asarray(node.bias, dtype=np.float64).reshape(-1) if kind == "Affine"
                 else np.zeros(w.shape[0]))
        if w.shape[0] != out_size:
            self.fail(f"{kind} node '{key}' gives {w.shape[0]} values where {out_size} are "
                      f"expected")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            self.fail(f"{kind} node '{key}' holds a value that is not finite")
        return w, b

    def check_flatten(self, key, shape):
        """A Flatten between map ``shape`` and a dense consumer: its consumer reads all of
        the map as one vector (the path's sizes are checked), so a Flatten whose dims leave
        part of it unflattened is read as a whole-map flatten, with a note. Exporters write
        PyTorch's ``start_dim=1``, which counts a batch dimension the NIR type may lack."""
        node = self.nodes[key]
        declared = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        if declared is None:
            full = tuple(shape)                         # NIR convention: no batch dim
        else:
            declared = tuple(int(d) for d in np.asarray(declared).reshape(-1))
            if any(declared) and int(np.prod(declared[-3:])) != int(np.prod(shape)):
                self.fail(f"Flatten node '{key}' declares the input shape {list(declared)}, "
                          f"but it reads the map {list(shape)}")
            full = (declared if any(declared) else
                    (1,) * max(0, len(declared) - 3) + tuple(shape)[3 - min(3, len(declared)):])
        rank = len(full)
        start, end = int(node.start_dim), int(node.end_dim)
        start, end = start + rank if start < 0 else start, end + rank if end < 0 else end
        if not (0 <= start <= end < rank) or end != rank - 1 or \
                int(np.prod(full[start:])) != int(np.prod(shape)):
            note = (f"Flatten node '{key}' (start_dim {node.start_dim}, end_dim "
                    f"{node.end_dim}) of the input {list(full)} leaves part of the map "
                    f"{list(shape)} unflattened; read as flattening all of it, as its "
                    f"consumer reads all {int(np.prod(shape))} values (PyTorch's start_dim "
                    "counts a batch dimension)")
            if note not in self.notes:
                self.notes.append(note)

    # --- field parsing --------------------------------------------------------------------

    def pair(self, value, key, field, lo):
        """``k``, ``[k]`` or ``[kh, kw]`` of node ``key`` as two integers ``>= lo``."""
        v = np.asarray(value).reshape(-1)
        if v.size not in (1, 2) or v.dtype.kind not in "iuf" or not np.all(v == np.rint(v)) \
                or np.any(v < lo):
            self.fail(f"{self.kind(key)} node '{key}' has {field} {value!r}; it must be one "
                      f"or two integers >= {lo}")
        v = [int(x) for x in v]
        return (v[0], v[-1])

    def conv_padding(self, value, key, kernel, stride):
        if isinstance(value, np.ndarray) and value.dtype.kind in "SUO" and value.size == 1:
            value = value.reshape(-1)[0]
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, str):
            if value == "valid":
                return (0, 0)
            if value == "same" and stride == (1, 1) and kernel[0] % 2 and kernel[1] % 2:
                return ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
            self.fail(f"Conv2d node '{key}' has padding '{value}' with kernel {list(kernel)} "
                      f"and stride {list(stride)}; 'same' maps onto hwgen's symmetric zero "
                      f"padding only with stride 1 and an odd kernel")
        return self.pair(value, key, "padding", 0)

    def window(self, key, in_shape, kernel, stride, padding):
        """``(H_out, W_out)`` (floor, as NIR and PyTorch), with hwgen's window rules."""
        for axis, name in enumerate(("height", "width")):
            size = in_shape[1 + axis]
            if padding[axis] >= kernel[axis]:
                self.fail(f"{self.kind(key)} node '{key}' has padding {padding[axis]} not "
                          f"smaller than its kernel {name} {kernel[axis]}")
            if kernel[axis] > size + 2 * padding[axis]:
                self.fail(f"{self.kind(key)} node '{key}' has a kernel {name} {kernel[axis]} "
                          f"larger than its padded input {name} {size + 2 * padding[axis]}")
        return tuple((in_shape[1 + a] + 2 * padding[a] - kernel[a]) // stride[a] + 1
                     for a in range(2))

    def channel_scale(self, key, shape):
        """A Scale node on the map ``shape`` as one factor per channel."""
        s = np.asarray(self.nodes[key].scale, dtype=np.float64).reshape(-1)
        c = shape[0]
        if s.size == 1:
            return np.full(c, s[0])
        if s.size in (c, int(np.prod(shape))):
            per = s.reshape(c, -1)
            if np.all(per == per[:, :1]):
                return per[:, 0]
            self.fail(f"Scale node '{key}' scales the positions of one channel differently; "
                      f"next to a convolution (which shares its weights over positions) only "
                      f"one factor per channel maps exactly")
        self.fail(f"Scale node '{key}' has {s.size} values; next to the map {list(shape)} "
                  f"it needs 1, {c} or {int(np.prod(shape))}")

    # --- neurons --------------------------------------------------------------------------

    def neuron_params(self, key, rows, per_row):
        """The float neuron of node ``key`` over ``rows`` weight rows, each shared by
        ``per_row`` neurons: gain and v_leak per row, decay, threshold, v_reset."""
        node, kind = self.nodes[key], self.kind(key)
        where = f"NIR node '{key}' ({kind})"
        dt = self.dt

        def uniform(field):
            values = np.unique(np.asarray(getattr(node, field), dtype=np.float64))
            if values.size != 1:
                self.fail(f"{where} has {values.size} different {field} values; an hwgen "
                          f"layer shares one")
            return float(values[0])

        def per(field, values=None):
            a = np.asarray(getattr(node, field) if values is None else values,
                           dtype=np.float64).reshape(-1)
            if a.size == 1:
                return np.full(rows, a[0])
            if a.size != rows * per_row:
                self.fail(f"{where} has {a.size} {field} values for {rows * per_row} "
                          f"neurons")
            a = a.reshape(rows, per_row)
            if not np.all(a == a[:, :1]):
                self.fail(f"{where} has different {field} values within one output channel; "
                          f"a convolution shares one per channel")
            return a[:, 0]

        r = per("r")
        v_leak = np.zeros(rows)
        if kind == "IF":
            decay, gain = 1.0, r
        else:
            tau = uniform("tau" if kind == "LIF" else "tau_mem")
            if kind == "CubaLIF":
                tau_syn = uniform("tau_syn")
                if not np.isclose(tau_syn, dt, rtol=1e-6, atol=0):
                    self.fail(f"{where} has tau_syn = {tau_syn:g}, not dt = {dt:g}: its "
                              f"synaptic current is a second state variable that hwgen's "
                              f"neuron (DESIGN.md section 4) does not have; only tau_syn == "
                              f"dt maps exactly")
                r = r * per("w_in")
            if np.isinf(tau) and np.any(np.isinf(r)):
                self.fail(f"{where} has tau = r = inf (what snnTorch exports for beta = 1): "
                          f"the input gain r*dt/tau is undefined; export an IF node instead")
            if dt / tau > 1 + 1e-6:       # float32 round trips of tau = dt land a few ulps under
                self.fail(f"{where} has tau = {tau:g} < dt = {dt:g}; the forward Euler step "
                          f"would be unstable (pass a smaller --dt)")
            step = min(dt / tau, 1.0)
            decay = 1.0 - step
            gain = r * step
            v_leak = per("v_leak") * step
        v_reset = uniform("v_reset") if self.reset == "hard" else 0.0
        return {"gain": gain, "v_leak": v_leak, "decay": decay,
                "threshold": uniform("v_threshold"), "v_reset": v_reset, "where": where}

    def neuron_fields(self, key, p):
        return {"threshold": p["threshold"], "decay": p["decay"], "strict": True,
                "reset": self.reset, "v_reset": p["v_reset"], "max_spikes": self.max_spikes,
                "origin": p["where"]}

    def avg_fold(self, key, name, weights, bias, p):
        """Divide each source's weights by what its values still owe (AvgPool2d areas).

        When the weights are integers but the quotients are not, multiplying every
        voltage of the layer by the least common multiple ``L`` of the areas instead
        (weights of a source by ``L / area``; bias, threshold, v_reset by ``L``) is the
        same network (``v' = L v``, ``v' > L t <=> v > t``) and keeps it integer."""
        div = {s: self.divisor[s] for s in weights}
        if all(d == 1 for d in div.values()):
            return weights, bias, p
        pools = ", ".join(f"'{s}'" for s in weights if div[s] != 1)
        lcm = math.lcm(*div.values())
        plain = {s: w / div[s] for s, w in weights.items()}
        scaled = {s: w * (lcm // div[s]) for s, w in weights.items()}
        if not all(_integral(w) for w in plain.values()) and \
                all(_integral(w) for w in scaled.values()) and \
                _integral(bias * lcm) and _integral(p["v_reset"] * lcm):
            self.notes.append(
                f"layer '{name}' (from NIR node '{key}'): its input from {pools} is an "
                f"average (AvgPool2d): instead of dividing its weights, every voltage of the "
                f"layer (weights, bias, threshold, v_reset) is multiplied by {lcm}; the same "
                f"network, integer-valued")
            return scaled, bias * lcm, {**p, "threshold": p["threshold"] * lcm,
                                        "v_reset": p["v_reset"] * lcm}
        self.notes.append(
            f"layer '{name}' (from NIR node '{key}'): its input from {pools} is an average "
            f"(AvgPool2d): the 1/area is folded into its weights"
            + ("" if all(_integral(w) for w in plain.values()) else
               " (not integers: quantized with the scale and error reported below)"))
        return plain, bias, p


def _integral(x):
    x = snap(x)
    return bool(np.all(x == np.rint(x)))


def _neuron_size(node):
    return int(np.asarray(node.v_threshold).size)


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
