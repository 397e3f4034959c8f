# amaranth: UnusedElaboratable=no
"""Networks whose dense weights sit in SPRAM (the memory planner's choice on the iCE40
UltraPlus), in Amaranth's simulator: the SPRAM model starts empty, as the hardware does,
so every result below needs the weight image streamed into the boot loader first (on a
board it comes from the flash: rtl_tests/test_spram.py tests that reader). Bit-exact
against the golden model, under random back-pressure on the network's input and output, and across a
reset of the network (the host link resets it before every run; the weights stay)."""

import random

import numpy as np
import pytest
from amaranth.hdl import Elaboratable, Module, ResetInserter, Signal
from amaranth.sim import Simulator
from core_bench import run_core

import golden
from hwgen.board.weight_boot import attach_weight_loader
from hwgen.core.weight_loader import MAGIC
from hwgen.model import model_from_dict
from hwgen.network import GenerateOptions, NetworkTop


def active_mlp(sizes, rng, timesteps=3):
    """A dense network that spikes a lot: 8-bit random weights, IF neurons with soft
    reset and thresholds near the typical input current, graded spikes in the hidden
    layer, graded input 0..3."""
    layers = []
    for k, (fan_in, size) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append({
            "name": f"l{k}", "type": "dense", "size": size, "weight_bits": 8,
            "weights": rng.integers(-100, 128, (size, fan_in)).tolist(),
            "neuron": {"model": "if", "threshold": int(20 * fan_in), "reset": "soft",
                       "v_bits": 20, "max_spikes": 2 if k == 0 else 1}})
    return model_from_dict({"format": "hwgen-model/1", "name": "spram_mlp",
                            "timesteps": timesteps, "input": {"size": sizes[0], "max_value": 3},
                            "layers": layers, "output": layers[-1]["name"]})


class BootedNetwork(Elaboratable):
    """``network`` with its boot loader beside it, as a board top has them: the loader
    outside the network's reset (``net_reset``)."""

    def __init__(self, network):
        self.network = network
        self.loader = network.weight_loader()
        self.net_reset = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = ResetInserter(self.net_reset)(self.network)
        attach_weight_loader(m, self.network, self.loader)
        return m


def weight_feeder(loader, image, seed, gaps=0.3):
    """A testbench that streams ``image`` into ``loader.i_bytes`` with random gaps."""
    port = loader.i_bytes

    async def feed(ctx):
        rng = random.Random(seed)
        for byte in image:
            while rng.random() < gaps:
                ctx.set(port.valid, 0)
                await ctx.tick()
            ctx.set(port.payload, byte)
            ctx.set(port.valid, 1)
            await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)
    return feed


def stimulus_of(x):
    return [[(j, int(v)) for j, v in enumerate(step) if v] for step in x]


@pytest.mark.parametrize("seed", range(4))
def test_spram_weights_loaded_then_bit_exact(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(8, 40)), int(rng.integers(3, 20)), int(rng.integers(2, 8))]
    model = active_mlp(sizes, rng)
    spram = {"l0"} if seed % 2 else {"l0", "l1"}
    lanes = {"l0": int(rng.choice([1, 2, 3, 8])), "l1": int(rng.choice([1, 2]))}
    top = NetworkTop(model, GenerateOptions(lanes=lanes, spram_weights=spram))
    x = rng.integers(0, 4, (2, 3, sizes[0])) * (rng.random((2, 3, sizes[0])) < 0.5)
    expected = golden.run(model, x)[model.output]
    assert expected.sum() > 0 and (expected == 0).sum() > 0     # a test that can fail
    # Both inferences back to back: the weights are loaded once, at boot.
    stimulus = stimulus_of(x[0]) + stimulus_of(x[1])
    booted = BootedNetwork(top)
    out, _ = run_core(top, stimulus, sizes[-1], stall_in=0.3, stall_out=0.3, seed=seed,
                      also=[weight_feeder(booted.loader, top.weight_image(), seed)],
                      toplevel=booted)
    np.testing.assert_array_equal(out, np.concatenate(expected))


def test_the_weights_survive_a_reset_of_the_network():
    rng = np.random.default_rng(7)
    model = active_mlp([16, 8, 4], rng)
    top = NetworkTop(model, GenerateOptions(lanes={"l0": 2}, spram_weights={"l0", "l1"}))
    booted = BootedNetwork(top)
    x = rng.integers(0, 4, (1, 3, 16))
    expected = golden.run(model, x)[model.output][0]
    assert expected.sum() > 0

    # The network is held in reset while the loader writes, and let go after: the weights
    # and the loader's "loaded" stay (the events wait, a core in reset takes none).
    async def reset_during_boot(ctx):
        ctx.set(booted.net_reset, 1)
        await ctx.tick().until(booted.loader.done)
        await ctx.tick().repeat(5)
        ctx.set(booted.net_reset, 0)

    out, _ = run_core(top, stimulus_of(x[0]), 4, seed=1, toplevel=booted,
                      also=[weight_feeder(booted.loader, top.weight_image(), 1),
                            reset_during_boot])
    np.testing.assert_array_equal(out, expected)


def test_the_network_waits_for_its_weights_and_refuses_a_bad_image():
    model = active_mlp([12, 6, 3], np.random.default_rng(0))
    top = NetworkTop(model, GenerateOptions(spram_weights={"l0"}))
    booted = BootedNetwork(top)
    image = top.weight_image()
    assert image.startswith(MAGIC)
    # The image of other weights (a stale flash) is refused as well.
    other = NetworkTop(active_mlp([12, 6, 3], np.random.default_rng(1)),
                       GenerateOptions(spram_weights={"l0"})).weight_image()
    assert other[:4] == image[:4] and other[4:8] != image[4:8]

    async def bench(ctx):
        ctx.set(top.i_events.valid, 1)
        ctx.set(top.i_events.p, {"addr": 0, "value": 1, "tick": 0})
        ctx.set(booted.loader.i_bytes.valid, 1)
        ctx.set(booted.loader.i_bytes.payload, 0xFF)          # an erased flash
        for _ in range(len(image) + 200):
            await ctx.tick()
            assert not ctx.get(top.i_events.ready), "took an event without weights"
            assert not ctx.get(booted.loader.done)
        assert ctx.get(booted.loader.error)

    sim = Simulator(booted)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
