"""The committed digits models (examples/digits/, made by scripts/train_digits.py): their
golden accuracy on the committed test split is what docs/digits.json states, and D = 4
reaches the target of 90% in 8 timesteps."""

import json
from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.inputs import load_inputs
from hwgen.model import load_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "digits"
RESULTS = json.loads((ROOT / "docs" / "digits.json").read_text())


def accuracy(model):
    split = np.load(EXAMPLES / "test_split.npz")
    x = np.broadcast_to(split["inputs"][:, None, :].astype(np.int64),
                        (len(split["labels"]), model.timesteps, 64))
    return float(np.mean(golden.predict(model, golden.run(model, x)) == split["labels"]))


@pytest.mark.parametrize("d", [1, 2, 4, 8])
def test_golden_accuracy_is_the_documented_one(d):
    model = load_model(EXAMPLES / f"digits_d{d}.yaml")
    row = next(r for r in RESULTS["results"] if r["D"] == d and r["T"] == model.timesteps)
    assert model.timesteps == 8 and model.layers[0].neuron.max_spikes == d
    assert accuracy(model) == row["golden_acc"] == row["float_acc"]


def test_d4_reaches_the_target():
    assert accuracy(load_model(EXAMPLES / "digits_d4.yaml")) >= 0.90


def test_samples_are_valid_inputs():
    model = load_model(EXAMPLES / "digits_d4.yaml")
    x = load_inputs(EXAMPLES / "samples.npy", model)
    assert x.shape == (8, 8, 64)
