"""hwgen quantize: the float .npz format, the mapping rules, and the report."""

import numpy as np
import pytest

import golden
from hwgen.cli import main
from hwgen.model import load_model
from hwgen.quantize import FloatLayer, QuantizeError, load_float_npz, quantize


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def two_layers(tmp_path, **extra):
    rng = np.random.default_rng(0)
    return save(tmp_path / "f.npz",
                **{"hidden.weight": rng.normal(0, 0.3, (6, 4)),
                   "hidden.bias": rng.normal(0, 0.1, 6),
                   "hidden.threshold": np.array(1.0), "hidden.beta": np.array(0.75),
                   "hidden.reset": np.array("soft"), "hidden.max_spikes": np.array(3),
                   "out.weight": rng.normal(0, 0.5, (2, 6)), "out.threshold": np.array(0.5),
                   **extra})


def simulate_float(layers, x):
    """DESIGN.md section 4 over the reals (the float model quantize reads)."""
    v = [np.zeros(layer.size) for layer in layers]
    out = []
    for t in range(x.shape[0]):
        a = x[t].astype(float)
        for i, layer in enumerate(layers):
            u = layer.decay * v[i] + layer.weight @ a + layer.bias
            fired = u >= layer.threshold
            s = (np.where(fired, np.minimum(np.floor(u / layer.threshold), layer.max_spikes), 0)
                 if layer.max_spikes > 1 else fired.astype(float))
            v[i] = {"hard": np.where(s > 0, layer.v_reset, u), "soft": u - s * layer.threshold,
                    "none": u}[layer.reset]
            a = s
        out.append(a)
    return np.array(out, dtype=np.int64)


def test_layers_come_in_archive_order_with_defaults(tmp_path):
    layers = load_float_npz(two_layers(tmp_path))
    assert [layer.name for layer in layers] == ["hidden", "out"]
    assert layers[1].inputs == ["hidden"] and layers[0].inputs == ["input"]
    assert (layers[0].decay, layers[0].reset, layers[0].max_spikes) == (0.75, "soft", 3)
    assert (layers[1].decay, layers[1].reset, layers[1].max_spikes) == (1.0, "soft", 1)
    assert not layers[0].strict                      # u >= threshold, as DESIGN.md says


def test_mapping_rules(tmp_path):
    layers = load_float_npz(two_layers(tmp_path))
    result = quantize(layers, name="f", timesteps=8, input_size=4, input_max=3, weight_bits=8)
    hidden, out = result.model.layers
    s = 127 / np.abs(layers[0].weight).max()
    np.testing.assert_array_equal(hidden.weights, np.rint(layers[0].weight * s))
    np.testing.assert_array_equal(hidden.bias, np.rint(layers[0].bias * s))
    assert hidden.neuron.threshold == int(np.ceil(1.0 * s))      # u >= t  <=>  u >= ceil(t)
    assert hidden.neuron.leak_shift == 2                          # 0.75 = 1 - 2^-2
    assert np.abs(out.weights).max() == 127 and out.neuron.model == "if"
    assert not result.exact
    assert result.report["layers"][0]["scale"] == pytest.approx(s)


def test_integer_float_model_is_exact_and_unchanged():
    w = np.array([[2.0, -3.0], [1.0, 4.0]])
    layers = [FloatLayer(name="a", inputs=["input"], weight=w, bias=np.array([1.0, 0.0]),
                         threshold=5.0, reset="soft", max_spikes=2)]
    result = quantize(layers, name="m", timesteps=20, input_size=2, input_max=3)
    assert result.exact
    layer = result.model.layers[0]
    assert layer.weights.tolist() == w.tolist() and layer.neuron.threshold == 5
    x = np.random.default_rng(1).integers(0, 4, size=(20, 2))
    np.testing.assert_array_equal(golden.run(result.model, x)["a"], simulate_float(layers, x))


def test_quantized_model_tracks_the_float_model(tmp_path):
    """At 12 bits the quantized network agrees with the float one on most spikes."""
    layers = load_float_npz(two_layers(tmp_path))
    result = quantize(layers, name="f", timesteps=16, input_size=4, input_max=3,
                      weight_bits=12)
    x = np.random.default_rng(2).integers(0, 4, size=(16, 4))
    q = golden.run(result.model, x)["out"]
    f = simulate_float(layers, x)
    assert np.mean(q == f) >= 0.9


@pytest.mark.parametrize("arrays,match", [
    ({"a.weight": np.ones((2, 2))}, r"'a.threshold' is missing"),
    ({"a.threshold": np.array(1.0)}, r"'a.weight' is missing"),
    ({"weights": np.ones((2, 2))}, r"key 'weights' is not '<layer>.<field>'"),
    ({"a.weight": np.ones((2, 2)), "a.threshold": np.array(1.0), "a.reset": np.array("zero")},
     r"reset must be hard, soft or none, got 'zero'"),
    ({"a.weight": np.ones(2), "a.threshold": np.array(1.0)}, r"weight must have 2 dimensions"),
    ({"a.weight": np.ones((2, 2)), "a.threshold": np.array(1.0),
      "b.weight": np.ones((2, 3)), "b.threshold": np.array(1.0)},
     r"layer 'b': weight has 3 columns but the previous layer has 2 neurons"),
    ({"a.weight": np.ones((2, 2)), "a.threshold": np.ones(2)}, r"threshold must be one number"),
    ({"a.weight": np.ones((2, 2)), "a.threshold": np.array(1.0), "a.max_spikes": np.array(0)},
     r"max_spikes must be one integer >= 1"),
])
def test_broken_archives_are_refused(tmp_path, arrays, match):
    with pytest.raises(QuantizeError, match=match):
        load_float_npz(save(tmp_path / "x.npz", **arrays))


def test_bad_values_are_refused():
    def layer(**kw):
        base = dict(name="a", inputs=["input"], weight=np.ones((1, 1)), bias=np.zeros(1),
                    threshold=1.0)
        return FloatLayer(**{**base, **kw})
    with pytest.raises(QuantizeError, match="weights holds a value that is not finite"):
        quantize([layer(weight=np.full((1, 1), np.inf))], name="m", timesteps=1,
                 input_size=1, input_max=1)
    with pytest.raises(QuantizeError, match=r"leak factor 1.5 is outside \[0, 1\]"):
        quantize([layer(decay=1.5)], name="m", timesteps=1, input_size=1, input_max=1)
    with pytest.raises(QuantizeError, match="threshold 0 is not positive"):
        quantize([layer(threshold=0.0)], name="m", timesteps=1, input_size=1, input_max=1)
    with pytest.raises(QuantizeError, match="v_bits=3 cannot hold the threshold 100"):
        quantize([layer(threshold=100.0)], name="m", timesteps=1, input_size=1, input_max=1,
                 v_bits=3)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(QuantizeError, match="does not exist"):
        load_float_npz(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_text("no zip")
    with pytest.raises(QuantizeError, match="bad.npz: cannot be read as .npz"):
        load_float_npz(tmp_path / "bad.npz")


def test_cli_quantize_round_trip(tmp_path, capsys):
    src = two_layers(tmp_path)
    out = tmp_path / "m" / "net.yaml"
    assert main(["quantize", str(src), "-o", str(out), "--timesteps", "8", "--input-max", "3",
                 "--weight-bits", "6"]) == 0
    text = capsys.readouterr().out
    assert "layer 'hidden'" in text and "worst-case input error" in text
    model = load_model(out)
    assert model.name == "net" and model.input_max == 3
    assert np.abs(model.layer("hidden").weights).max() == 31


def test_cli_quantize_error_writes_nothing(tmp_path, capsys):
    src = save(tmp_path / "x.npz", **{"a.weight": np.ones((2, 2))})
    rc = main(["quantize", str(src), "-o", str(tmp_path / "m" / "net.yaml"), "--timesteps", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and "'a.threshold' is missing" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_output_must_be_yaml(tmp_path, capsys):
    src = two_layers(tmp_path)
    rc = main(["quantize", str(src), "-o", str(tmp_path / "net.txt"), "--timesteps", "2"])
    assert rc == 1 and "must end in .yaml" in capsys.readouterr().err
    assert not list(tmp_path.glob("net*"))
