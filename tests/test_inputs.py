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
     p.with_suffix(".npy").rename(p), "must be a .npz archive, not a single array"),
    (lambda p: p.write_text("not numpy"), "cannot be read"),
])
def test_a_broken_split_is_one_error_naming_it(model, tmp_path, write, phrase):
    path = tmp_path / "test_split.npz"
    write(path)
    with pytest.raises(InputError) as err:
        load_test_split(model)
    assert str(path) in str(err.value) and phrase in str(err.value)


def test_a_broken_member_of_the_split_is_one_error(model, tmp_path):
    ragged = np.empty(2, dtype=object)
    ragged[:] = [[1], [1, 2]]
    np.savez(tmp_path / "test_split.npz", inputs=ragged, labels=np.zeros(2, int))
    with pytest.raises(InputError, match="cannot be read as a .npz archive"):
        load_test_split(model)


def test_labels_and_inputs_must_be_single_arrays(model, tmp_path):
    from hwgen.inputs import load_inputs, load_labels
    path = tmp_path / "y.npz"
    np.savez(path, labels=np.zeros(2, int))
    for load in (lambda: load_labels(path, 2), lambda: load_inputs(path, model)):
        with pytest.raises(InputError, match=r"must be a .npy array, not an .npz archive"):
            load()


def test_a_model_not_read_from_a_file_has_no_split(tmp_path, monkeypatch):
    from hwgen.model import model_from_dict
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "test_split.npz", inputs=np.zeros((1, 2)), labels=np.zeros(1, int))
    m = model_from_dict({"format": "hwgen-model/1", "name": "m", "timesteps": 1,
                         "input": {"size": 2, "max_value": 1}, "output": "a",
                         "layers": [{"name": "a", "type": "dense", "size": 1,
                                     "weights": [[1, 1]], "weight_bits": 2,
                                     "neuron": {"model": "if", "threshold": 1,
                                                "reset": "soft", "v_bits": 4}}]})
    with pytest.raises(InputError, match="not read from a file"):
        load_test_split(m)
