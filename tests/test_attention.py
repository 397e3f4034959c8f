"""The attention layer type: its model-file checks and its golden step against an
independent scalar reference of DESIGN.md section 4 (plain Python loops over tokens and
channels, reading the raw model dict)."""

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_golden import neurons, ref_neuron

import golden
from hwgen.model import ModelError, model_from_dict

# --- independent reference ---------------------------------------------------------------


def ref_attention(ad, q, k, v, state):
    """One timestep of attention layer ``ad`` (its YAML mapping); ``q, k, v`` are flat lists
    of ``tokens * dim`` 0/1 spikes. Returns ``(spikes, state)``."""
    n_tok, dim, heads = ad["tokens"], ad["dim"], ad["heads"]
    dh = dim // heads

    def at(x, n, c):
        return x[n * dim + c]

    out = [0] * (n_tok * dim)
    if ad["variant"] == "hadamard":
        m = []
        for c in range(dim):
            a = sum(at(k, n, c) * at(v, n, c) for n in range(n_tok))
            s, state[c] = ref_neuron(ad["neuron"], state[c], a)
            m.append(s)
        for n in range(n_tok):
            for c in range(dim):
                out[n * dim + c] = at(q, n, c) * m[c]
        return out, state
    for n in range(n_tok):
        for c2 in range(dim):
            head = c2 // dh
            a = 0
            for c1 in range(head * dh, (head + 1) * dh):
                kv = sum(at(k, t, c1) * at(v, t, c2) for t in range(n_tok))
                a += at(q, n, c1) * kv
            i = n * dim + c2
            out[i], state[i] = ref_neuron(ad["neuron"], state[i], a)
    return out, state


def ref_run(data, xs):
    """Spikes of each layer of a model whose layers are binary 'dense' projections (as the
    random draws below make them: weights 0/1 copying input bits) and attention layers."""
    out = {ld["name"]: [] for ld in data["layers"]}
    state = {}
    for x_t in xs:
        seen = {"input": list(x_t)}
        for ld in data["layers"]:
            name = ld["name"]
            if ld["type"] == "attention":
                st_ = state.setdefault(name, [0] * (ld["dim"] if ld["variant"] == "hadamard"
                                                    else ld["tokens"] * ld["dim"]))
                s, state[name] = ref_attention(ld, seen[ld["q"]], seen[ld["k"]],
                                               seen[ld["v"]], st_)
            else:   # a projection: spike where the weighted input reaches the threshold
                x = seen[ld["input"]]
                s = [int(sum(w * xj for w, xj in zip(row, x, strict=True))
                         >= ld["neuron"]["threshold"]) for row in ld["weights"]]
            seen[name] = s
            out[name].append(s)
    return out


# --- random attention models --------------------------------------------------------------

@st.composite
def attention_models(draw):
    """Input bits -> three binary projections q, k, v (random 0/1 weights, LIF neurons
    with leak shift 0, which forget their membrane every timestep: a spike where the count
    reaches the threshold) -> attention."""
    heads = draw(st.integers(1, 3))
    dim = heads * draw(st.integers(1, 4))
    tokens = draw(st.integers(1, 5))
    size = draw(st.integers(1, 8))
    td = tokens * dim
    layers = []
    for role in ("q", "k", "v"):
        weights = draw(st.lists(st.lists(st.integers(0, 1), min_size=size, max_size=size),
                                min_size=td, max_size=td))
        layers.append({"name": role, "type": "dense", "input": "input", "size": td,
                       "weights": weights, "weight_bits": 2,
                       "neuron": {"model": "lif", "leak": {"shift": 0},
                                  "threshold": draw(st.integers(1, 2)),
                                  "reset": "hard", "v_bits": 8, "max_spikes": 1}})
    nd = draw(neurons())
    layers.append({"name": "att", "type": "attention",
                   "variant": draw(st.sampled_from(["hadamard", "linear"])),
                   "tokens": tokens, "dim": dim, "heads": heads,
                   "q": "q", "k": "k", "v": "v", "neuron": nd})
    return {"format": "hwgen-model/1", "name": "att", "timesteps": draw(st.integers(1, 4)),
            "input": {"size": size, "max_value": 1}, "layers": layers, "output": "att"}


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_golden_attention_equals_the_reference(data):
    d = data.draw(attention_models())
    steps = d["timesteps"]
    xs = [data.draw(st.lists(st.integers(0, 1), min_size=d["input"]["size"],
                             max_size=d["input"]["size"])) for _ in range(steps)]
    model = model_from_dict(d)
    got = golden.run(model, np.array(xs, np.int64))
    want = ref_run(d, xs)
    for name in want:
        assert got[name].tolist() == want[name], name


def test_both_variants_on_a_hand_worked_case():
    """Two tokens, two channels, one head: the numbers of DESIGN.md section 4 by hand."""
    # Q = [[1,0],[1,1]], K = [[1,1],[0,1]], V = [[1,0],[1,1]]
    q, k, v = [1, 0, 1, 1], [1, 1, 0, 1], [1, 0, 1, 1]
    x = np.array([q + k + v])
    for variant, expect in (
            # hadamard: a = [K0V0 + K1V1] = [1 + 0, 0 + 1] = [1, 1]; θ=1 -> m = [1, 1]
            ("hadamard", [1, 0, 1, 1]),
            # linear: KV = [[1, 0], [1, 1]] (KV[c1][c2] = sum_n K[n,c1] V[n,c2]);
            # A[0] = KV[0] = [1, 0]; A[1] = KV[0] + KV[1] = [2, 1]; θ=2 -> [0,0,1,0]
            ("linear", [0, 0, 1, 0])):
        layer = model_from_dict(_model(variant, threshold=1 if variant == "hadamard" else 2)
                                ).layer("att")
        s, _ = layer.golden_step(x, layer.golden_state(1))
        assert s[0].tolist() == expect, variant


def _model(variant="linear", threshold=1, **att):
    proj = {"type": "dense", "input": "input", "size": 4, "weights": np.eye(4, dtype=int)
            .tolist(), "weight_bits": 2,
            "neuron": {"model": "if", "threshold": 1, "reset": "hard", "v_bits": 4}}
    layer = {"name": "att", "type": "attention", "variant": variant, "tokens": 2, "dim": 2,
             "heads": 1, "q": "q", "k": "k", "v": "v",
             "neuron": {"model": "if", "threshold": threshold, "reset": "soft",
                        "v_bits": 8}} | att
    return {"format": "hwgen-model/1", "name": "att", "timesteps": 2,
            "input": {"size": 4, "max_value": 1},
            "layers": [copy.deepcopy({"name": r, **proj}) for r in "qkv"] + [layer],
            "output": "att"}


@pytest.mark.parametrize("change, rule", [
    ({"variant": "softmax"}, r"variant must be one of hadamard, linear"),
    ({"heads": 3}, r"heads must be <= 2, got 3"),
    ({"dim": 3, "tokens": 1, "heads": 2}, r"heads = 2 must divide dim = 3"),
    ({"tokens": 3}, r"q 'q' has 4 neurons; it must have tokens \* dim = 6"),
    ({"k": "nope"}, r"k 'nope' must be 'input' or the name of an earlier layer"),
    ({"v": "q"}, r"q, k and v must name three different layers"),
    ({"q": "input"}, r"q 'input' must be binary .* its spikes reach 3"),
    ({"q": ["q"]}, r"q \['q'\] must be 'input' or the name of an earlier layer"),
    ({"v": "att"}, r"v 'att' must be 'input' or the name of an earlier layer"),
    ({"tokens": 0}, r"tokens must be >= 1, got 0"),
    ({"tokens": 300, "dim": 300, "heads": 1}, r"tokens \* dim = 90000 is more than 65536"),
    ({"variant": "linear", "neuron": 4}, r"neuron must be a mapping"),
])
def test_attention_fields_refused_clearly(change, rule):
    d = _model(**change)
    d["input"]["max_value"] = 3
    with pytest.raises(ModelError, match=rf"layer 'att': {rule}"):
        model_from_dict(d)


def test_graded_projection_refused():
    d = _model()
    d["layers"][1]["neuron"]["max_spikes"] = 2
    with pytest.raises(ModelError, match=r"layer 'att': k 'k' must be binary .* reach 2"):
        model_from_dict(d)
