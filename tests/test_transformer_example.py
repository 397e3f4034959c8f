"""The committed spiking transformers (examples/transformer/, made by
scripts/train_transformer.py): they validate, are the architecture docs/transformer.md
describes, and their golden accuracy on the whole committed test split is the figure of
docs/transformer.json, equal to the float network's and at least 90%."""

import json
from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.inputs import load_inputs
from hwgen.model import load_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "transformer"
RESULTS = json.loads((ROOT / "docs" / "transformer.json").read_text())
VARIANTS = ["hadamard", "linear"]


def row(variant):
    return next(r for r in RESULTS["results"] if r["variant"] == variant)


def accuracy(model):
    split = np.load(EXAMPLES / "test_split.npz")
    assert split["inputs"].shape == (360, 64)
    x = np.broadcast_to(split["inputs"][:, None, :].astype(np.int64),
                        (len(split["labels"]), model.timesteps, 64))
    return float(np.mean(golden.predict(model, golden.run(model, x)) == split["labels"]))


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_is_the_documented_architecture(variant):
    model = load_model(EXAMPLES / f"transformer_{variant}.yaml")   # validates it
    r = row(variant)
    assert [layer.name for layer in model.layers] == ["embed", "q", "k", "v", "att", "proj",
                                                      "out"]
    att = model.layer("att")
    assert (att.type, att.variant, att.tokens, att.dim, att.heads) == (
        "attention", variant, 8, r["dim"], r["heads"])
    assert att.inputs == ["q", "k", "v"] and att.neuron.threshold == r["att_threshold"]["int"]
    for name in "qkv":
        assert model.layer(name).neuron.max_spikes == 1
    # Per-token layers are block-diagonal: token n's neurons read only token n's inputs.
    for name in ("embed", "q", "k", "v", "proj"):
        w = model.layer(name).weights
        rows, cols = w.shape[0] // 8, w.shape[1] // 8
        mask = np.kron(np.eye(8, dtype=bool), np.ones((rows, cols), dtype=bool))
        assert not np.any(w[~mask]), name
        blocks = [w[n * rows:(n + 1) * rows, n * cols:(n + 1) * cols] for n in range(8)]
        assert all(np.array_equal(b, blocks[0]) for b in blocks), name
    assert model.output == "out" and model.layer("out").size == 10


@pytest.mark.parametrize("variant", VARIANTS)
def test_golden_accuracy_is_the_documented_one(variant):
    model = load_model(EXAMPLES / f"transformer_{variant}.yaml")
    r = row(variant)
    assert model.timesteps == r["T"]
    assert accuracy(model) == r["golden_acc"] == r["float_acc"]
    assert r["golden_acc"] >= 0.90


def test_samples_are_valid_inputs():
    model = load_model(EXAMPLES / "transformer_linear.yaml")
    x = load_inputs(EXAMPLES / "samples.npy", model)
    assert x.shape == (8, model.timesteps, 64)
