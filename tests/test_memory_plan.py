"""The memory planner (hwgen/memory_plan.py) and per-layer lanes: where each memory goes,
what --lanes auto picks, and the refusals, all without synthesis (the board builds in
rtl_tests/test_board_build.py check that yosys agrees with the plan)."""

import sys
from pathlib import Path

import pytest

import boards
from hwgen.cli import main
from hwgen.fit import FitError
from hwgen.graph import LanesError
from hwgen.memory_plan import (
    Budget,
    auto_lanes,
    bram_blocks,
    place_memories,
    plan_design,
    spram_tiles,
)
from hwgen.network import GenerateOptions, NetworkTop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from random_models import dense_mlp  # noqa: E402

UP5K = Budget.of_board(boards.get_board("icebreaker"))
ECP5_85F = Budget.of_board(boards.get_board("ulx3s-85f"))


@pytest.mark.parametrize("width, depth, family, blocks", [
    (8, 512, "ice40", 1), (16, 256, "ice40", 1), (6, 2048, "ice40", 3),   # 3 x 2048x2
    (64, 12544, "ice40", 4 * 49), (17, 10, "ice40", 2),
    (36, 512, "ecp5", 1), (1024, 784, "ecp5", 57), (8, 100352, "ecp5", 49),
])
def test_bram_blocks_take_the_narrowest_arrangement(width, depth, family, blocks):
    assert bram_blocks(width, depth, family) == blocks


def test_spram_tiles():
    assert spram_tiles(64, 12544) == 4           # 784-128 at 8 lanes of 8 bits
    assert spram_tiles(8, 100352) == 7           # one lane: 100k rows, 7 banks deep
    assert spram_tiles(16, 16384) == 1 and spram_tiles(17, 16385) == 4


def test_small_and_sparse_memories_go_to_logic_the_rest_to_block_ram():
    plan = place_memories([("fifo", 15, 9), ("v", 128, 16), ("acc", 1, 2048),
                           ("acc8", 16, 128)], ECP5_85F)
    places = {p.path: p.place for p in plan.placements}
    assert places == {"fifo": "logic", "v": "bram", "acc": "logic", "acc8": "logic"}
    # iCE40 flip-flops are scarce: 2 kbit accumulator rows stay in block RAM there.
    assert place_memories([("acc8", 16, 128)], UP5K).placements[0].place == "bram"
    with pytest.raises(FitError, match=r"acc \(1 x 2048 = 2,048 bits\), alone needs 128"):
        place_memories([("acc", 1, 2048)], UP5K)


def test_spram_only_for_weights_and_only_when_block_ram_runs_short():
    mems = [("fc.weights", 12544, 64), ("fc.acc", 16, 128)]
    with pytest.raises(FitError):
        place_memories(mems, UP5K)                          # no candidates: 204 blocks
    plan = place_memories(mems, UP5K, ["fc.weights"])
    assert [(p.path, p.place, p.blocks) for p in plan.placements] == [
        ("fc.weights", "spram", 4), ("fc.acc", "bram", 8)]
    assert plan.spram_layers == {"fc"}
    small = place_memories([("fc.weights", 256, 16)], UP5K, ["fc.weights"])
    assert small.placements[0].place == "bram"              # fits block RAM: no SPRAM


def test_a_refusal_names_the_memory_its_size_and_the_budget():
    with pytest.raises(FitError) as err:
        place_memories([("big.weights", 100352, 8), ("x", 256, 16)], UP5K, ["big.weights"])
    assert str(err.value) == (
        "the design does not fit the iCE40UP5K: its memories need 197 block RAMs of 30 "
        "(4,096 bits each); the largest, big.weights (100,352 x 8 = 802,816 bits), alone "
        "needs 196; 0 of 4 SPRAMs (16384 x 16 each) are used and big.weights would need 7 "
        "of the 4 left (next largest, in blocks: x 1)")
    with pytest.raises(FitError, match="x cannot go to SPRAM"):
        place_memories([("x", 100352, 8)], UP5K)


def test_auto_lanes_for_784_128_10():
    """The UP5K: the first layer's weights in SPRAM at 8 lanes (4 tiles of 16 bits); the
    ECP5-85F: the first layer fully parallel; the output layer at one row per event on
    both, with what the budget leaves."""
    model = dense_mlp([784, 128, 10])
    options, plan = plan_design(model, GenerateOptions(lanes="auto"),
                                boards.get_board("icebreaker"))
    assert options.lanes == {"l0": 8, "l1": 10}
    assert options.spram_weights == {"l0"} and plan.used("spram") == 4
    assert auto_lanes(model, GenerateOptions(), ECP5_85F) == {"l0": 128, "l1": 10}


def test_given_lanes_are_kept_and_checked():
    model = dense_mlp([784, 128, 10])
    options, plan = plan_design(model, GenerateOptions(lanes={"l0": 4}),
                                boards.get_board("icebreaker"))
    assert options.lanes == {"l0": 4} and plan.used("spram") == 4   # 32 bits x 25088 rows
    with pytest.raises(FitError, match="l0.weights"):
        plan_design(model, GenerateOptions(lanes={"l0": 16}), boards.get_board("icebreaker"))


def test_per_layer_lanes_reach_the_cores():
    model = dense_mlp([20, 12, 4])
    top = NetworkTop(model, GenerateOptions(lanes={"l0": 4}))
    assert top.cores["l0"].params["lanes"] == 4 and top.cores["l1"].params["lanes"] == 1
    with pytest.raises(LanesError, match="'l9', which is not a layer"):
        NetworkTop(model, GenerateOptions(lanes={"l9": 2}))
    with pytest.raises(ValueError, match="plan the design for a board"):
        NetworkTop(model, GenerateOptions(lanes="auto"))
    with pytest.raises(ValueError, match="lanes of layer 'l0'"):
        GenerateOptions(lanes={"l0": 0})


def test_cli_lanes(tmp_path, capsys):
    from hwgen.quantize import write_model
    path, _ = write_model(dense_mlp([20, 12, 4]), tmp_path / "m.yaml")
    out = tmp_path / "out"
    assert main(["generate", str(path), "-o", str(out), "--lanes", "4,2"]) == 0
    import json
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["lanes"] == {"l0": 4, "l1": 2}
    assert main(["generate", str(path), "-o", str(out), "--lanes", "l1=3"]) == 0
    assert main(["generate", str(path), "-o", str(out), "--lanes", "4,2,1"]) == 1
    assert "gives 3 counts for the 2 layers" in capsys.readouterr().err
    assert main(["generate", str(path), "-o", str(out), "--lanes", "auto",
                 "--board", "icebreaker"]) == 0
    assert "memory plan for icebreaker: lanes l0=" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["generate", str(path), "-o", str(out), "--lanes", "auto"])
    assert "--lanes auto balances" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["generate", str(path), "-o", str(out), "--lanes", "4,x"])


def test_auto_lanes_on_a_cnn_leave_conv_and_pool_layers_at_one_lane():
    from random_models import nir_paper_cnn
    model = nir_paper_cnn(timesteps=2)
    options, plan = plan_design(model, GenerateOptions(lanes="auto"),
                                boards.get_board("ulx3s-85f"))
    dense = {layer.name for layer in model.layers if layer.type_name == "dense"}
    assert set(options.lanes) == dense and len(dense) == 2
    assert all(options.lanes_for(layer.name) == 1 for layer in model.layers
               if layer.name not in dense)
    assert plan.used("bram") <= 208


def test_no_spram_behind_a_router_fabric():
    model = dense_mlp([784, 128, 10])
    with pytest.raises(FitError, match="l0.weights cannot go to SPRAM"):
        plan_design(model, GenerateOptions(lanes=8, topology="crossbar"),
                    boards.get_board("icebreaker"))


class PlannedOnly(Exception):
    """Raised where synthesis would start: the plan was accepted."""


@pytest.mark.parametrize("top", ["self-test", "host-link"])
def test_auto_lanes_leave_room_for_the_memories_around_the_network(top, monkeypatch,
                                                                   tmp_path):
    """On the iCEstick (16 block RAMs) the network alone would take them all at its best
    lanes; the self-test's ROMs and the host link's FIFO must fit beside it."""
    import hwgen.build as build

    def stop(*args, **kwargs):
        raise PlannedOnly

    monkeypatch.setattr(build, "_synth_and_place", stop)
    with pytest.raises(PlannedOnly):
        build.build_board(dense_mlp([64, 40, 10]), "icestick", tmp_path / "out", top=top,
                          options=GenerateOptions(lanes="auto"), progress=lambda msg: None)
