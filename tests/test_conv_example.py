"""The committed spiking CNNs (examples/conv/, made by scripts/train_conv.py): they
validate, are the architecture docs/conv-digits.md describes, their golden accuracy on the
whole committed test split is the figure of docs/conv-digits.json (equal to the float
network's), and the SSC model really is spike sparse."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.model import load_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "conv"
RESULTS = json.loads((ROOT / "docs" / "conv-digits.json").read_text())
VARIANTS = ["dense", "ssc"]


def row(variant):
    return next(r for r in RESULTS["results"] if r["variant"] == variant)


def model_of(variant):
    return load_model(EXAMPLES / f"conv_{variant}.yaml")       # validates it


def split_inputs(model):
    split = np.load(EXAMPLES / "test_split.npz")
    assert split["inputs"].shape == (360, 64)
    x = np.broadcast_to(split["inputs"][:, None, :].astype(np.int64),
                        (len(split["labels"]), model.timesteps, 64))
    return x, split["labels"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_is_the_documented_architecture(variant):
    model = model_of(variant)
    r = row(variant)
    c1, c2 = r["channels"]
    assert [(layer.name, layer.type) for layer in model.layers] == [
        ("conv1", "conv2d"), ("pool1", "sumpool2d"), ("conv2", "conv2d"),
        ("pool2", "sumpool2d"), ("flat", "flatten"), ("out", "dense")]
    assert tuple(model.input_shape) == (1, 8, 8) and model.input_max == 16
    assert model.timesteps == r["T"]
    assert model.layer("conv1").shape == (c1, 8, 8)
    assert model.layer("pool1").shape == (c1, 4, 4)
    assert model.layer("conv2").shape == (c2, 4, 4)
    assert model.layer("pool2").shape == (c2, 2, 2)
    for name in ("conv1", "conv2", "out"):
        neuron = model.layer(name).neuron
        assert (neuron.model, neuron.reset, neuron.max_spikes) == ("if", "soft", r["D"])
        assert model.layer(name).weight_bits == 8
    for name in ("conv1", "conv2"):
        assert model.layer(name).sparse == (variant == "ssc")
    assert model.output == "out" and model.layer("out").size == 10


@pytest.mark.parametrize("variant", VARIANTS)
def test_golden_accuracy_is_the_documented_one(variant):
    model = model_of(variant)
    x, y = split_inputs(model)
    r = row(variant)
    accuracy = float(np.mean(golden.predict(model, golden.run(model, x)) == y))
    assert accuracy == r["golden_acc"] == r["float_acc"]
    assert accuracy >= 0.95


def test_the_ssc_model_differs_from_the_dense_one():
    dense, ssc = model_of("dense"), model_of("ssc")
    assert not np.array_equal(dense.layer("conv2").weights, ssc.layer("conv2").weights)
    # SSC changes what the SSC model computes: without it, its spikes would differ.
    x, _ = split_inputs(ssc)
    x = x[:40]
    unmasked = copy.deepcopy(ssc)
    for name in ("conv1", "conv2"):
        unmasked.layer(name).sparse = False
    with_ssc, without = golden.run(ssc, x), golden.run(unmasked, x)
    assert not np.array_equal(with_ssc["conv1"], without["conv1"])
    # ... and it makes the network sparser than the dense model on the same images.
    assert np.count_nonzero(with_ssc["conv1"]) < np.count_nonzero(golden.run(dense, x)["conv1"])


def test_test_split_is_the_digits_one():
    ours = np.load(EXAMPLES / "test_split.npz")
    digits = np.load(ROOT / "examples" / "digits" / "test_split.npz")
    for key in ("inputs", "labels"):
        assert np.array_equal(ours[key], digits[key])
