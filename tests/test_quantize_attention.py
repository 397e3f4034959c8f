"""hwgen's quantizer on attention layers (:class:`hwgen.quantize.FloatAttention`): the
emitted layer, its integer threshold, a membrane that cannot clamp, the report, and the
written model file."""

import numpy as np
import pytest

import golden
from hwgen.model import ModelError, load_model
from hwgen.quantize import FloatAttention, FloatLayer, QuantizeError, format_report, quantize

TOKENS, DIM = 3, 4


def network(variant="linear", threshold=2.5, heads=2, max_spikes=3, **att):
    """Input bits -> three binary projections (random float weights) -> attention -> a
    dense readout of its graded spikes."""
    rng = np.random.default_rng(1)
    td = TOKENS * DIM
    proj = [FloatLayer(name=r, inputs=["input"], weight=rng.normal(0.3, 0.5, (td, 5)),
                       bias=np.zeros(td), threshold=0.6, reset="soft") for r in "qkv"]
    attention = FloatAttention(name="att", variant=variant, tokens=TOKENS, dim=DIM,
                               heads=heads, q="q", k="k", v="v", threshold=threshold,
                               max_spikes=max_spikes, **att)
    out = FloatLayer(name="out", inputs=["att"], weight=rng.normal(0, 1, (2, td)),
                     bias=np.zeros(2), threshold=1.0, reset="soft")
    return [*proj, attention, out]


def run(layers, timesteps=5, **kw):
    return quantize(layers, name="att_net", timesteps=timesteps, input_size=5, input_max=1,
                    **kw)


def float_attention(layer, q, k, v, steps):
    """DESIGN.md section 4 over the reals for the float layer (q, k, v [T, tokens*dim])."""
    dh = layer.dim // layer.heads
    mem = np.zeros(layer.dim if layer.variant == "hadamard" else layer.tokens * layer.dim)
    out = []
    for t in range(steps):
        qt, kt, vt = (a[t].reshape(layer.tokens, layer.dim) for a in (q, k, v))
        if layer.variant == "hadamard":
            a = (kt * vt).sum(axis=0)
        else:
            a = np.zeros((layer.tokens, layer.dim))
            for h in range(layer.heads):
                sl = slice(h * dh, (h + 1) * dh)
                a[:, sl] = qt[:, sl] @ (kt[:, sl].T @ vt[:, sl])
            a = a.reshape(-1)
        u = layer.decay * mem + a
        s = np.where(u >= layer.threshold,
                     np.minimum(np.floor(u / layer.threshold), layer.max_spikes), 0)
        mem = u - s * layer.threshold
        out.append((qt * s[None, :]).reshape(-1) if layer.variant == "hadamard" else s)
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_emitted_layer_and_integer_threshold(variant):
    result = run(network(variant, threshold=2.5))
    att = result.model.layer("att")
    assert att.type == "attention" and att.variant == variant
    assert (att.tokens, att.dim, att.heads, att.inputs) == (TOKENS, DIM, 2, ["q", "k", "v"])
    assert att.neuron.threshold == 3                   # u >= 2.5 <=> u >= 3
    assert (att.neuron.model, att.neuron.reset, att.neuron.max_spikes) == ("if", "soft", 3)
    row = next(r for r in result.report["layers"] if r["layer"] == "att")
    assert row["scale"] == 1.0 and not row["exact"]    # a soft reset subtracts 3, not 2.5
    assert row["threshold"]["abs_error"] == 0.5 and not row["may_clamp"]


def test_integer_threshold_is_exact():
    result = run(network(threshold=2.0))
    assert result.model.layer("att").neuron.threshold == 2
    assert next(r for r in result.report["layers"] if r["layer"] == "att")["exact"]


def test_strict_threshold():
    assert run(network(threshold=2.0, strict=True)).model.layer("att").neuron.threshold == 3


@pytest.mark.parametrize("variant, heads, per_step", [("hadamard", 2, TOKENS),
                                                      ("linear", 1, TOKENS * DIM),
                                                      ("linear", 2, TOKENS * DIM // 2)])
def test_membrane_cannot_clamp(variant, heads, per_step):
    """v_bits holds T steps of the largest count plus D thresholds of a soft reset."""
    steps = 7
    result = run(network(variant, heads=heads, threshold=2.0), timesteps=steps)
    neuron = result.model.layer("att").neuron
    bound = steps * (per_step + 1) + 2 * 3
    assert neuron.v_max >= bound > (neuron.v_max - 1) // 2      # and one bit less would not


@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_golden_equals_the_float_attention(variant):
    """With an integer threshold the quantized attention is the float one exactly: fed the
    golden Q, K, V spikes, the float layer gives golden's attention spikes."""
    layers = network(variant, threshold=2.0)
    model = run(layers, timesteps=6).model
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, (20, 6, 5))
    spikes = golden.run(model, x)
    for i in range(len(x)):
        want = float_attention(layers[3], spikes["q"][i], spikes["k"][i], spikes["v"][i], 6)
        np.testing.assert_array_equal(spikes["att"][i], want)


def test_written_model_round_trips(tmp_path):
    result = run(network("hadamard", threshold=1.5))
    path, _ = result.write(tmp_path / "att_net.yaml")
    loaded = load_model(path)
    att = loaded.layer("att")
    assert (att.variant, att.tokens, att.dim, att.heads, att.inputs) == (
        "hadamard", TOKENS, DIM, 2, ["q", "k", "v"])
    assert att.neuron == result.model.layer("att").neuron
    x = np.random.default_rng(4).integers(0, 2, (5, 5, 5))
    for name, s in golden.run(result.model, x).items():
        np.testing.assert_array_equal(golden.run(loaded, x)[name], s)


def test_report_describes_the_attention_layer():
    text = format_report(run(network(threshold=2.5)).report)
    assert "attention: no weights" in text
    assert "threshold 2.5 -> 3 (u >= 2.5  <=>  u >= 3)" in text


@pytest.mark.parametrize("change, message", [
    ({"threshold": 0.0}, r"layer 'att': threshold 0 is not positive"),
    ({"variant": "softmax"}, r"layer 'att': variant must be one of hadamard, linear"),
    ({"threshold": float("nan")}, r"layer 'att': threshold holds a value that is not finite"),
])
def test_refused_clearly(change, message):
    with pytest.raises(QuantizeError, match=message):
        run(network(**change))


def test_unknown_source_refused():
    layers = network()
    layers[3].k = "nope"
    with pytest.raises(QuantizeError, match=r"layer 'att': input 'nope' is neither"):
        run(layers)


def test_graded_source_refused_by_the_model_check():
    layers = network()
    layers[1].max_spikes = 2
    with pytest.raises(ModelError, match=r"k 'k' must be binary"):
        run(layers)
