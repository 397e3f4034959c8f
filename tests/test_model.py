"""The model file loader (hwgen/model.py) against DESIGN.md section 3.

Every rule is exercised through :func:`load_model` on a real file in ``tmp_path``: the
error must be a :class:`ModelError` whose message names the file, the layer (as
``layer 'NAME'``, only when there is one) and the rule.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwgen.graph import NetworkGraph
from hwgen.layers.dense import WEIGHT_BITS_RANGE, DenseLayer
from hwgen.model import (
    FORMAT,
    INPUT_MAX_RANGE,
    MAX_SIZE,
    MAX_SPIKES_RANGE,
    MAX_TIMESTEPS,
    V_BITS_RANGE,
    Model,
    ModelError,
    load_model,
    model_from_dict,
)
from hwgen.network import GenerateOptions

DOC = Path(__file__).resolve().parent.parent / "docs" / "model-format.md"


def base():
    """A valid two-layer model; every test mutates a fresh copy."""
    return {
        "format": "hwgen-model/1",
        "name": "net",
        "timesteps": 4,
        "input": {"size": 3, "max_value": 3},
        "layers": [
            {
                "name": "hidden",
                "type": "dense",
                "size": 2,
                "weights": [[1, -2, 3], [0, 1, -1]],
                "bias": [1, -1],
                "weight_bits": 4,
                "neuron": {"model": "lif", "leak": {"shift": 2}, "threshold": 4,
                           "reset": "soft", "v_reset": 0, "v_bits": 8, "max_spikes": 1},
            },
            {
                "name": "out",
                "type": "dense",
                "size": 2,
                "weights": [[1, 1], [-1, 2]],
                "weight_bits": 3,
                "neuron": {"model": "if", "threshold": 2, "reset": "hard", "v_bits": 6,
                           "max_spikes": 2},
            },
        ],
        "output": "out",
    }


def write(tmp_path, data, name="model.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def refused(path, rule, layer=None):
    """Load ``path``; assert one ModelError naming the file, the layer and the rule.

    ``rule`` is a regular expression searched in the message; ``layer=None`` means the
    message must not name any layer.
    """
    with pytest.raises(ModelError) as info:
        load_model(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    if layer is None:
        assert "layer '" not in msg, msg
    else:
        assert f"layer '{layer}'" in msg, msg
    assert re.search(rule, msg), f"rule {rule!r} not in message: {msg}"
    assert "\n" not in msg, "one message, one line"
    return msg


def hidden(d):
    return d["layers"][0]


def out(d):
    return d["layers"][1]


def check(tmp_path, mutate, rule, layer=None):
    d = base()
    mutate(d)
    return refused(write(tmp_path, d), rule, layer)


# --- the base model is valid (otherwise every refusal below proves nothing) ---------------

def test_base_model_is_valid(tmp_path):
    model = load_model(write(tmp_path, base()))
    assert isinstance(model, Model)
    assert [layer.name for layer in model.layers] == ["hidden", "out"]


# --- the file itself ------------------------------------------------------------------------

def test_not_yaml(tmp_path):
    path = write(tmp_path, "format: hwgen-model/1\nname: [unclosed\n")
    refused(path, r"not valid YAML")


def test_not_yaml_tab_indent(tmp_path):
    path = write(tmp_path, "format: hwgen-model/1\nlayers:\n\t- name: a\n")
    refused(path, r"not valid YAML at line \d+")


def test_missing_file(tmp_path):
    refused(tmp_path / "nope.yaml", r"does not exist")


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    refused(tmp_path / "dir.yaml", r"cannot be read")


def test_not_utf8(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_bytes(b"format: \xff\xfe\x00bad")
    refused(path, r"cannot be read|not valid YAML")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_not_a_mapping(tmp_path, text):
    refused(write(tmp_path, text), r"the model must be a mapping")


# --- top-level fields -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["hwgen-model/2", "hwgen-model", "HWGEN-MODEL/1", 1, None])
def test_wrong_format(tmp_path, fmt):
    def mutate(d):
        d["format"] = fmt
    check(tmp_path, mutate, r"format must be 'hwgen-model/1'")


@pytest.mark.parametrize("key", ["format", "name", "timesteps", "input", "layers", "output"])
def test_missing_top_level_field(tmp_path, key):
    def mutate(d):
        del d[key]
    check(tmp_path, mutate, rf"the model is missing the field '{key}'")


def test_unknown_top_level_field(tmp_path):
    def mutate(d):
        d["extra"] = 1
    check(tmp_path, mutate, r"unknown field 'extra'")


@pytest.mark.parametrize("name", ["Net", "1net", "_net", "net-x", "net x", "", "nét", 5, None])
def test_bad_model_name(tmp_path, name):
    def mutate(d):
        d["name"] = name
    check(tmp_path, mutate, r"name must match \[a-z\]\[a-z0-9_\]\*")


@pytest.mark.parametrize("name", ["module", "input", "wire", "reg", "logic", "endmodule"])
def test_reserved_model_name(tmp_path, name):
    def mutate(d):
        d["name"] = name
    check(tmp_path, mutate, rf"name '{name}' is a Verilog keyword")


@pytest.mark.parametrize("value, rule", [
    (0, r"timesteps must be >= 1, got 0"),
    (-3, r"timesteps must be >= 1"),
    (MAX_TIMESTEPS + 1, rf"timesteps must be <= {MAX_TIMESTEPS}"),
    (4.0, r"timesteps must be an integer"),
    ("4", r"timesteps must be an integer"),
    (True, r"timesteps must be an integer"),
    (None, r"timesteps must be an integer"),
])
def test_timesteps_range(tmp_path, value, rule):
    def mutate(d):
        d["timesteps"] = value
    check(tmp_path, mutate, rule)


@pytest.mark.parametrize("value", [1, MAX_TIMESTEPS])
def test_timesteps_bounds_accepted(tmp_path, value):
    d = base()
    d["timesteps"] = value
    assert load_model(write(tmp_path, d)).timesteps == value


@pytest.mark.parametrize("inp, rule", [
    ([3, 3], r"input must be a mapping"),
    (3, r"input must be a mapping"),
    ({"size": 3}, r"input is missing the field 'max_value'"),
    ({"max_value": 3}, r"input is missing the field 'size'"),
    ({"size": 3, "max_value": 3, "min_value": 0}, r"input has an unknown field 'min_value'"),
    ({"size": 0, "max_value": 3}, r"input.size must be >= 1"),
    ({"size": MAX_SIZE + 1, "max_value": 3}, rf"input.size must be <= {MAX_SIZE}"),
    ({"size": 3.5, "max_value": 3}, r"input.size must be an integer"),
    ({"size": 3, "max_value": INPUT_MAX_RANGE[0] - 1}, r"input.max_value must be >= 1"),
    ({"size": 3, "max_value": INPUT_MAX_RANGE[1] + 1},
     rf"input.max_value must be <= {INPUT_MAX_RANGE[1]}"),
    ({"size": 3, "max_value": -1}, r"input.max_value must be >= 1"),
])
def test_input_ranges(tmp_path, inp, rule):
    def mutate(d):
        d["input"] = inp
    check(tmp_path, mutate, rule)


@pytest.mark.parametrize("max_value", INPUT_MAX_RANGE)
def test_input_max_bounds_accepted(tmp_path, max_value):
    d = base()
    d["input"]["max_value"] = max_value
    assert load_model(write(tmp_path, d)).input_max == max_value


@pytest.mark.parametrize("layers", [[], {}, None, "hidden"])
def test_layers_must_be_a_non_empty_list(tmp_path, layers):
    def mutate(d):
        d["layers"] = layers
    check(tmp_path, mutate, r"layers must be a non-empty list")


# --- layer structure ------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [["hidden"], "hidden", 3, None])
def test_layer_not_a_mapping(tmp_path, entry):
    def mutate(d):
        d["layers"][1] = entry
    check(tmp_path, mutate, r"layers\[1\] must be a mapping")


def test_layer_missing_name(tmp_path):
    def mutate(d):
        del out(d)["name"]
    check(tmp_path, mutate, r"layers\[1\] is missing the field 'name'")


@pytest.mark.parametrize("key", ["size", "weights", "weight_bits", "neuron"])
def test_layer_missing_field(tmp_path, key):
    def mutate(d):
        del hidden(d)[key]
    check(tmp_path, mutate, rf"missing the field '{key}'", layer="hidden")


def test_layer_missing_type(tmp_path):
    def mutate(d):
        del out(d)["type"]
    check(tmp_path, mutate, r"missing the field 'type'|type must be one of dense", layer="out")


def test_layer_unknown_field(tmp_path):
    def mutate(d):
        out(d)["activation"] = "relu"
    check(tmp_path, mutate, r"unknown field 'activation'", layer="out")


@pytest.mark.parametrize("ltype", ["conv1d", "Dense", "lstm", 3])
def test_unknown_layer_type(tmp_path, ltype):
    def mutate(d):
        out(d)["type"] = ltype
    check(tmp_path, mutate,
          r"type must be one of dense, attention, conv2d, sumpool2d, flatten, got",
          layer="out")


@pytest.mark.parametrize("lname", ["Out", "2out", "_out", "out-1", "", 7])
def test_bad_layer_name(tmp_path, lname):
    def mutate(d):
        out(d)["name"] = lname
    check(tmp_path, mutate, r"layers\[1\]\.name must match \[a-z\]\[a-z0-9_\]\*")


def test_duplicate_layer_names(tmp_path):
    def mutate(d):
        out(d)["name"] = "hidden"
    check(tmp_path, mutate, r"layer names must be unique", layer="hidden")


def test_input_as_layer_name(tmp_path):
    def mutate(d):
        hidden(d)["name"] = "input"
        out(d)["input"] = "input"
        out(d)["weights"] = [[1, 1, 1], [1, 1, 1]]
    check(tmp_path, mutate, r"'input' is reserved for the network input", layer="input")


# --- layer inputs ---------------------------------------------------------------------------

def test_input_refers_to_later_layer(tmp_path):
    def mutate(d):
        hidden(d)["input"] = "out"
    check(tmp_path, mutate, r"input 'out' must be 'input' or the name of an earlier layer",
          layer="hidden")


def test_input_refers_to_itself(tmp_path):
    def mutate(d):
        out(d)["input"] = "out"
    check(tmp_path, mutate, r"input 'out' must be 'input' or the name of an earlier layer",
          layer="out")


@pytest.mark.parametrize("src", ["nope", ["input", "nope"], ["out"], 3, None, [["hidden"]]])
def test_input_unknown(tmp_path, src):
    def mutate(d):
        out(d)["input"] = src
    check(tmp_path, mutate, r"must be 'input' or the name of an earlier layer", layer="out")


def test_input_empty_list(tmp_path):
    def mutate(d):
        out(d)["input"] = []
    check(tmp_path, mutate, r"non-empty list of layer names", layer="out")


@pytest.mark.parametrize("src", [["input", "input"], ["hidden", "input", "hidden"]])
def test_duplicate_in_input_list(tmp_path, src):
    def mutate(d):
        out(d)["input"] = src
    check(tmp_path, mutate, r"input lists the same layer twice", layer="out")


# --- weights and bias -----------------------------------------------------------------------

@pytest.mark.parametrize("weights, got", [
    ([[1, 2], [3, 4]], r"\[2, 2\]"),                  # fan_in short
    ([[1, 2, 3, 4], [1, 2, 3, 4]], r"\[2, 4\]"),      # fan_in long
    ([[1, 2], [3, 4], [5, 6]], r"\[3, 2\]"),          # transposed
    ([[1, 2, 3]], r"\[1, 3\]"),                       # too few rows
    ([1, 2, 3], r"\[3\]"),                            # 1-D
    ([[[1, 2, 3], [1, 2, 3]]], r"\[1, 2, 3\]"),       # 3-D
])
def test_weights_shape_mismatch(tmp_path, weights, got):
    def mutate(d):
        hidden(d)["weights"] = weights
    check(tmp_path, mutate, rf"weights must have shape \[2, 3\], got {got}", layer="hidden")


def test_weights_shape_follows_default_input(tmp_path):
    # out reads hidden (size 2) by default: a [2, 3] matrix (the network input's width) is wrong
    def mutate(d):
        out(d)["weights"] = [[1, 1, 1], [1, 1, 1]]
    check(tmp_path, mutate, r"weights must have shape \[2, 2\], got \[2, 3\]", layer="out")


def test_weights_shape_follows_input_list(tmp_path):
    def mutate(d):
        out(d)["input"] = ["input", "hidden"]       # fan_in 3 + 2 = 5
    check(tmp_path, mutate, r"weights must have shape \[2, 5\], got \[2, 2\]", layer="out")


@pytest.mark.parametrize("weights", [[[1, 2, 3], [1, 2]], [[1, 2, 3], 4], [[1, 2, 3], []]])
def test_weights_ragged(tmp_path, weights):
    def mutate(d):
        hidden(d)["weights"] = weights
    check(tmp_path, mutate, r"weights is a ragged list", layer="hidden")


@pytest.mark.parametrize("bad", [1.0, 0.5, "1", True, None, [1]])
def test_weights_non_integer_inline(tmp_path, bad):
    def mutate(d):
        hidden(d)["weights"] = [[1, bad, 3], [0, 1, -1]]
    check(tmp_path, mutate, r"weights must hold integers only|weights is a ragged list",
          layer="hidden")


@pytest.mark.parametrize("spec", [5, "weights.npz", None])
def test_weights_not_a_tensor(tmp_path, spec):
    def mutate(d):
        hidden(d)["weights"] = spec
    check(tmp_path, mutate, r"weights must be a nested list of integers or \{file:, key:\}",
          layer="hidden")


def test_weights_too_large_for_any_width(tmp_path):
    def mutate(d):
        hidden(d)["weights"] = [[1, 2**63, 3], [0, 1, -1]]
    check(tmp_path, mutate, r"too large for any supported width", layer="hidden")


@pytest.mark.parametrize("value, where", [(8, r"weights\[0, 1\] = 8"),
                                          (-9, r"weights\[0, 1\] = -9")])
def test_weights_out_of_weight_bits(tmp_path, value, where):
    def mutate(d):
        hidden(d)["weights"] = [[1, value, 3], [0, 1, -1]]    # weight_bits 4: [-8, 7]
    check(tmp_path, mutate, rf"{where} does not fit in signed weight_bits=4 \(\[-8, 7\]\)",
          layer="hidden")


def test_weights_at_weight_bits_bounds_accepted(tmp_path):
    d = base()
    hidden(d)["weights"] = [[-8, 7, 0], [7, -8, 1]]
    model = load_model(write(tmp_path, d))
    assert model.layers[0].weights.tolist() == [[-8, 7, 0], [7, -8, 1]]


@pytest.mark.parametrize("bits, rule", [
    (WEIGHT_BITS_RANGE[0] - 1, r"weight_bits must be >= 2"),
    (WEIGHT_BITS_RANGE[1] + 1, rf"weight_bits must be <= {WEIGHT_BITS_RANGE[1]}"),
    (4.0, r"weight_bits must be an integer"),
])
def test_weight_bits_range(tmp_path, bits, rule):
    def mutate(d):
        hidden(d)["weight_bits"] = bits
    check(tmp_path, mutate, rule, layer="hidden")


@pytest.mark.parametrize("bias, got", [([1], r"\[1\]"), ([1, 2, 3], r"\[3\]"),
                                       ([[1, 2]], r"\[1, 2\]")])
def test_bias_shape(tmp_path, bias, got):
    def mutate(d):
        hidden(d)["bias"] = bias
    check(tmp_path, mutate, rf"bias must have shape \[2\], got {got}", layer="hidden")


@pytest.mark.parametrize("bias, rule", [
    ([0, 128], r"bias\[1\] = 128 does not fit in signed v_bits=8"),     # v_bits 8: [-128, 127]
    ([-129, 0], r"bias\[0\] = -129 does not fit in signed v_bits=8"),
    ([0.5, 0], r"bias must hold integers only"),
    ([1, [2]], r"bias must hold integers only|bias is a ragged list"),
])
def test_bias_range(tmp_path, bias, rule):
    def mutate(d):
        hidden(d)["bias"] = bias
    check(tmp_path, mutate, rule, layer="hidden")


def test_bias_at_bounds_accepted(tmp_path):
    d = base()
    hidden(d)["bias"] = [-128, 127]
    assert load_model(write(tmp_path, d)).layers[0].bias.tolist() == [-128, 127]


# --- {file:, key:} tensors ------------------------------------------------------------------

def npz_model(tmp_path, arrays, weights=None, bias=None, npz_name="w.npz"):
    np.savez(tmp_path / npz_name, **arrays)
    d = base()
    hidden(d)["weights"] = weights or {"file": npz_name, "key": "hidden_w"}
    if bias is not None:
        hidden(d)["bias"] = bias
    return write(tmp_path, d)


GOOD_W = np.array([[1, -2, 3], [0, 1, -1]], dtype=np.int8)


def test_npz_missing_file(tmp_path):
    d = base()
    hidden(d)["weights"] = {"file": "absent.npz", "key": "hidden_w"}
    msg = refused(write(tmp_path, d), r"weights: tensor file '.*absent\.npz' does not exist",
                  layer="hidden")
    assert str(tmp_path / "absent.npz") in msg


def test_npz_missing_key(tmp_path):
    path = npz_model(tmp_path, {"other": GOOD_W, "more": GOOD_W},
                     weights={"file": "w.npz", "key": "hidden_w"})
    refused(path, r"key 'hidden_w' is not in '.*w\.npz' \(it has: more, other\)",
            layer="hidden")


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04broken"])
def test_npz_corrupt(tmp_path, content):
    (tmp_path / "w.npz").write_bytes(content)
    d = base()
    hidden(d)["weights"] = {"file": "w.npz", "key": "hidden_w"}
    refused(write(tmp_path, d), r"tensor file '.*w\.npz' cannot be read as \.npz",
            layer="hidden")


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "w.npy", GOOD_W)
    d = base()
    hidden(d)["weights"] = {"file": "w.npy", "key": "hidden_w"}
    refused(write(tmp_path, d), r"cannot be read as \.npz", layer="hidden")


def test_npz_pickled_object_refused(tmp_path):
    np.savez(tmp_path / "w.npz", hidden_w=np.array([[1, None, 3], [0, 1, -1]], dtype=object))
    d = base()
    hidden(d)["weights"] = {"file": "w.npz", "key": "hidden_w"}
    refused(write(tmp_path, d), r"cannot be read as \.npz|integers only", layer="hidden")


def test_npz_float_fractional_refused(tmp_path):
    w = GOOD_W.astype(np.float32)
    w[1, 2] = 0.25
    path = npz_model(tmp_path, {"hidden_w": w})
    refused(path, r"weights must hold integers only", layer="hidden")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_npz_float_non_finite_refused(tmp_path, bad):
    w = GOOD_W.astype(np.float64)
    w[0, 0] = bad
    path = npz_model(tmp_path, {"hidden_w": w})
    refused(path, r"weights must hold integers only", layer="hidden")


@pytest.mark.parametrize("array", [GOOD_W.astype(np.complex64), GOOD_W.astype(str)])
def test_npz_non_numeric_dtype_refused(tmp_path, array):
    path = npz_model(tmp_path, {"hidden_w": array})
    refused(path, r"weights must hold integers only", layer="hidden")


def test_npz_shape_mismatch(tmp_path):
    path = npz_model(tmp_path, {"hidden_w": GOOD_W.T})
    refused(path, r"weights must have shape \[2, 3\], got \[3, 2\]", layer="hidden")


def test_npz_out_of_weight_bits(tmp_path):
    w = GOOD_W.astype(np.int32)
    w[1, 0] = 100
    path = npz_model(tmp_path, {"hidden_w": w})
    refused(path, r"weights\[1, 0\] = 100 does not fit in signed weight_bits=4", layer="hidden")


def test_npz_huge_uint64_refused(tmp_path):
    w = GOOD_W.astype(np.uint64) * 0 + np.uint64(2**63)
    path = npz_model(tmp_path, {"hidden_w": w})
    refused(path, r"too large for any supported width", layer="hidden")


def test_npz_bias_out_of_range(tmp_path):
    path = npz_model(tmp_path, {"hidden_w": GOOD_W, "hidden_b": np.array([0, 300])},
                     bias={"file": "w.npz", "key": "hidden_b"})
    refused(path, r"bias\[1\] = 300 does not fit in signed v_bits=8", layer="hidden")


@pytest.mark.parametrize("spec, rule", [
    ({"file": "w.npz"}, r"weights is missing the field 'key'"),
    ({"key": "hidden_w"}, r"weights is missing the field 'file'"),
    ({"file": "w.npz", "key": "hidden_w", "scale": 2}, r"weights has an unknown field 'scale'"),
    ({"file": 3, "key": "hidden_w"}, r"'file' and 'key' must be strings"),
    ({"file": "w.npz", "key": 3}, r"'file' and 'key' must be strings"),
])
def test_npz_spec_fields(tmp_path, spec, rule):
    path = npz_model(tmp_path, {"hidden_w": GOOD_W}, weights=spec)
    refused(path, rule, layer="hidden")


# --- neuron ---------------------------------------------------------------------------------

def set_neuron(layer_fn, **fields):
    def mutate(d):
        layer_fn(d)["neuron"].update(fields)
    return mutate


def del_neuron(layer_fn, key):
    def mutate(d):
        del layer_fn(d)["neuron"][key]
    return mutate


@pytest.mark.parametrize("value", [["if"], "if", 3, None])
def test_neuron_not_a_mapping(tmp_path, value):
    def mutate(d):
        out(d)["neuron"] = value
    check(tmp_path, mutate, r"neuron must be a mapping", layer="out")


@pytest.mark.parametrize("key", ["model", "threshold", "reset", "v_bits"])
def test_neuron_missing_field(tmp_path, key):
    check(tmp_path, del_neuron(out, key), rf"neuron is missing the field '{key}'", layer="out")


def test_neuron_unknown_field(tmp_path):
    check(tmp_path, set_neuron(out, tau=2), r"neuron has an unknown field 'tau'", layer="out")


@pytest.mark.parametrize("model", ["LIF", "alif", "izhikevich", 1, None])
def test_neuron_model_choice(tmp_path, model):
    check(tmp_path, set_neuron(out, model=model), r"neuron.model must be one of if, lif",
          layer="out")


@pytest.mark.parametrize("threshold, rule", [
    (0, r"neuron.threshold must be >= 1, got 0"),
    (-4, r"neuron.threshold must be >= 1"),
    (32, r"neuron.threshold must be <= 31, got 32"),        # v_bits 6: v_max = 31
    (1000, r"neuron.threshold must be <= 31"),
    (2.5, r"neuron.threshold must be an integer"),
    (2.0, r"neuron.threshold must be an integer"),
])
def test_neuron_threshold_range(tmp_path, threshold, rule):
    check(tmp_path, set_neuron(out, threshold=threshold), rule, layer="out")


@pytest.mark.parametrize("threshold", [1, 31])
def test_neuron_threshold_bounds_accepted(tmp_path, threshold):
    d = base()
    out(d)["neuron"]["threshold"] = threshold
    assert load_model(write(tmp_path, d)).layers[1].neuron.threshold == threshold


@pytest.mark.parametrize("reset", ["zero", "Hard", "subtract", False, None])
def test_neuron_reset_choice(tmp_path, reset):
    check(tmp_path, set_neuron(out, reset=reset), r"neuron.reset must be one of hard, soft, none",
          layer="out")


@pytest.mark.parametrize("v_bits, rule", [
    (V_BITS_RANGE[0] - 1, rf"neuron.v_bits must be >= {V_BITS_RANGE[0]}"),
    (0, rf"neuron.v_bits must be >= {V_BITS_RANGE[0]}"),
    (V_BITS_RANGE[1] + 1, rf"neuron.v_bits must be <= {V_BITS_RANGE[1]}"),
    ("8", r"neuron.v_bits must be an integer"),
])
def test_neuron_v_bits_range(tmp_path, v_bits, rule):
    check(tmp_path, set_neuron(out, v_bits=v_bits), rule, layer="out")


@pytest.mark.parametrize("v_bits", V_BITS_RANGE)
def test_neuron_v_bits_bounds_accepted(tmp_path, v_bits):
    d = base()
    out(d)["neuron"].update(v_bits=v_bits, threshold=1)
    assert load_model(write(tmp_path, d)).layers[1].neuron.v_bits == v_bits


@pytest.mark.parametrize("max_spikes, rule", [
    (0, r"neuron.max_spikes must be >= 1"),
    (-1, r"neuron.max_spikes must be >= 1"),
    (MAX_SPIKES_RANGE[1] + 1, rf"neuron.max_spikes must be <= {MAX_SPIKES_RANGE[1]}"),
    (1.5, r"neuron.max_spikes must be an integer"),
])
def test_neuron_max_spikes_range(tmp_path, max_spikes, rule):
    check(tmp_path, set_neuron(out, max_spikes=max_spikes), rule, layer="out")


@pytest.mark.parametrize("v_reset, rule", [
    (32, r"neuron.v_reset must be <= 31"),                  # v_bits 6: [-32, 31]
    (-33, r"neuron.v_reset must be >= -32"),
    (0.5, r"neuron.v_reset must be an integer"),
])
def test_neuron_v_reset_range(tmp_path, v_reset, rule):
    check(tmp_path, set_neuron(out, v_reset=v_reset), rule, layer="out")


def test_lif_without_leak(tmp_path):
    check(tmp_path, del_neuron(hidden, "leak"), r"neuron.leak is required for model 'lif'",
          layer="hidden")


@pytest.mark.parametrize("leak", [{"shift": 2}, {"decay": 1, "frac_bits": 1}])
def test_leak_on_if(tmp_path, leak):
    check(tmp_path, set_neuron(out, leak=leak), r"neuron.leak is only allowed for model 'lif'",
          layer="out")


@pytest.mark.parametrize("leak, rule", [
    (4, r"neuron.leak must be a mapping"),
    ({}, r"neuron.leak is missing the field"),
    ({"decay": 3}, r"neuron.leak is missing the field 'frac_bits'"),
    ({"frac_bits": 3}, r"neuron.leak is missing the field 'decay'"),
    ({"shift": 2, "decay": 1}, r"neuron.leak has an unknown field 'decay'"),
    ({"decay": 1, "frac_bits": 2, "shift": 1}, r"neuron.leak has an unknown field"),
    ({"tau": 2}, r"neuron.leak is missing the field|unknown field 'tau'"),
    ({"shift": -1}, r"neuron.leak.shift must be >= 0"),
    ({"shift": 9}, r"neuron.leak.shift must be <= 8, got 9"),      # v_bits 8
    ({"shift": 1.5}, r"neuron.leak.shift must be an integer"),
    ({"decay": 17, "frac_bits": 4}, r"neuron.leak.decay must be <= 16, got 17"),   # > 2^f
    ({"decay": 2, "frac_bits": 0}, r"neuron.leak.decay must be <= 1"),
    ({"decay": -1, "frac_bits": 4}, r"neuron.leak.decay must be >= 0"),
    ({"decay": 0.5, "frac_bits": 4}, r"neuron.leak.decay must be an integer"),
    ({"decay": 1, "frac_bits": -1}, r"neuron.leak.frac_bits must be >= 0"),
    ({"decay": 1, "frac_bits": 17}, r"neuron.leak.frac_bits must be <= 16"),
])
def test_leak_fields(tmp_path, leak, rule):
    check(tmp_path, set_neuron(hidden, leak=leak), rule, layer="hidden")


@pytest.mark.parametrize("leak, attrs", [
    ({"shift": 0}, {"leak_shift": 0}),
    ({"shift": 8}, {"leak_shift": 8}),                               # = v_bits
    ({"decay": 0, "frac_bits": 4}, {"leak_decay": 0, "leak_frac_bits": 4}),
    ({"decay": 16, "frac_bits": 4}, {"leak_decay": 16, "leak_frac_bits": 4}),   # λ = 2^f
    ({"decay": 1, "frac_bits": 0}, {"leak_decay": 1, "leak_frac_bits": 0}),
    ({"decay": 3, "frac_bits": 16}, {"leak_decay": 3, "leak_frac_bits": 16}),
])
def test_leak_bounds_accepted(tmp_path, leak, attrs):
    d = base()
    hidden(d)["neuron"]["leak"] = leak
    neuron = load_model(write(tmp_path, d)).layers[0].neuron
    for key, value in attrs.items():
        assert getattr(neuron, key) == value
    if "leak_shift" in attrs:
        assert neuron.leak_decay is None
    else:
        assert neuron.leak_shift is None


# --- output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("output", ["nope", "input", "net", 3, None, ["out"]])
def test_output_not_a_layer(tmp_path, output):
    def mutate(d):
        d["output"] = output
    check(tmp_path, mutate, r"output must name a layer")


def test_output_may_be_an_inner_layer(tmp_path):
    d = base()
    d["output"] = "hidden"
    assert load_model(write(tmp_path, d)).output == "hidden"


# --- the first broken rule wins, and the error is the only exception type -------------------

def test_error_is_model_error_not_a_subclass_of_builtin_errors():
    assert issubclass(ModelError, Exception)
    assert not issubclass(ModelError, (ValueError, KeyError, TypeError, OSError))


def test_model_from_dict_names_the_given_path():
    d = base()
    d["timesteps"] = 0
    with pytest.raises(ModelError, match=r"^somewhere/m\.yaml: timesteps must be >= 1"):
        model_from_dict(d, path="somewhere/m.yaml")


# --- valid models ---------------------------------------------------------------------------

def test_valid_inline_model(tmp_path):
    model = load_model(write(tmp_path, base()))
    assert (model.name, model.timesteps, model.input_size, model.input_max) == ("net", 4, 3, 3)
    assert model.output == "out"
    assert model.path == tmp_path / "model.yaml"
    h, o = model.layers
    assert isinstance(h, DenseLayer) and h.type == "dense"
    assert h.inputs == ["input"] and o.inputs == ["hidden"]       # defaults
    assert (h.size, h.fan_in, o.size, o.fan_in) == (2, 3, 2, 2)
    assert h.weights.dtype == np.int64 and h.bias.dtype == np.int64
    assert h.weights.tolist() == [[1, -2, 3], [0, 1, -1]]
    assert h.bias.tolist() == [1, -1]
    assert o.bias.tolist() == [0, 0]                                # bias defaults to zeros
    assert (h.weight_bits, o.weight_bits) == (4, 3)
    hn, on = h.neuron, o.neuron
    assert (hn.model, hn.leak_shift, hn.threshold, hn.reset, hn.v_bits) == ("lif", 2, 4, "soft", 8)
    assert (hn.v_min, hn.v_max) == (-128, 127)
    assert (on.model, on.leak_shift, on.leak_decay) == ("if", None, None)
    assert (on.threshold, on.reset, on.v_bits, on.max_spikes, on.v_reset) == (2, "hard", 6, 2, 0)
    assert model.layer("out") is o
    graph = NetworkGraph(model, GenerateOptions())
    assert graph.nodes["input"].shape == (3,) and graph.nodes["hidden"].shape == (2,)
    assert graph.nodes["input"].spike_max == 3 and graph.nodes["out"].spike_max == 2
    assert graph.nodes["out"].event_max == 2
    # Under --burst a graded layer's events carry 1, its neurons still up to D per step.
    burst = NetworkGraph(model, GenerateOptions(burst=True)).nodes["out"]
    assert (burst.spike_max, burst.event_max) == (2, 1)


def test_neuron_defaults(tmp_path):
    d = base()
    for key in ("v_reset", "max_spikes"):
        del hidden(d)["neuron"][key]
    neuron = load_model(write(tmp_path, d)).layers[0].neuron
    assert (neuron.v_reset, neuron.max_spikes) == (0, 1)


def test_neuron_to_dict_round_trips(tmp_path):
    d = base()
    hidden(d)["neuron"]["leak"] = {"decay": 7, "frac_bits": 3}
    model = load_model(write(tmp_path, d))
    for ld, layer in zip(d["layers"], model.layers, strict=True):
        ld["neuron"] = layer.neuron.to_dict()
    again = model_from_dict(d)
    assert [la.neuron for la in again.layers] == [la.neuron for la in model.layers]
    assert again.layers[0].neuron.leak_decay == 7


def test_file_key_form(tmp_path, monkeypatch):
    # paths are relative to the YAML file, not to the working directory
    folder = tmp_path / "models"
    (folder / "data").mkdir(parents=True)
    np.savez(folder / "data" / "w.npz",
             hidden_w=GOOD_W,                                     # int8
             hidden_b=np.array([1.0, -1.0]),                      # integral floats are fine
             out_w=np.array([[1, 1], [-1, 2]], dtype=np.int16))
    d = base()
    hidden(d)["weights"] = {"file": "data/w.npz", "key": "hidden_w"}
    hidden(d)["bias"] = {"file": "data/w.npz", "key": "hidden_b"}
    out(d)["weights"] = {"file": "data/w.npz", "key": "out_w"}
    path = write(folder, d)
    monkeypatch.chdir(tmp_path)
    model = load_model(path)
    inline = load_model(write(tmp_path, base(), "inline.yaml"))
    for a, b in zip(model.layers, inline.layers, strict=True):
        assert a.weights.dtype == np.int64 and a.bias.dtype == np.int64
        assert np.array_equal(a.weights, b.weights)
        assert np.array_equal(a.bias, b.bias)


def test_model_from_dict_base_dir(tmp_path):
    np.savez(tmp_path / "w.npz", hidden_w=GOOD_W)
    d = base()
    hidden(d)["weights"] = {"file": "w.npz", "key": "hidden_w"}
    model = model_from_dict(d, path="elsewhere/model.yaml", base_dir=tmp_path)
    assert model.layers[0].weights.tolist() == GOOD_W.tolist()
    with pytest.raises(ModelError, match=r"does not exist"):
        model_from_dict(d, path=tmp_path / "sub" / "model.yaml")


def test_list_input_concatenation(tmp_path):
    d = base()
    d["layers"].append({
        "name": "skip",
        "type": "dense",
        "input": ["hidden", "input", "out"],                     # 2 + 3 + 2
        "size": 1,
        "weights": [[1, 2, 3, 4, 5, 6, 7]],
        "weight_bits": 4,
        "neuron": {"model": "if", "threshold": 1, "reset": "none", "v_bits": 4},
    })
    model = load_model(write(tmp_path, d))
    skip = model.layer("skip")
    assert skip.inputs == ["hidden", "input", "out"]
    graph = NetworkGraph(model, GenerateOptions())
    assert skip.fan_in == 7 == graph.nodes["skip"].fan_in
    # Each source's address base in the concatenation: 0, 2, 2 + 3.
    assert [(e.source, e.slot, e.base, e.size) for e in graph.nodes["skip"].inputs] == \
        [("hidden", 0, 0, 2), ("input", 1, 2, 3), ("out", 2, 5, 2)]


def test_single_name_and_one_element_list_are_equivalent(tmp_path):
    d1, d2 = base(), base()
    out(d1)["input"] = "hidden"
    out(d2)["input"] = ["hidden"]
    m1 = load_model(write(tmp_path, d1, "a.yaml"))
    m2 = load_model(write(tmp_path, d2, "b.yaml"))
    assert m1.layers[1].inputs == m2.layers[1].inputs == ["hidden"]


def test_default_input_is_previous_layer(tmp_path):
    d = base()
    d["input"]["size"] = 5
    hidden(d)["weights"] = [[1, -2, 3, 0, 0], [0, 1, -1, 0, 0]]
    d["layers"].append({
        "name": "third", "type": "dense", "size": 3, "weights": [[1, 0], [0, 1], [1, 1]],
        "weight_bits": 2, "neuron": {"model": "if", "threshold": 1, "reset": "soft", "v_bits": 4},
    })
    model = load_model(write(tmp_path, d))
    assert [layer.inputs for layer in model.layers] == [["input"], ["hidden"], ["out"]]
    assert [layer.fan_in for layer in model.layers] == [5, 2, 2]


def test_explicit_network_input_in_a_later_layer(tmp_path):
    d = base()
    out(d)["input"] = "input"
    out(d)["weights"] = [[1, 0, 0], [0, 0, 1]]
    model = load_model(write(tmp_path, d))
    assert model.layers[1].inputs == ["input"] and model.layers[1].fan_in == 3


def test_yaml_written_by_hand(tmp_path):
    text = f"""\
format: {FORMAT}
name: tiny
timesteps: 2
input: {{size: 2, max_value: 15}}
layers:
  - name: a
    type: dense
    size: 1
    weights: [[-2, 1]]
    weight_bits: 2
    neuron: {{model: lif, leak: {{decay: 3, frac_bits: 2}}, threshold: 5, reset: none, v_bits: 4}}
output: a
"""
    model = load_model(write(tmp_path, text))
    n = model.layers[0].neuron
    assert (n.leak_decay, n.leak_frac_bits, n.reset) == (3, 2, "none")


# --- the worked example in docs/model-format.md loads -----------------------------------------

def test_docs_worked_example_loads(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- worked-example -->\s*```yaml\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/model-format.md must mark exactly one worked example"
    model = load_model(write(tmp_path, blocks[0]))
    assert model.input_size == 16 and model.input_max == 3
    hid, outl = model.layers
    assert (hid.size, hid.neuron.model, hid.neuron.leak_shift, hid.neuron.reset) == \
        (8, "lif", 3, "soft")
    assert (outl.size, outl.neuron.model, outl.neuron.reset, outl.neuron.max_spikes) == \
        (4, "if", "hard", 2)
    assert model.output == outl.name


# --- YAML corner cases ----------------------------------------------------------------------

def test_duplicate_yaml_keys_refused(tmp_path):
    text = yaml.safe_dump(base(), sort_keys=False).replace(
        "threshold: 2\n", "threshold: 2\n    threshold: 3\n")
    assert text.count("threshold: 3") == 1
    # Refused while parsing, before layers exist: the message gives the line instead.
    refused(write(tmp_path, text), r"'threshold' is given twice.*|line \d+.*twice")


def test_unknown_non_string_keys_refused(tmp_path):
    d = base()
    d[True] = 1          # what YAML makes of `on: 1`
    d["extra"] = 2
    refused(write(tmp_path, d), r"unknown field")


def test_recursive_alias_refused(tmp_path):
    text = yaml.safe_dump(base(), sort_keys=False)
    text = re.sub(r"weights:\n(\s+- .*\n)+?(\s+)bias:", r"weights: &w [*w]\n\2bias:", text,
                  count=1)
    assert "&w [*w]" in text
    refused(write(tmp_path, text), r"weights", layer="hidden")
