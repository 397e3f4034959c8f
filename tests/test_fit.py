"""A design that cannot fit its FPGA is refused before place and route (hwgen/fit.py): in
seconds, before synthesis, when its memories alone are too large; after synthesis, before
nextpnr, when yosys' counts exceed the device's. One message names the resource and by
how much; nothing is written."""

import sys
import time
from pathlib import Path

import pytest

from hwgen.build import build_board, device_capacity
from hwgen.cli import main
from hwgen.fit import FitError, check_memory_bits, check_resources, design_memories
from hwgen.network import GenerateOptions, NetworkTop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from random_models import dense_mlp  # noqa: E402

UP5K = {"LUT": 5280, "FF": 5280, "BRAM": 30, "BRAM_bits": 4096, "DSP": 8, "family": "ice40"}


def test_design_memories_lists_every_memory_of_the_network():
    model = dense_mlp([20, 12, 4])
    mems = dict((path, (depth, width)) for path, depth, width in
                design_memories(NetworkTop(model, GenerateOptions(lanes=2)), None))
    assert mems["l0.weights"] == (20 * 6, 2 * 8)          # one row per (axon, row of P)
    assert mems["l1.weights"] == (12 * 2, 2 * 8)
    assert "l0.update.v" in mems and "l0_fifo.fifo.storage" in mems


def test_784_128_10_is_refused_on_the_up5k_in_seconds(tmp_path):
    """The model of the issue: 100k 8-bit weights cannot fit 120 kbit of block RAM."""
    start = time.monotonic()
    with pytest.raises(FitError) as err:
        build_board(dense_mlp([784, 128, 10]), "icebreaker", tmp_path / "out",
                    progress=lambda msg: None)
    assert time.monotonic() - start < 60           # a bound far from the minutes of P&R
    msg = str(err.value)
    assert "does not fit the iCE40UP5K" in msg and "bits too many" in msg
    assert "network.l0.weights 100352x8 = 802,816" in msg
    assert not (tmp_path / "out").exists()


def test_cli_refusal_is_one_line_and_writes_nothing(tmp_path, capsys):
    from hwgen.quantize import write_model
    path, _ = write_model(dense_mlp([784, 128, 10]), tmp_path / "m.yaml")
    assert main(["build", str(path), "--board", "icebreaker", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hwgen: error: the design does not fit the iCE40UP5K")
    assert not (tmp_path / "out").exists()


def test_a_model_that_fits_passes_the_memory_check():
    model = dense_mlp([64, 32, 10])
    total = check_memory_bits(design_memories(NetworkTop(model, GenerateOptions()), None),
                              UP5K, "iCE40UP5K")
    assert 0 < total < 30 * 4096


def test_check_resources_names_every_shortfall():
    with pytest.raises(FitError) as err:
        check_resources({"LUT": 6000, "FF": 100, "BRAM": 32, "DSP": 8}, UP5K, "iCE40UP5K")
    assert str(err.value) == (
        "the design does not fit the iCE40UP5K after synthesis: it needs 6,000 LUTs of "
        "5,280 (720 too many); 32 block RAMs of 30 (2 too many) (place and route not "
        "started)")
    check_resources({"LUT": 5280, "FF": 5280, "BRAM": 30, "DSP": 8}, UP5K, "iCE40UP5K")


def test_ecp5_counts_lut_ram_in_the_bound():
    from boards import get_board
    cap = device_capacity(get_board("ulx3s-85f"), "ecp5")
    mems = [("big", 1 << 16, 64)]                     # 4 Mbit: more than 208 x 18 kbit
    assert check_memory_bits(mems, cap, "LFE5U-85F") == 1 << 22
    with pytest.raises(FitError, match="bits too many"):
        check_memory_bits([("huge", 1 << 20, 64)], cap, "LFE5U-85F")


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
