"""The CLI boundary: user errors give one line, a non-zero exit and no traceback, and
leave no output behind."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "synthetic" / "synthetic.yaml"


def hwgen(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hwgen.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def assert_user_error(result, *phrases):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("hwgen: error: ")
    for phrase in phrases:
        assert phrase in lines[-1]


def test_generate_writes_verilog_and_manifest(tmp_path):
    r = hwgen("generate", EXAMPLE, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "synthetic.v").read_text()
    assert "module synthetic(" in text
    assert (tmp_path / "out" / "manifest.json").exists()


def test_generate_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        assert hwgen("generate", EXAMPLE, "-o", tmp_path / name, "--lanes", 3).returncode == 0
    for f in ("synthetic.v", "manifest.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_broken_model_names_file_and_layer_and_writes_nothing(tmp_path):
    model = tmp_path / "broken.yaml"
    model.write_text(EXAMPLE.read_text().replace("threshold: 300", "threshold: 0"))
    (tmp_path / "weights.npz").write_bytes((EXAMPLE.parent / "weights.npz").read_bytes())
    out = tmp_path / "out"
    assert_user_error(hwgen("generate", model, "-o", out), str(model), "layer 'hidden'",
                      "threshold")
    assert not out.exists()
    assert set(tmp_path.iterdir()) == {model, tmp_path / "weights.npz"}   # no temp folders


def test_missing_model_file(tmp_path):
    assert_user_error(hwgen("generate", tmp_path / "nope.yaml", "-o", tmp_path / "o"),
                      "nope.yaml", "does not exist")


@pytest.mark.parametrize("bad,phrase", [
    (np.zeros((8, 63), np.int64), "shape"),
    (np.full((8, 64), 16), "[0, 15]"),
    (np.full((8, 64), 0.5), "integers"),
])
def test_bad_inputs_are_refused(tmp_path, bad, phrase):
    x = tmp_path / "x.npy"
    np.save(x, bad)
    out = tmp_path / "y.npz"
    assert_user_error(hwgen("simulate", EXAMPLE, "--inputs", x, "-o", out), str(x), phrase)
    assert not out.exists()


def test_simulate_golden_writes_every_layer(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).integers(0, 16, (2, 8, 64)))
    r = hwgen("simulate", EXAMPLE, "--inputs", x, "--sim", "golden", "-o", tmp_path / "y.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "y.npz") as y:
        assert set(y.files) == {"hidden", "out"}
        assert y["hidden"].shape == (2, 8, 32) and y["out"].shape == (2, 8, 10)


def test_unknown_board_is_a_usage_error(tmp_path):
    r = hwgen("build", EXAMPLE, "--board", "nosuchboard", "-o", tmp_path / "o")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_check_refuses_golden_against_itself():
    r = hwgen("check", EXAMPLE, "--sim", "golden")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "golden" not in hwgen("check", "--help").stdout.split("--sim")[1].split("\n")[0]


def test_check_refuses_samples_with_inputs(tmp_path):
    """--samples would be ignored with --inputs: a usage error instead of silence."""
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((8, 64), np.int64))
    r = hwgen("check", EXAMPLE, "--samples", 3, "--inputs", x)
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_version():
    from hwgen import __version__
    r = hwgen("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"hwgen {__version__}"


@pytest.mark.parametrize("engine,log", [("fast", "fast/build.log"), ("cocotb", "sim.log")])
def test_failed_simulator_build_is_one_line_naming_the_log(tmp_path, engine, log):
    """A C++ compiler that fails (here: every compile goes through `false`) ends in one
    line that names the build log, not in a traceback, with either bench."""
    import os
    build = tmp_path / "build"
    r = subprocess.run([sys.executable, "-m", "hwgen.cli", "check", str(EXAMPLE), "--samples",
                        "1", "--build-dir", str(build), "--engine", engine],
                       capture_output=True, text=True, env={**os.environ, "OBJCACHE": "false"})
    assert_user_error(r, "verilator build", str(build / log), "--waves FILE.fst")
    assert not (build / "fast" / "stamp").exists()   # the next run builds again


@pytest.mark.parametrize("args,phrase", [
    (["check", "--sim", "icarus", "--engine", "fast"], "--engine fast runs on Verilator only"),
    (["simulate", "--sim", "golden", "--waves", "w.fst", "--inputs", "x.npy", "-o", "y.npz"],
     "--waves needs an RTL simulator"),
    (["check", "--labels", "y.npy"], "--labels needs --inputs"),
    (["check", "--samples", "some"], "must be a count >= 1 or 'all'"),
])
def test_engine_and_labels_usage_errors(args, phrase):
    r = hwgen(args[0], EXAMPLE, *args[1:])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert phrase in r.stderr


def test_samples_all_without_a_test_split_names_the_file():
    assert_user_error(hwgen("check", EXAMPLE, "--samples", "all"),
                      str(EXAMPLE.parent / "test_split.npz"), "--inputs X.npy --labels Y.npy")


@pytest.mark.parametrize("labels,phrase", [(np.zeros(3, np.int64), "shape [2]"),
                                           (np.array([0.5, 1.0]), "non-negative integers")])
def test_bad_labels_are_refused(tmp_path, labels, phrase):
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.zeros((2, 8, 64), np.int64))
    np.save(y, labels)
    assert_user_error(hwgen("check", EXAMPLE, "--inputs", x, "--labels", y), str(y), phrase)


def test_check_with_labels_reports_golden_and_rtl_accuracy(tmp_path):
    import golden
    from hwgen.model import load_model
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 16, (6, 8, 64)), rng.integers(0, 10, 6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    model = load_model(EXAMPLE)
    pred = golden.predict(model, golden.run(model, x))
    expected = f"{np.mean(pred == y):.2%}"
    r = hwgen("check", EXAMPLE, "--inputs", tmp_path / "x.npy", "--labels", tmp_path / "y.npy",
              "--build-dir", tmp_path / "build")
    assert r.returncode == 0, r.stderr
    assert (f"accuracy on 6 labelled inference(s): golden {expected}, verilator {expected}"
            in r.stdout)
    assert "6/6 inferences" in r.stderr             # the progress bar


@pytest.mark.parametrize("engine", ["fast", "cocotb"])
def test_simulate_verilator_writes_what_golden_writes(tmp_path, engine):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(1).integers(0, 16, (2, 8, 64)))
    for sim, out in (("golden", "g.npz"), ("verilator", "v.npz")):
        extra = ["--engine", engine, "--build-dir", tmp_path / "build"] if sim != "golden" else []
        r = hwgen("simulate", EXAMPLE, "--inputs", x, "--sim", sim, "-o", tmp_path / out, *extra)
        assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "g.npz") as g, np.load(tmp_path / "v.npz") as v:
        assert set(g.files) == set(v.files) == {"hidden", "out"}
        for name in g.files:
            assert np.array_equal(g[name], v[name]), name


def test_a_build_folder_with_a_space_is_one_clear_error(tmp_path):
    assert_user_error(hwgen("check", EXAMPLE, "--samples", "1", "--build-dir",
                            tmp_path / "my build"), "has a space in its path")


def test_a_waveform_folder_that_cannot_be_made_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    assert_user_error(hwgen("check", EXAMPLE, "--samples", "1", "--build-dir",
                            tmp_path / "build", "--waves", tmp_path / "file" / "w.fst"),
                      "cannot create the folder of the waveform")
