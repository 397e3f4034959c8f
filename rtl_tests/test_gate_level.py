"""Gate-level co-simulation (hwgen.sim.gate_level): the netlist yosys synthesizes for
iCE40 and ECP5, simulated with the YoWASP cell models, is bit-exact against golden on the
top output; a wrong golden and an edited netlist fail the check.

The cases run on Icarus (the cocotb bench), whose build of a small netlist takes well
under a second; one case runs the fast Verilator bench (its C++ build takes ~20 s)."""

import dataclasses
import re
import shutil

import numpy as np
import pytest
from conftest import SEED
from random_models import conv_net, dense_mlp

import golden
from hwgen.inputs import random_inputs
from hwgen.sim.cosim import run_rtl
from hwgen.sim.gate_level import (
    SimError,
    SynthError,
    cell_models,
    check,
    family_of_board,
    synthesize,
)

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None,
                                  reason="Icarus Verilog (iverilog) is not installed")


def with_threshold(model, threshold):
    """The same model with every layer's threshold set to ``threshold``."""
    return dataclasses.replace(model, layers=[
        dataclasses.replace(layer, neuron=dataclasses.replace(layer.neuron,
                                                              threshold=threshold))
        for layer in model.layers])


def small_dense():
    """32-12-6 LIF, thresholds low enough that the output layer fires."""
    return with_threshold(dense_mlp((32, 12, 6), seed=SEED), 200)


def small_conv():
    return conv_net((1, 5, 5), [(2, 3, 1, 0)], dense=(3,), timesteps=3, seed=SEED)


def assert_passes(model, x, family, build_dir, **kw):
    result = check(model, x, family, build_dir=build_dir, seed=SEED, **kw)
    assert result.ok, result.message
    assert result.expected.sum() > 0, "no output spike: a weak test"
    return result


@needs_icarus
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_small_dense_netlist_is_bit_exact_and_a_wrong_golden_fails(family, build_dir):
    model = small_dense()
    x = random_inputs(model, samples=3, seed=SEED, density=0.5)
    result = assert_passes(model, x, family, build_dir, sim="icarus")
    assert result.netlist.cells, "no cell in the netlist"
    # The golden model of another threshold: the same netlist must fail against it.
    wrong = golden.run(with_threshold(model, 260), x)[model.output]
    assert not np.array_equal(wrong, result.expected)
    failed = check(model, x, family, build_dir=build_dir, sim="icarus", seed=SEED,
                   expected=wrong)
    assert not failed.ok
    assert re.search(r"differs from golden on the top output: sample \d+, timestep \d+",
                     failed.message)


@needs_icarus
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_small_conv_netlist_is_bit_exact(family, build_dir):
    model = small_conv()
    x = random_inputs(model, samples=3, seed=SEED)
    assert_passes(model, x, family, build_dir, sim="icarus")


def test_fast_verilator_bench_runs_the_netlist(build_dir):
    model = small_dense()
    x = random_inputs(model, samples=2, seed=SEED, density=0.5)
    result = assert_passes(model, x, "ecp5", build_dir, sim="verilator", engine="fast")
    assert result.info["engine"] == "fast"


@needs_icarus
def test_an_edited_netlist_fails(build_dir):
    """The weights live in the iCE40 block RAMs' INIT parameters: zeroed, the netlist
    computes something else and the check fails."""
    model = small_dense()
    x = random_inputs(model, samples=3, seed=SEED, density=0.5)
    netlist = synthesize(model, None, "ice40", build_dir=build_dir / "synth")
    assert netlist.cells.get("SB_RAM40_4K", 0) > 0
    text = re.sub(r"(\.INIT_[0-9A-F]\()256'h[0-9a-fA-F]+", r"\g<1>256'h0", netlist.text)
    assert text != netlist.text
    broken = dataclasses.replace(netlist, text=text)
    expected = golden.run(model, x)[model.output]
    try:
        _, info = run_rtl(model, x, sim="icarus", build_dir=build_dir / "sim", seed=SEED,
                          netlist=broken)
    except SimError:
        return                  # a protocol error or a hang fails the check too
    assert not np.array_equal(info["out_spikes"], expected)


def test_boards_name_their_family_and_the_models_are_found():
    assert family_of_board("icebreaker") == "ice40"
    assert family_of_board("ulx3s-85f") == "ecp5"
    for family in ("ice40", "ecp5"):
        files, includes = cell_models(family)
        assert all(f.is_file() for f in files) and all(d.is_dir() for d in includes)


def test_a_cell_without_a_model_is_a_clear_error(build_dir):
    """ECP5's DSP has no simulation model in the package: synthesized with DSPs, the
    netlist is refused, naming the cell."""
    model = dataclasses.replace(small_dense(), name="mlp_dsp")
    with pytest.raises(SynthError, match=r"no simulation model of: .*MULT18X18D"):
        synthesize(model, None, "ecp5", build_dir=build_dir, synth_options="-nobram")


def test_a_missing_cell_model_file_is_a_clear_error(monkeypatch, tmp_path):
    from hwgen.sim import gate_level
    from hwgen.tools import ToolError
    monkeypatch.setattr(gate_level, "_share", lambda: tmp_path)
    with pytest.raises(ToolError, match=r"cell simulation models are missing .*cells_sim\.v"):
        cell_models("ice40")
