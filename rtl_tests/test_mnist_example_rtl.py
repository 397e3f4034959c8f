"""The committed MNIST models (examples/mnist/, made by scripts/train_mnist.py), 784 -> 128
-> 10, co-simulated under Verilator with 8 synapse lanes on all 1,000 held-out images:
every spike of every layer equals golden, so RTL accuracy = golden accuracy = the figure
of docs/mnist.json. (About 1-4 ms of simulation per image, T = 1..4, and a few seconds
of Verilator build per model.)"""

import json

import numpy as np
import pytest
from conftest import ROOT, assert_bit_exact

import golden
from hwgen.inputs import load_test_split
from hwgen.model import load_model
from hwgen.network import GenerateOptions

RESULTS = json.loads((ROOT / "docs" / "mnist.json").read_text())
COMMITTED = [r for r in RESULTS["results"] if "model" in r]


@pytest.mark.parametrize("row", COMMITTED, ids=lambda r: f"d{r['D']}_t{r['T']}")
def test_mnist_model_on_the_held_out_images(row, build_dir):
    model = load_model(ROOT / row["model"])
    x, y = load_test_split(model)
    assert len(y) == RESULTS["test_size"] == 1000
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir, GenerateOptions(lanes=8),
                                   stall_in=0.1, stall_out=0.1)
    assert np.mean(golden.predict(model, expected) == y) == row["golden_acc"]
