"""A design that cannot fit its FPGA is refused before place and route (hwgen/fit.py): in
seconds, before synthesis, when the memory planner cannot place its memories
(tests/test_memory_plan.py has the planner itself); after synthesis, before nextpnr, when
yosys' counts exceed the device's. One message names the resource and by how much;
nothing is written."""

import sys
import time
from pathlib import Path

import pytest

from hwgen.build import build_board
from hwgen.cli import main
from hwgen.fit import FitError, check_resources, design_memories
from hwgen.network import GenerateOptions, NetworkTop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from random_models import dense_mlp  # noqa: E402

UP5K = {"LUT": 5280, "FF": 5280, "BRAM": 30, "BRAM_bits": 4096, "SPRAM": 4, "DSP": 8,
        "family": "ice40"}


def test_design_memories_lists_every_memory_of_the_network():
    model = dense_mlp([20, 12, 4])
    mems = dict((path, (depth, width)) for path, depth, width in
                design_memories(NetworkTop(model, GenerateOptions(lanes=2)), None))
    assert mems["l0.weights"] == (20 * 6, 2 * 8)          # one row per (axon, row of P)
    assert mems["l1.weights"] == (12 * 2, 2 * 8)
    assert "l0.update.v" in mems and "l0_fifo.fifo.storage" in mems


def test_a_model_too_large_for_the_up5k_is_refused_in_seconds(tmp_path):
    """784-512-10: 401k 8-bit weights, 3.2 Mbit, more than block RAM and SPRAM together
    (784-128-10 fits: its weights go to SPRAM)."""
    start = time.monotonic()
    with pytest.raises(FitError) as err:
        build_board(dense_mlp([784, 512, 10]), "icebreaker", tmp_path / "out",
                    progress=lambda msg: None)
    assert time.monotonic() - start < 60           # a bound far from the minutes of P&R
    msg = str(err.value)
    assert msg.startswith("the design does not fit the iCE40UP5K: its memories need ")
    assert "the largest, l0.weights (401,408 x 8 = 3,211,264 bits)" in msg
    assert "l0.weights would need 25 of the 3 left" in msg     # l1's weights took one
    assert not (tmp_path / "out").exists()


def test_cli_refusal_is_one_line_and_writes_nothing(tmp_path, capsys):
    from hwgen.quantize import write_model
    path, _ = write_model(dense_mlp([784, 512, 10]), tmp_path / "m.yaml")
    assert main(["build", str(path), "--board", "icebreaker", "-o", str(tmp_path / "out"),
                 "--lanes", "auto"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hwgen: error: the design does not fit the iCE40UP5K")
    assert not (tmp_path / "out").exists()


def test_check_resources_names_every_shortfall():
    with pytest.raises(FitError) as err:
        check_resources({"LUT": 6000, "FF": 100, "BRAM": 32, "DSP": 8}, UP5K, "iCE40UP5K")
    assert str(err.value) == (
        "the design does not fit the iCE40UP5K after synthesis: it needs 6,000 LUTs of "
        "5,280 (720 too many); 32 block RAMs of 30 (2 too many) (place and route not "
        "started)")
    check_resources({"LUT": 5280, "FF": 5280, "BRAM": 30, "DSP": 8}, UP5K, "iCE40UP5K")


def test_placement_shortfalls_read_from_nextpnr():
    """iCE40 logic cells pair a LUT and a flip-flop: only nextpnr's packing counts them,
    so its words become the same kind of message."""
    from boards import get_board
    from hwgen.build import _placement_shortfall
    icestick = get_board("icestick")
    log = "ERROR: Failed to expand region (0, 0) |_> (13, 17) of 1393 ICESTORM_LCs\n"
    assert _placement_shortfall(log, icestick) == (
        "the design does not fit the iCE40HX1K: placement needs 1,393 logic cells (LUT and "
        "flip-flop pairs) of 1,280 (113 too many)")
    log = "ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_RAM'"
    assert "ran out of ICESTORM_RAM cells" in _placement_shortfall(log, icestick)
    assert _placement_shortfall("ERROR: something else", icestick) is None
