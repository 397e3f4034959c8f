"""An independent NIR simulator for the tests: the graph evaluated node by node, every step.

It shares no code with ``hwgen.nir_import`` (which folds the linear nodes into layers) nor
with the golden model: here every node is evaluated on its own in float64, in graph order,
on tensors of the node's own shape, with the forward-Euler semantics docs/import.md
states -- LIF ``v += dt/tau (v_leak - v + r I)``, IF ``v += r I``, CubaLIF ``i += dt/tau_syn
(w_in I - i)`` then the LIF step on ``i``; a spike when ``v > v_threshold``, then ``v =
v_reset`` (or ``v -= v_threshold`` for ``reset="soft"``). Feature maps are ``[C, H, W]``:
``Conv2d`` (zero padding, stride; explicit loops over output positions), ``SumPool2d`` and
``AvgPool2d`` (window sum, and that divided by the kernel area), ``Flatten`` (start_dim to
end_dim of the tensor). For integer-valued graphs (and pooling areas that are powers of
two) float64 is exact, so the result is the ground truth.
"""

import numpy as np


def _topological(graph):
    preds = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        preds[b].append(a)
    order, done = [], set()

    def visit(k):
        if k in done:
            return
        done.add(k)
        for p in preds[k]:
            visit(p)
        order.append(k)

    for k in graph.nodes:
        visit(k)
    return order, preds


def _input_shape(node):
    """``[C, H, W]`` (leading batch/time dims dropped) or ``[n]``."""
    shape = [int(d) for d in np.asarray(node.input_type["input"]).reshape(-1)]
    return shape[-3:] if len(shape) >= 3 else [int(np.prod(shape))]


def simulate(graph, x, *, dt=1e-4, reset="hard", pools=False):
    """Spikes of every neuron node, ``{key: [T, size]}`` (flattened row-major), for
    inputs ``x`` [T, input size]. ``pools=True`` adds the outputs of the pooling nodes."""
    order, preds = _topological(graph)
    state, spikes, pooled = {}, {}, {}
    for t in range(x.shape[0]):
        out = {}
        for key in order:
            node = graph.nodes[key]
            kind = type(node).__name__
            inp = sum((out[p] for p in preds[key]), start=np.zeros(1)) if preds[key] else None
            if kind == "Input":
                out[key] = x[t].astype(np.float64).reshape(_input_shape(node))
            elif kind == "Output":
                out[key] = inp
            elif kind == "Flatten":
                out[key] = _flatten(inp, int(node.start_dim), int(node.end_dim))
            elif kind == "Affine":
                out[key] = node.weight @ inp + node.bias
            elif kind == "Linear":
                out[key] = node.weight @ inp
            elif kind == "Scale":
                out[key] = node.scale * inp
            elif kind == "Conv2d":
                out[key] = _conv2d(node, inp)
            elif kind in ("SumPool2d", "AvgPool2d"):
                out[key] = _pool(node, inp, average=kind == "AvgPool2d")
                pooled.setdefault(key, []).append(out[key].reshape(-1))
            else:
                out[key] = _neuron_step(node, kind, inp, state.setdefault(key, {}), dt, reset)
                spikes.setdefault(key, []).append(out[key].reshape(-1))
    result = {k: np.array(v, dtype=np.int64) for k, v in spikes.items()}
    if pools:
        result.update({k: np.array(v) for k, v in pooled.items()})
    return result


def _flatten(a, start, end):
    rank = a.ndim
    start, end = start % rank if rank else 0, end % rank if rank else 0
    return a.reshape(*a.shape[:start], -1, *a.shape[end + 1:])


def _two(v):
    v = np.asarray(v).reshape(-1)
    return int(v[0]), int(v[-1])


def _conv2d(node, a):
    assert int(np.asarray(node.groups).reshape(-1)[0]) == 1
    assert _two(node.dilation) == (1, 1)
    w = np.asarray(node.weight, dtype=np.float64)
    c_out, c_in, kh, kw = w.shape
    sy, sx = _two(node.stride)
    pad = node.padding
    if isinstance(pad, str):
        py, px = (0, 0) if pad == "valid" else ((kh - 1) // 2, (kw - 1) // 2)
    else:
        py, px = _two(pad)
    c, h, wd = a.shape
    assert c == c_in
    padded = np.zeros((c, h + 2 * py, wd + 2 * px))
    padded[:, py:py + h, px:px + wd] = a
    ho, wo = (h + 2 * py - kh) // sy + 1, (wd + 2 * px - kw) // sx + 1
    out = np.zeros((c_out, ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            patch = padded[:, oy * sy:oy * sy + kh, ox * sx:ox * sx + kw]
            for co in range(c_out):
                out[co, oy, ox] = np.sum(w[co] * patch)
    bias = np.zeros(c_out) if node.bias is None else np.asarray(node.bias, np.float64)
    return out + bias.reshape(-1)[:, None, None] * np.ones(c_out)[:, None, None]


def _pool(node, a, average):
    kh, kw = _two(node.kernel_size)
    sy, sx = _two(node.stride)
    py, px = _two(node.padding)
    c, h, w = a.shape
    padded = np.zeros((c, h + 2 * py, w + 2 * px))
    padded[:, py:py + h, px:px + w] = a
    ho, wo = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1
    out = np.zeros((c, ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            out[:, oy, ox] = padded[:, oy * sy:oy * sy + kh, ox * sx:ox * sx + kw].sum(
                axis=(1, 2))
    return out / (kh * kw) if average else out


def _neuron_step(node, kind, inp, st, dt, reset):
    shape = np.shape(node.v_threshold)
    inp = np.asarray(inp).reshape(shape) if np.size(inp) == np.prod(shape) else inp
    v = st.get("v", np.zeros(shape))
    if kind == "IF":
        v = v + node.r * inp
    else:
        if kind == "CubaLIF":
            i = st.get("i", np.zeros_like(v))
            i = i + dt / node.tau_syn * (node.w_in * inp - i)
            st["i"] = i
            inp, tau = i, node.tau_mem
        else:
            tau = node.tau
        v = v + dt / tau * (node.v_leak - v + node.r * inp)
    z = v > node.v_threshold
    if reset == "hard":
        v = np.where(z, node.v_reset, v)
    elif reset == "soft":
        v = v - z * node.v_threshold
    st["v"] = v
    return z.astype(np.float64)
