"""conv2d, sumpool2d and flatten (docs/conv.md): the golden model against an independent
scalar implementation of the documented arithmetic, read from the raw model mapping, on
random models; the model-file rules; the quantizer and the writer for map layers."""

import numpy as np
import pytest

import golden
from hwgen.model import ModelError, load_model, model_from_dict
from hwgen.quantize import (
    FloatConv2d,
    FloatFlatten,
    FloatLayer,
    FloatSumPool2d,
    quantize,
    write_model,
)

NEURON = {"model": "if", "threshold": 6, "reset": "soft", "v_bits": 12, "max_spikes": 2}


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def reference_run(d, x):
    """Every layer's spikes of model mapping ``d`` for inputs ``x`` [T, size], with loops
    over output neurons and taps: a second reading of docs/conv.md, not golden's code."""
    shapes = {"input": tuple(d["input"].get("shape", [d["input"]["size"]]))}
    state, out = {}, {}
    for t in range(len(x)):
        seen = {"input": np.asarray(x[t], np.int64)}
        prev = "input"
        for ld in d["layers"]:
            src = ld.get("input", prev)
            xin = seen[src]
            kind = ld["type"]
            if kind in ("conv2d", "sumpool2d"):
                c, h, w = ld.get("input_shape", shapes[src])
                fmap = xin.reshape(c, h, w)
                kh, kw = pair(ld["kernel"])
                default = 1 if kind == "conv2d" else ld["kernel"]
                sy, sx = pair(ld.get("stride", default))
                py, px = pair(ld.get("padding", 0))
                ho, wo = (h + 2 * py - kh) // sy + 1, (w + 2 * px - kw) // sx + 1

                def at(ci, yy, xx, fmap=fmap, h=h, w=w):
                    return int(fmap[ci, yy, xx]) if 0 <= yy < h and 0 <= xx < w else 0

                if kind == "sumpool2d":
                    s = np.zeros((c, ho, wo), np.int64)
                    for ci in range(c):
                        for oy in range(ho):
                            for ox in range(wo):
                                s[ci, oy, ox] = sum(at(ci, oy * sy - py + ky, ox * sx - px + kx)
                                                    for ky in range(kh) for kx in range(kw))
                    shapes[ld["name"]] = (c, ho, wo)
                    seen[ld["name"]] = s.reshape(-1)
                    prev = ld["name"]
                    continue
                wts = np.asarray(ld["weights"])
                co_n = ld["out_channels"]
                bias = np.asarray(ld.get("bias", np.zeros(co_n)), np.int64)
                current = np.zeros((co_n, ho, wo), np.int64)
                for co in range(co_n):
                    for oy in range(ho):
                        for ox in range(wo):
                            cy, cx = oy * sy - py + (kh - 1) // 2, ox * sx - px + (kw - 1) // 2
                            if ld.get("sparse") and not any(at(ci, cy, cx) for ci in range(c)):
                                continue
                            acc = int(bias[co])
                            for ci in range(c):
                                for ky in range(kh):
                                    for kx in range(kw):
                                        acc += int(wts[co, ci, ky, kx]) * at(
                                            ci, oy * sy - py + ky, ox * sx - px + kx)
                            current[co, oy, ox] = acc
                shapes[ld["name"]] = (co_n, ho, wo)
                current = current.reshape(-1)
            elif kind == "flatten":
                seen[ld["name"]] = xin
                shapes[ld["name"]] = (xin.size,)
                prev = ld["name"]
                continue
            else:
                current = np.asarray(ld["weights"]) @ xin + np.asarray(
                    ld.get("bias", np.zeros(ld["size"])), np.int64)
                shapes[ld["name"]] = (ld["size"],)
            n = ld["neuron"]
            v = state.get(ld["name"], np.zeros(current.size, np.int64))
            lim = 1 << (n["v_bits"] - 1)
            u = np.clip(v + current, -lim, lim - 1)        # IF neurons only here
            theta, dmax = n["threshold"], n.get("max_spikes", 1)
            s = np.where(u >= theta, np.minimum(u // theta, dmax), 0)
            state[ld["name"]] = u - s * theta                # soft reset
            seen[ld["name"]] = s
            prev = ld["name"]
        for name, s in seen.items():
            if name != "input":
                out.setdefault(name, []).append(s)
    return {k: np.array(v) for k, v in out.items()}


def random_cnn_dict(rng):
    """A random CNN mapping: conv (random window, SSC or not) -> sum pool or not ->
    conv -> flatten or not -> dense."""
    c, h, w = (int(v) for v in (rng.integers(1, 4), rng.integers(3, 9), rng.integers(3, 9)))
    layers, shape = [], (c, h, w)
    for k in range(2):
        kh = int(rng.integers(1, min(4, shape[1] + 1)))
        kw = int(rng.integers(1, min(4, shape[2] + 1)))
        py, px = int(rng.integers(0, kh)), int(rng.integers(0, kw))
        sy, sx = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        co = int(rng.integers(1, 5))
        layer = {"name": f"c{k}", "type": "conv2d", "out_channels": co, "kernel": [kh, kw],
                 "stride": [sy, sx], "padding": [py, px], "weight_bits": 5,
                 "weights": rng.integers(-16, 16, (co, shape[0], kh, kw)).tolist(),
                 "sparse": bool(rng.random() < 0.5), "neuron": NEURON}
        if rng.random() < 0.5:
            layer["bias"] = rng.integers(-4, 5, co).tolist()
        layers.append(layer)
        shape = (co, (shape[1] + 2 * py - kh) // sy + 1, (shape[2] + 2 * px - kw) // sx + 1)
        if k == 0 and min(shape[1:]) >= 2 and rng.random() < 0.6:
            stride = int(rng.integers(1, 3))
            layers.append({"name": "pool", "type": "sumpool2d", "kernel": 2, "stride": stride})
            shape = (shape[0], (shape[1] - 2) // stride + 1, (shape[2] - 2) // stride + 1)
    if rng.random() < 0.5:
        layers.append({"name": "flat", "type": "flatten"})
    fan_in = int(np.prod(shape))
    layers.append({"name": "out", "type": "dense", "size": 3, "weight_bits": 5,
                   "weights": rng.integers(-16, 16, (3, fan_in)).tolist(), "neuron": NEURON})
    return {"format": "hwgen-model/1", "name": "cnn", "timesteps": 3,
            "input": {"size": c * h * w, "max_value": 2, "shape": [c, h, w]},
            "layers": layers, "output": "out"}


@pytest.mark.parametrize("seed", range(60))
def test_golden_equals_the_documented_arithmetic(seed):
    rng = np.random.default_rng(seed)
    d = random_cnn_dict(rng)
    model = model_from_dict(d)
    x = rng.integers(0, 3, (model.timesteps, model.input_size))
    expected = reference_run(d, x)
    actual = golden.run(model, x)
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_hand_worked_example():
    """docs/conv.md's worked example: one event at (0, 2, 3) of a 1x5x5 map reaches
    outputs (1, 1) with tap (1, 2) and (1, 2) with tap (1, 0); with SSC, neither."""
    w = np.zeros((2, 1, 3, 3), np.int64)
    w[:, 0, 1, 2] = [3, 5]
    w[:, 0, 1, 0] = [7, 11]
    d = {"format": "hwgen-model/1", "name": "ex", "timesteps": 1,
         "input": {"size": 25, "max_value": 1, "shape": [1, 5, 5]},
         "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3,
                     "stride": 2, "padding": 1, "weights": w, "weight_bits": 5,
                     "neuron": {"model": "if", "threshold": 1, "reset": "none",
                                "v_bits": 8, "max_spikes": 15}}],
         "output": "c"}
    model = model_from_dict(d)
    x = np.zeros((1, 25), np.int64)
    x[0, 2 * 5 + 3] = 1
    s = golden.run(model, x)["c"][0].reshape(2, 3, 3)
    expected = np.zeros((2, 3, 3), np.int64)
    expected[:, 1, 1] = [3, 5]
    expected[:, 1, 2] = [7, 11]
    np.testing.assert_array_equal(s, expected)
    # SSC: the event is no window's centre; with the centre (2, 2) of output (1, 1)
    # spiking too, that output gets its input, (1, 2) (centre (2, 4)) still none.
    d["layers"][0]["sparse"] = True
    sparse = model_from_dict(d)
    assert not golden.run(sparse, x)["c"].any()
    x[0, 2 * 5 + 2] = 1
    s = golden.run(sparse, x)["c"][0].reshape(2, 3, 3)
    expected[:, 1, 2] = 0
    np.testing.assert_array_equal(s, expected)


def base_model():
    return {"format": "hwgen-model/1", "name": "m", "timesteps": 2,
            "input": {"size": 32, "max_value": 1, "shape": [2, 4, 4]},
            "layers": [{"name": "c1", "type": "conv2d", "out_channels": 3, "kernel": 3,
                        "padding": 1, "weights": np.ones((3, 2, 3, 3), np.int64),
                        "weight_bits": 4, "neuron": NEURON}],
            "output": "c1"}


def refused(mutate, rule):
    d = base_model()
    mutate(d)
    with pytest.raises(ModelError) as err:
        model_from_dict(d, path="model.yaml")
    assert rule in str(err.value), str(err.value)
    return str(err.value)


@pytest.mark.parametrize("mutate, rule", [
    (lambda d: d["layers"][0].update(kernel=5, padding=0),
     "kernel height 5 is larger than the padded input height 4 (4 + 2 * padding 0)"),
    (lambda d: d["layers"][0].update(padding=3),
     "padding 3 must be smaller than the kernel height 3"),
    (lambda d: d["layers"][0].update(kernel=[3, 3, 3]),
     "kernel must be an integer or a list [height, width]"),
    (lambda d: d["layers"][0].update(stride=0), "stride must be >= 1, got 0"),
    (lambda d: d["layers"][0].update(weights=np.ones((3, 2, 3), np.int64)),
     "weights must have shape [3, 2, 3, 3], got [3, 2, 3]"),
    (lambda d: d["layers"][0].update(weights=np.full((3, 2, 3, 3), 9)),
     "weights[0, 0, 0, 0] = 9 does not fit in signed weight_bits=4"),
    (lambda d: d["layers"][0].update(bias=[1, 2]), "bias must have shape [3], got [2]"),
    (lambda d: d["layers"][0].update(sparse="yes"), "sparse must be true or false"),
    (lambda d: d["input"].update(shape=[2, 4, 5]),
     "input.shape [2, 4, 5] holds 40 values, but input.size is 32"),
    (lambda d: d["input"].update(shape=[2, 16]), "input.shape must be a list [C, H, W]"),
    (lambda d: d["input"].pop("shape"),
     "input 'input' is flat (32 values): give input_shape: [C, H, W]"),
    (lambda d: d["layers"][0].update(input_shape=[1, 4, 8]),
     "input_shape [1, 4, 8] differs from the shape [2, 4, 4] of input 'input'"),
    (lambda d: (d["input"].pop("shape"), d["layers"][0].update(input_shape=[3, 3, 3])),
     "input_shape [3, 3, 3] holds 27 values, but input 'input' has 32"),
    (lambda d: d["layers"][0].update(input=["input", "input"]),
     "input must name one layer: this layer type does not read a concatenation"),
    (lambda d: d["layers"].append({"name": "p", "type": "sumpool2d", "kernel": 2,
                                   "input": "nope"}),
     "input 'nope' must be 'input' or the name of an earlier layer"),
    (lambda d: d["layers"].append({"name": "p", "type": "sumpool2d", "kernel": 5}),
     "kernel height 5 is larger than the padded input height 4"),
    (lambda d: d["layers"][0].update(out_channels=5000, kernel=1, padding=0,
                                     weights=np.ones((5000, 2, 1, 1), np.int64)),
     "the output map [5000, 4, 4] has more than 65536 neurons"),
])
def test_model_file_rules(mutate, rule):
    msg = refused(mutate, rule)
    assert msg.startswith("model.yaml")


@pytest.mark.parametrize("layer", [
    {"name": "p", "type": "sumpool2d", "kernel": 2},
    {"name": "p", "type": "flatten"}])
def test_one_source_layers_take_a_list_of_one(layer):
    d = base_model()
    d["layers"].append({**layer, "input": ["c1"]})
    assert model_from_dict(d).layer("p").inputs == ["c1"]
    d["layers"][-1]["input"] = ["c1", "input"]
    with pytest.raises(ModelError, match="input must name one layer"):
        model_from_dict(d)


def test_flat_source_with_input_shape_and_a_dense_reading_a_map():
    """A conv reads a flat dense layer through input_shape; a dense layer reads the
    conv's map directly (row-major), with or without flatten: same spikes."""
    d = base_model()
    d["input"] = {"size": 8, "max_value": 1}
    d["layers"] = [{"name": "fc", "type": "dense", "size": 32, "weight_bits": 4,
                    "weights": np.ones((32, 8), np.int64), "neuron": NEURON},
                   {**base_model()["layers"][0], "input": "fc", "input_shape": [2, 4, 4]},
                   {"name": "out", "type": "dense", "size": 2, "weight_bits": 4,
                    "weights": np.ones((2, 48), np.int64), "neuron": NEURON}]
    d["output"] = "out"
    direct = model_from_dict(d)
    d["layers"].insert(2, {"name": "flat", "type": "flatten"})
    flat = model_from_dict(d)
    assert flat.layer("flat").shape == (48,) and direct.layer("c1").shape == (3, 4, 4)
    x = np.random.default_rng(0).integers(0, 2, (2, 8))
    np.testing.assert_array_equal(golden.run(direct, x)["out"], golden.run(flat, x)["out"])


def test_pool_spike_max_and_event_max():
    d = base_model()
    d["layers"].append({"name": "p", "type": "sumpool2d", "kernel": [2, 3], "stride": 1})
    pool = model_from_dict(d).layer("p")
    assert pool.shape == (3, 3, 2)
    assert pool.spike_max == 6 * NEURON["max_spikes"]
    assert pool.event_max(source_event_max=1, burst=True) == 1


def test_integer_float_cnn_quantizes_exactly_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    layers = [
        FloatConv2d(name="c", inputs=["input"], weight=rng.integers(-9, 9, (4, 2, 3, 3)) * 1.0,
                    bias=np.array([1.0, 0, -2, 0]), threshold=5.0, reset="soft",
                    input_shape=(2, 6, 6), stride=(2, 2), padding=(1, 1), sparse=True),
        FloatSumPool2d(name="p", input="c", input_shape=(4, 3, 3), kernel=(2, 2), stride=(1, 1)),
        FloatFlatten(name="f", input="p", size=16),
        FloatLayer(name="out", inputs=["f"], weight=rng.integers(-9, 9, (3, 16)) * 1.0,
                   bias=np.zeros(3), threshold=4.0),
    ]
    q = quantize(layers, name="qc", timesteps=3, input_size=72, input_max=1,
                 input_shape=(2, 6, 6))
    assert q.exact and q.report["layers"][0]["scale"] == 1.0
    conv = q.model.layer("c")
    np.testing.assert_array_equal(conv.weights, layers[0].weight.astype(np.int64))
    assert conv.sparse and conv.window.stride == (2, 2)
    path, _ = write_model(q.model, tmp_path / "m.yaml")
    again = load_model(path)
    x = rng.integers(0, 2, (4, 3, 72))
    a, b = golden.run(q.model, x), golden.run(again, x)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert again.input_shape == (2, 6, 6)
