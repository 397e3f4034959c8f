"""The golden model (golden/) against an independent scalar reference of DESIGN.md section 4.

The reference below is written from DESIGN.md alone: plain Python integers (unbounded, so
``>>`` and ``//`` are exact floor operations), one neuron at a time, reading the model from
the raw dict (so the defaults of section 3 are re-derived here too, not taken from the
loader). Hypothesis draws random dense models and inputs; the draws are derandomized,
so every run checks the same cases.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import golden
from hwgen.model import Neuron, model_from_dict

# --- independent scalar reference ------------------------------------------------------------


def ref_clamp(x, v_bits):
    lo = -(2 ** (v_bits - 1))
    hi = 2 ** (v_bits - 1) - 1
    return min(max(x, lo), hi)


def ref_neuron(nd, v, current):
    """One neuron, one timestep: ``(s, v_next)``. ``nd`` is the YAML ``neuron`` mapping."""
    v_bits = nd["v_bits"]
    theta = nd["threshold"]
    d = nd.get("max_spikes", 1)
    if nd["model"] == "if":
        v_leak = v
    elif "shift" in nd["leak"]:
        k = nd["leak"]["shift"]
        v_leak = v - (v >> k)
    else:
        lam, f = nd["leak"]["decay"], nd["leak"]["frac_bits"]
        v_leak = (v * lam) >> f
    u = ref_clamp(v_leak + current, v_bits)
    if u < theta:
        s = 0
    elif d == 1:
        s = 1
    else:
        s = min(u // theta, d)
    if nd["reset"] == "hard":
        v_next = nd.get("v_reset", 0) if s > 0 else u
    elif nd["reset"] == "soft":
        v_next = u - s * theta
    else:
        v_next = u
    return s, v_next


def ref_run(data, xs):
    """Spikes of every layer for one inference ``xs`` (list of T lists): ``{name: [[..]]}``."""
    layers = data["layers"]
    out = {ld["name"]: [] for ld in layers}
    state = {ld["name"]: [0] * ld["size"] for ld in layers}
    for x_t in xs:
        seen = {"input": list(x_t)}
        previous = "input"
        for ld in layers:
            src = ld.get("input", previous)
            names = src if isinstance(src, list) else [src]
            x = []
            for name in names:
                x = x + seen[name]
            spikes = []
            for i in range(ld["size"]):
                current = ld["bias"][i] if "bias" in ld else 0
                for j, xj in enumerate(x):
                    current += ld["weights"][i][j] * xj
                s, state[ld["name"]][i] = ref_neuron(ld["neuron"], state[ld["name"]][i], current)
                spikes.append(s)
            seen[ld["name"]] = spikes
            out[ld["name"]].append(spikes)
            previous = ld["name"]
    return out


STEPS = [1, 2, 3, 4, 5, 6]


# --- random models ---------------------------------------------------------------------------

def weighted(*pairs):
    """Choose among strategies with integer weights (``st.one_of`` weighs them equally)."""
    options = [strategy for weight, strategy in pairs for _ in range(weight)]
    return st.sampled_from(options).flatmap(lambda strategy: strategy)


@st.composite
def neurons(draw):
    v_bits = draw(st.integers(4, 16))
    v_max = 2 ** (v_bits - 1) - 1
    kind = draw(st.sampled_from(["if", "lif_shift", "lif_decay"]))
    if kind == "if":
        nd = {"model": "if"}
    elif kind == "lif_shift":
        nd = {"model": "lif", "leak": {"shift": draw(st.integers(0, v_bits))}}
    else:
        f = draw(st.integers(0, 8))
        nd = {"model": "lif", "leak": {"decay": draw(st.integers(0, 2**f)), "frac_bits": f}}
    # mostly small thresholds (so neurons fire, often several times over), sometimes any
    nd["threshold"] = draw(weighted((3, st.integers(1, min(v_max, 8))),
                                    (1, st.integers(1, v_max))))
    nd["reset"] = draw(st.sampled_from(["hard", "soft", "none"]))
    if draw(st.booleans()):
        nd["v_reset"] = draw(st.integers(-min(v_max + 1, 40), min(v_max, 40)))
    if draw(weighted((2, st.just(True)), (1, st.just(False)))):
        nd["max_spikes"] = draw(st.sampled_from([1, 2, 3, 4, 5]))
    nd["v_bits"] = v_bits
    return nd


@st.composite
def models(draw):
    input_size = draw(st.integers(1, 12))
    data = {
        "format": "hwgen-model/1",
        "name": "rnd",
        "timesteps": draw(st.sampled_from(STEPS)),
        "input": {"size": input_size, "max_value": draw(st.integers(1, 15))},
        "layers": [],
    }
    sizes = {"input": input_size}
    n_layers = draw(st.integers(1, 3))
    for index in range(n_layers):
        name = f"l{index}"
        previous = data["layers"][-1]["name"] if data["layers"] else "input"
        earlier = [ld["name"] for ld in data["layers"]]
        ld = {"name": name, "type": "dense"}
        how = draw(st.sampled_from(["default", "explicit", "list"]))
        if how == "default":
            src = [previous]
        elif how == "explicit":
            src = [draw(st.sampled_from(["input", *earlier]))]
            ld["input"] = src[0]
        else:
            # the network input and an earlier layer (or just the input twice-removed)
            other = draw(st.sampled_from(earlier)) if earlier else None
            src = ["input", other] if other else ["input"]
            if draw(st.booleans()):
                src.reverse()
            ld["input"] = src
        fan_in = sum(sizes[s] for s in src)
        size = draw(st.integers(1, 12))
        wb = draw(st.integers(2, 8))
        w = st.integers(-(2 ** (wb - 1)), 2 ** (wb - 1) - 1)
        ld["size"] = size
        ld["weights"] = draw(st.lists(st.lists(w, min_size=fan_in, max_size=fan_in),
                                      min_size=size, max_size=size))
        ld["weight_bits"] = wb
        nd = draw(neurons())
        ld["neuron"] = nd
        if draw(st.booleans()):
            bound = min(2 ** (nd["v_bits"] - 1) - 1, 64)
            ld["bias"] = draw(st.lists(st.integers(-bound - 1, bound),
                                       min_size=size, max_size=size))
        data["layers"].append(ld)
        sizes[name] = size
    data["output"] = draw(st.sampled_from([ld["name"] for ld in data["layers"]]))
    return data


def inputs(data, steps):
    row = st.lists(st.integers(0, data["input"]["max_value"]),
                   min_size=data["input"]["size"], max_size=data["input"]["size"])
    return st.lists(row, min_size=steps, max_size=steps)


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=st.data())
def test_golden_matches_reference(data):
    d = data.draw(models(), label="model")
    steps = data.draw(st.sampled_from(STEPS), label="T")
    xs = data.draw(inputs(d, steps), label="X")
    model = model_from_dict(d)
    got = golden.run(model, np.array(xs, dtype=np.int64))
    want = ref_run(d, xs)
    for layer in model.layers:
        arr = got[layer.name]
        assert arr.dtype == np.int64
        assert arr.shape == (steps, layer.size)
        assert arr.tolist() == want[layer.name], f"layer {layer.name}"


@SETTINGS
@given(data=st.data())
def test_golden_batched_equals_unbatched(data):
    d = data.draw(models(), label="model")
    steps = data.draw(st.sampled_from(STEPS), label="T")
    n = data.draw(st.integers(1, 4), label="N")
    xss = [data.draw(inputs(d, steps), label=f"X[{i}]") for i in range(n)]
    model = model_from_dict(d)
    batched = golden.run(model, np.array(xss, dtype=np.int64))
    singles = [golden.run(model, np.array(xs, dtype=np.int64)) for xs in xss]
    refs = [ref_run(d, xs) for xs in xss]
    for layer in model.layers:
        arr = batched[layer.name]
        assert arr.dtype == np.int64
        assert arr.shape == (n, steps, layer.size)
        assert np.array_equal(arr, np.stack([s[layer.name] for s in singles]))
        assert arr.tolist() == [r[layer.name] for r in refs], f"layer {layer.name}"


def neuron_of(nd):
    """The loader's Neuron for a YAML ``neuron`` mapping."""
    return model_from_dict({
        "format": "hwgen-model/1", "name": "one", "timesteps": 1,
        "input": {"size": 1, "max_value": 1},
        "layers": [{"name": "n", "type": "dense", "size": 1, "weights": [[0]],
                    "weight_bits": 2, "neuron": nd}],
        "output": "n",
    }).layers[0].neuron


@SETTINGS
@given(data=st.data())
def test_neuron_step_matches_reference_state_included(data):
    """Membrane state too, not only spikes: a one-off error in v rarely shows in spikes."""
    nd = data.draw(neurons(), label="neuron")
    width = data.draw(st.integers(1, 12), label="neurons")
    steps = data.draw(st.integers(1, 8), label="steps")
    span = 3 * 2 ** nd["v_bits"]
    currents = data.draw(st.lists(
        st.lists(weighted((3, st.integers(-3 * nd["threshold"], 6 * nd["threshold"])),
                          (1, st.integers(-span, span))),
                 min_size=width, max_size=width),
        min_size=steps, max_size=steps), label="I")
    n = neuron_of(nd)
    v = np.zeros(width, np.int64)
    ref_v = [0] * width
    for cur in currents:
        s, v = golden.neuron_step(n, v, np.array(cur, np.int64))
        ref = [ref_neuron(nd, a, b) for a, b in zip(ref_v, cur, strict=True)]
        assert s.tolist() == [r[0] for r in ref]
        assert v.tolist() == [r[1] for r in ref]
        ref_v = [r[1] for r in ref]


def test_random_models_exercise_the_arithmetic():
    """The draws are not trivial: spikes, graded spikes and clamping all happen."""
    seen = {"spike": False, "graded": False, "clamp_hi": False, "clamp_lo": False}

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def probe(data):
        d = data.draw(models())
        xs = data.draw(inputs(d, 6))
        spikes = ref_run(d, xs)
        for ld in d["layers"]:
            flat = [s for row in spikes[ld["name"]] for s in row]
            seen["spike"] |= any(flat)
            seen["graded"] |= any(s > 1 for s in flat)
        # clamping: re-run the reference's own sums for layer 0 unclamped
        ld = d["layers"][0]
        v_max = 2 ** (ld["neuron"]["v_bits"] - 1) - 1
        for x in xs:
            for i in range(ld["size"]):
                cur = sum(w * xj for w, xj in zip(ld["weights"][i], x, strict=False))
                seen["clamp_hi"] |= cur > v_max
                seen["clamp_lo"] |= cur < -v_max - 1

    probe()
    assert all(seen.values()), seen


# --- hand-written edge cases -----------------------------------------------------------------

def neuron(**kw):
    """A Neuron (for golden) and the matching YAML mapping (for the reference)."""
    nd = {"model": "if", "threshold": 100, "reset": "none", "v_bits": 16}
    nd.update({k: v for k, v in kw.items() if not k.startswith("leak_")})
    if "leak_shift" in kw:
        nd.update(model="lif", leak={"shift": kw["leak_shift"]})
    if "leak_decay" in kw:
        nd.update(model="lif", leak={"decay": kw["leak_decay"], "frac_bits": kw["leak_frac_bits"]})
    fields = {k: v for k, v in nd.items() if k != "leak"}
    fields.update({k: v for k, v in kw.items() if k.startswith("leak_")})
    return Neuron(**fields), nd


def step_both(nkw, v, current):
    """One step through golden.neuron_step and through the reference; they must agree."""
    n, nd = neuron(**nkw)
    s, v_next = golden.neuron_step(n, np.array([v], np.int64), np.array([current], np.int64))
    ref = ref_neuron(nd, v, current)
    assert (int(s[0]), int(v_next[0])) == ref
    return ref


@pytest.mark.parametrize("v, k, v_leak", [
    (-3, 1, -1),      # -3 >> 1 = -2 (floor, not truncation): -3 - (-2) = -1
    (3, 1, 2),        # 3 >> 1 = 1
    (-1, 4, 0),       # -1 >> 4 = -1: the leak reaches 0 from below
    (-1, 0, 0),       # shift 0: v - v = 0
    (-17, 2, -12),    # -17 >> 2 = -5
    (17, 2, 13),      # 17 >> 2 = 4
    (-32768, 16, -32767),   # shift = v_bits
])
def test_lif_shift_is_arithmetic(v, k, v_leak):
    assert step_both({"leak_shift": k}, v, 0) == (0, v_leak)


@pytest.mark.parametrize("v, lam, f, v_leak", [
    (-77, 16, 4, -77),    # λ = 2^f: no leak
    (77, 16, 4, 77),
    (-77, 0, 4, 0),       # λ = 0: everything forgotten
    (77, 0, 0, 0),
    (-3, 1, 1, -2),       # (-3 * 1) >> 1 = floor(-1.5) = -2
    (5, 3, 2, 3),         # 15 >> 2 = 3
    (-5, 3, 2, -4),       # -15 >> 2 = -4
    (-32768, 65535, 16, -32768),   # (-2^15 * (2^16 - 1)) >> 16 = -2^15 + 0.5 -> floor -32768
])
def test_lif_decay(v, lam, f, v_leak):
    assert step_both({"leak_decay": lam, "leak_frac_bits": f}, v, 0) == (0, v_leak)


@pytest.mark.parametrize("v, current, u", [
    (5, 10, 7),          # v_bits 4: [-8, 7]
    (7, 1, 7),
    (-5, -100, -8),
    (-8, -1, -8),
    (0, 7, 7),
    (0, -8, -8),
    (3, -11, -8),
])
def test_clamp_both_ends(v, current, u):
    # threshold 7 = v_max, reset none: v_next = u; fires only at the top
    s, v_next = step_both({"v_bits": 4, "threshold": 7}, v, current)
    assert (s, v_next) == (int(u >= 7), u)


def test_clamp_before_leak_not_after():
    # the leak uses the stored (clamped) v; the clamp is applied to v_leak + I
    s, v_next = step_both({"v_bits": 4, "threshold": 7, "leak_shift": 1}, -8, 20)
    assert (s, v_next) == (1, 7)          # -8 - (-4) = -4; -4 + 20 = 16 -> 7


@pytest.mark.parametrize("u, s", [(2, 0), (3, 1), (5, 1), (6, 2), (9, 2), (100, 2)])
def test_graded_spikes(u, s):
    assert step_both({"threshold": 3, "max_spikes": 2}, 0, u)[0] == s


@pytest.mark.parametrize("u, s", [(-5, 0), (3, 1), (4, 1), (8, 2), (13, 4), (16, 5), (99, 5)])
def test_graded_spikes_min_u_div_theta_d(u, s):
    assert step_both({"threshold": 3, "max_spikes": 5}, 0, u)[0] == min(max(u, 0) // 3, 5) == s


def test_binary_spike_is_one_even_far_above_threshold():
    assert step_both({"threshold": 3, "max_spikes": 1, "reset": "soft"}, 0, 9) == (1, 6)


@pytest.mark.parametrize("u, d, want", [
    (9, 2, (2, 3)),     # s = 2: 9 - 2*3
    (9, 5, (3, 0)),     # s = 3: 9 - 3*3
    (5, 5, (1, 2)),
    (2, 5, (0, 2)),     # no spike: v = u
    (-4, 5, (0, -4)),
])
def test_soft_reset_subtracts_s_theta(u, d, want):
    assert step_both({"threshold": 3, "max_spikes": d, "reset": "soft"}, 0, u) == want


@pytest.mark.parametrize("u, d, v_reset, want", [
    (9, 2, -2, (2, -2)),
    (3, 1, 5, (1, 5)),      # v_reset may even be above θ
    (2, 1, -2, (0, 2)),     # no spike: v = u
    (-9, 3, 0, (0, -9)),
])
def test_hard_reset_to_v_reset(u, d, v_reset, want):
    got = step_both({"threshold": 3, "max_spikes": d, "reset": "hard", "v_reset": v_reset}, 0, u)
    assert got == want


def test_none_reset_keeps_u():
    assert step_both({"threshold": 3, "max_spikes": 2, "reset": "none"}, 4, 5) == (2, 9)


def test_neuron_step_vectorized_over_neurons():
    n, nd = neuron(threshold=3, max_spikes=3, reset="soft", v_bits=6, leak_shift=2)
    v = np.array([-32, -3, 0, 5, 31, 17], np.int64)
    cur = np.array([-5, 2, 9, 40, 1, -20], np.int64)
    s, v_next = golden.neuron_step(n, v, cur)
    assert list(zip(s.tolist(), v_next.tolist(), strict=True)) == [
        ref_neuron(nd, int(a), int(b)) for a, b in zip(v, cur, strict=True)]


# --- network-level edge cases ----------------------------------------------------------------

def chain():
    """input(2) -> a(2, if, soft) -> b(1, lif shift 1, hard, graded); c reads [b, input]."""
    return {
        "format": "hwgen-model/1", "name": "chain", "timesteps": 3,
        "input": {"size": 2, "max_value": 3},
        "layers": [
            {"name": "a", "type": "dense", "size": 2, "weights": [[1, 0], [1, 1]],
             "bias": [0, -1], "weight_bits": 2,
             "neuron": {"model": "if", "threshold": 1, "reset": "soft", "v_bits": 4,
                        "max_spikes": 3}},
            {"name": "b", "type": "dense", "size": 1, "weights": [[2, 1]], "weight_bits": 3,
             "neuron": {"model": "lif", "leak": {"shift": 1}, "threshold": 4, "reset": "hard",
                        "v_reset": -1, "v_bits": 5, "max_spikes": 2}},
            {"name": "c", "type": "dense", "input": ["b", "input"], "size": 1,
             "weights": [[4, -1, 0]], "weight_bits": 4,
             "neuron": {"model": "if", "threshold": 8, "reset": "none", "v_bits": 6}},
        ],
        "output": "c",
    }


def test_chain_by_hand():
    d = chain()
    xs = [[3, 0], [0, 2], [1, 1]]
    got = golden.run(model_from_dict(d), np.array(xs))
    # t0: a: I = [3, 2] -> u = [3, 2], s = [3, 2] (θ 1, D 3), v = [0, 0]
    #     b: I = 2*3 + 2 = 8 -> u = 8, s = min(8 // 4, 2) = 2, v = -1 (hard)
    #     c: x = [b, in0, in1] = [2, 3, 0]: I = 8 - 3 = 5 -> u = 5, s = 0
    # t1: a: I = [0, 1] -> u = [0, 1], s = [0, 1], v = [0, 0]
    #     b: v_leak = -1 - (-1 >> 1) = -1 - (-1) = 0; I = 1 -> u = 1, s = 0, v = 1
    #     c: x = [0, 0, 2]: I = 0 -> u = 5, s = 0
    # t2: a: I = [1, 1] -> s = [1, 1]
    #     b: v_leak = 1 - 0 = 1; I = 3 -> u = 4, s = 1, v = -1
    #     c: x = [1, 1, 1]: I = 4 - 1 = 3 -> u = 8, s = 1, v = 8 (none)
    assert got["a"].tolist() == [[3, 2], [0, 1], [1, 1]]
    assert got["b"].tolist() == [[2], [0], [1]]
    assert got["c"].tolist() == [[0], [0], [1]]
    assert {k: v.tolist() for k, v in got.items()} == ref_run(d, xs)


def test_same_timestep_propagation():
    # a spike at the input reaches the last layer in the same timestep (no pipeline delay)
    d = chain()
    got = golden.run(model_from_dict(d), np.array([[3, 0]]))
    assert got["b"].tolist() == [[2]]


def test_concatenation_order_matters():
    d1 = chain()
    d2 = chain()
    d2["layers"][2]["input"] = ["input", "b"]
    d2["layers"][2]["weights"] = [[-1, 0, 4]]     # same synapses, columns permuted
    xs = np.array([[3, 0], [0, 2], [1, 1]])
    r1 = golden.run(model_from_dict(d1), xs)
    r2 = golden.run(model_from_dict(d2), xs)
    assert r1["c"].tolist() == r2["c"].tolist() == [[0], [0], [1]]
    d2["layers"][2]["weights"] = [[4, -1, 0]]      # not permuted: a different network
    r3 = golden.run(model_from_dict(d2), xs)
    assert r3["c"].tolist() == ref_run(d2, xs.tolist())["c"] != r1["c"].tolist()


def test_state_starts_at_zero_for_every_inference():
    model = model_from_dict(chain())
    xs = np.array([[3, 0], [0, 2], [1, 1]])
    first = golden.run(model, xs)
    again = golden.run(model, xs)
    batched = golden.run(model, np.stack([xs, xs[::-1], xs]))
    for name in first:
        assert np.array_equal(first[name], again[name])
        assert np.array_equal(batched[name][0], first[name])
        assert np.array_equal(batched[name][2], first[name])


def test_batched_shape():
    model = model_from_dict(chain())
    out = golden.run(model, np.zeros((5, 4, 2), np.int64))
    assert {k: v.shape for k, v in out.items()} == {"a": (5, 4, 2), "b": (5, 4, 1),
                                                    "c": (5, 4, 1)}


def test_predict_argmax_lowest_index_wins_ties():
    model = model_from_dict(chain())
    spikes = {"c": np.array([[[1, 0, 2], [1, 2, 0]],          # sums [2, 2, 2] -> 0
                             [[0, 0, 1], [0, 1, 1]]])}        # sums [0, 1, 2] -> 2
    assert golden.predict(model, spikes).tolist() == [0, 2]
    assert golden.predict(model, {"c": spikes["c"][1]}) == 2
