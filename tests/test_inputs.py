"""Input, label and test-split files (hwgen.inputs): the shapes they accept and the one
clear error for each way they can be wrong."""

from pathlib import Path

import numpy as np
import pytest

from hwgen.inputs import InputError, load_test_split
from hwgen.model import load_model

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "synthetic" / "synthetic.yaml"


@pytest.fixture
def model(tmp_path):
    """The example model, copied where a test split can be put next to it."""
    for f in ("synthetic.yaml", "weights.npz"):
        (tmp_path / f).write_bytes((EXAMPLE.parent / f).read_bytes())
    return load_model(tmp_path / "synthetic.yaml")


def test_a_static_split_is_held_for_every_timestep(model, tmp_path):
    images = np.arange(3 * 64).reshape(3, 64) % 16
    np.savez(tmp_path / "test_split.npz", inputs=images, labels=np.array([1, 2, 3]))
    x, y = load_test_split(model)
    assert x.shape == (3, 8, 64) and (x == images[:, None, :]).all()
    assert y.tolist() == [1, 2, 3]


@pytest.mark.parametrize("write,phrase", [
    (lambda p: np.savez(p, inputs=np.zeros((2, 8, 64))), "lacks labels"),
    (lambda p: np.savez(p, inputs=np.zeros((2, 7, 64)), labels=np.zeros(2, int)),
     "[N, 8, 64] or [N, 64]"),
    (lambda p: np.savez(p, inputs=np.zeros((2, 64)), labels=np.zeros(3, int)), "shape [2]"),
    (lambda p: np.savez(p, inputs=np.full((2, 64), 16), labels=np.zeros(2, int)), "[0, 15]"),
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros(3)) or
     p.with_suffix(".npy").rename(p), "not a single array"),
    (lambda p: p.write_text("not numpy"), "cannot be read"),
])
def test_a_broken_split_is_one_error_naming_it(model, tmp_path, write, phrase):
    path = tmp_path / "test_split.npz"
    write(path)
    with pytest.raises(InputError) as err:
        load_test_split(model)
    assert str(path) in str(err.value) and phrase in str(err.value)
