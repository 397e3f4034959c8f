"""An independent NIR simulator for the tests: the graph evaluated node by node, every step.

It shares no code with ``hwgen.nir_import`` (which folds the linear nodes into layers):
here every node is evaluated on its own in float64, in graph order, with the forward-Euler
semantics docs/import.md states -- LIF ``v += dt/tau (v_leak - v + r I)``, IF ``v += r I``,
CubaLIF ``i += dt/tau_syn (w_in I - i)`` then the LIF step on ``i``; a spike when ``v >
v_threshold``, then ``v = v_reset`` (or ``v -= v_threshold`` for ``reset="soft"``).
For integer-valued graphs float64 is exact, so the result is the ground truth.
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


def simulate(graph, x, *, dt=1e-4, reset="hard"):
    """Spikes of every neuron node, ``{key: [T, size]}``, for inputs ``x`` [T, input size]."""
    order, preds = _topological(graph)
    state = {}
    spikes = {}
    for t in range(x.shape[0]):
        out = {}
        for key in order:
            node = graph.nodes[key]
            kind = type(node).__name__
            inp = sum((out[p] for p in preds[key]), start=np.zeros(1)) if preds[key] else None
            if kind == "Input":
                out[key] = x[t].astype(np.float64)
            elif kind in ("Output", "Flatten"):
                out[key] = inp
            elif kind == "Affine":
                out[key] = node.weight @ inp + node.bias
            elif kind == "Linear":
                out[key] = node.weight @ inp
            elif kind == "Scale":
                out[key] = node.scale * inp
            else:
                out[key] = _neuron_step(node, kind, inp, state.setdefault(key, {}), dt, reset)
                spikes.setdefault(key, []).append(out[key])
    return {k: np.array(v, dtype=np.int64) for k, v in spikes.items()}


def _neuron_step(node, kind, inp, st, dt, reset):
    v = st.get("v", np.zeros(np.asarray(node.v_threshold).size))
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
