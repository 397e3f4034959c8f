"""The committed spiking CNNs (examples/conv/, made by scripts/train_conv.py), with and
without spike sparse convolution, co-simulated under Verilator on all 360 test images:
every spike of every layer equals golden, so RTL accuracy = golden accuracy = the figure
of docs/conv-digits.json."""

import json

import numpy as np
import pytest
from conftest import ROOT, assert_bit_exact

import golden
from hwgen.model import load_model
from hwgen.network import GenerateOptions

RESULTS = json.loads((ROOT / "docs" / "conv-digits.json").read_text())


@pytest.mark.parametrize("variant", ["dense", "ssc"])
def test_trained_cnn_on_the_whole_test_split(variant, build_dir):
    model = load_model(ROOT / "examples" / "conv" / f"conv_{variant}.yaml")
    split = np.load(ROOT / "examples" / "conv" / "test_split.npz")
    n = len(split["labels"])
    x = np.broadcast_to(split["inputs"][:, None, :].astype(np.int64),
                        (n, model.timesteps, model.input_size))
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir, GenerateOptions(lanes=4),
                                   stall_in=0.1, stall_out=0.1)
    row = next(r for r in RESULTS["results"] if r["variant"] == variant)
    assert np.mean(golden.predict(model, expected) == split["labels"]) == row["golden_acc"]
