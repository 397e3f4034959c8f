"""Whole networks: chains, concatenated inputs, fan-out, and random models drawn by
hypothesis, every layer bit-exact against golden under random stalls."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from conftest import ROOT, SEED, assert_bit_exact, build_dir_for, simulators
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import models

from hwgen import network
from hwgen.core.event_fifo import EventFIFO
from hwgen.inputs import random_inputs
from hwgen.model import load_model
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import SimError, run_rtl

EXAMPLE = ROOT / "examples" / "synthetic" / "synthetic.yaml"


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("lanes,burst", [(1, False), (4, True)])
def test_example_model(sim, lanes, burst, build_dir):
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=2, seed=SEED)
    assert_bit_exact(model, x, sim, build_dir, GenerateOptions(lanes=lanes, burst=burst))


def _random_model_test(sim, examples, bucket, density=0.6, **sizes):
    """``examples`` random models (``sizes`` go to :func:`random_models.models`) of one
    bucket: buckets are separate tests, which pytest-xdist runs in parallel."""
    @seed(SEED * 1000 + bucket)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(model=models(**sizes), lanes=st.integers(1, 4), burst=st.booleans(),
           fifo=st.sampled_from([0, 2, 16]), stall=st.sampled_from([0.0, 0.3, 0.7]),
           data_seed=st.integers(0, 2**16))
    def check(request, model, lanes, burst, fifo, stall, data_seed):
        x = random_inputs(model, samples=2, seed=data_seed, density=density)
        assert_bit_exact(model, x, sim, build_dir_for(request) / "case",
                         GenerateOptions(lanes=lanes, burst=burst, fifo_depth=fifo),
                         seed=data_seed, stall_in=stall, stall_out=stall)
    return check


# 48 small models on Verilator's fast engine, 25 on Icarus (the cocotb engine) and 6 of
# the sizes users have (64 .. 1,024 inputs, 64 .. 256 neurons per layer).
@pytest.mark.parametrize("bucket", range(8))
def test_random_models_verilator(request, bucket):
    _random_model_test("verilator", 6, bucket)(request)


@pytest.mark.parametrize("bucket", range(2))
def test_large_random_models_verilator(request, bucket):
    _random_model_test("verilator", 3, 100 + bucket, density=0.3, max_layers=2,
                       min_size=64, max_size=256, max_input=1024)(request)


@pytest.mark.skipif(simulators()[1].marks[0].args[0], reason="Icarus is not installed")
@pytest.mark.parametrize("bucket", range(5))
def test_random_models_icarus(request, bucket):
    _random_model_test("icarus", 5, 200 + bucket)(request)


def _model(layers, input_size, input_max, output):
    from hwgen.model import model_from_dict
    return model_from_dict({"format": "hwgen-model/1", "name": "net", "timesteps": 3,
                            "input": {"size": input_size, "max_value": input_max},
                            "layers": layers, "output": output})


def _layer(name, size, weights, inputs, **neuron):
    return {"name": name, "type": "dense", "size": size, "input": inputs, "weight_bits": 5,
            "weights": weights,
            "neuron": {"model": "if", "reset": "soft", "v_bits": 10, **neuron}}


@pytest.mark.parametrize("sim", simulators())
def test_burst_accumulator_holds_d_events_per_axon(sim, build_dir):
    """A graded layer sending bursts: the consumer's accumulator must hold D events of
    every axon (a width sized for one event of 1 wraps here)."""
    model = _model([_layer("a", 4, [[15, 15]] * 4, "input", threshold=3, max_spikes=4),
                    _layer("b", 2, [[7, 7, 7, 7]] * 2, "a", threshold=100)],
                   input_size=2, input_max=15, output="b")
    x = np.full((1, 3, 2), 15)
    expected, _ = assert_bit_exact(model, x, sim, build_dir, GenerateOptions(burst=True))
    assert expected["b"].sum() > 0          # the saturating case is really reached


@pytest.mark.parametrize("sim", simulators())
def test_out_of_range_input_addresses_are_dropped(sim, build_dir):
    """Input size 6 leaves addresses 6 and 7 in the 3-bit field: events there are dropped,
    also where the input is the first part of a concatenation."""
    rng = np.random.default_rng(SEED)
    model = _model([_layer("a", 3, rng.integers(-8, 8, (3, 6)).tolist(), "input",
                           threshold=4),
                    _layer("b", 2, rng.integers(-8, 8, (2, 9)).tolist(), ["input", "a"],
                           threshold=4)],
                   input_size=6, input_max=3, output="b")
    x = random_inputs(model, samples=2, seed=SEED)
    assert_bit_exact(model, x, sim, build_dir, junk=0.5)


@pytest.mark.parametrize("lanes,images", [(1, 4), (4, 16)])
def test_digits_model_on_real_digits(lanes, images, build_dir):
    """The trained digits model (D = 4) on real test images: every layer bit-exact. One
    lane, the default, makes Verilator split the design into several C++ files, which
    needs the precompiled-header repair in hwgen.tools.verilator_env."""
    model = load_model(ROOT / "examples" / "digits" / "digits_d4.yaml")
    split = np.load(ROOT / "examples" / "digits" / "test_split.npz")
    x = np.broadcast_to(split["inputs"][:images, None, :].astype(np.int64), (images, 8, 64))
    assert_bit_exact(model, x, "verilator", build_dir, GenerateOptions(lanes=lanes))


class _FaultyFIFO(wiring.Component):
    """An EventFIFO whose output goes through :meth:`fault` to this block's output."""

    def __init__(self, layout, depth):
        self._fifo = EventFIFO(layout, depth)
        super().__init__({"i_events": In(stream.Signature(layout)),
                          "o_events": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = self._fifo
        wiring.connect(m, wiring.flipped(self.i_events), fifo.i_events)
        self.fault(m, fifo.o_events)
        return m


class _BlinkingFIFO(_FaultyFIFO):
    """Output valid blinks every other cycle, whatever ready says: no event is lost (the
    FIFO is read only when taken), but valid falls while an event waits, which DESIGN.md
    section 5 forbids and a downstream merge or core may not survive."""

    def fault(self, m, fifo_out):
        blink = Signal()
        m.d.sync += blink.eq(~blink)
        m.d.comb += [self.o_events.payload.eq(fifo_out.payload),
                     self.o_events.valid.eq(fifo_out.valid & blink),
                     fifo_out.ready.eq(self.o_events.ready & blink)]


ENGINES = ["fast", "cocotb"]


class _MisaddressingFIFO(_FaultyFIFO):
    """Flips bit 3 of every event's address on the way out: the layer of 10 neurons (a
    4-bit field) then sends addresses 10 .. 15, which do not exist."""

    def fault(self, m, fifo_out):
        wiring.connect(m, wiring.flipped(self.o_events), fifo_out)
        m.d.comb += self.o_events.payload.addr.eq(fifo_out.payload.addr ^ 0b1000)


class _StuckFIFO(EventFIFO):
    """An EventFIFO that never offers what it holds: the design fills up and stops."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.o_events.valid.eq(0)
        return m


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fifo,samples,message", [
    # Spikes stay bit-exact with the blinking FIFO, yet the run fails: every stream of the
    # design is checked, not only the spikes.
    (_BlinkingFIFO, 1, (r"protocol error: stream 'hidden_fifo\.o_events', cycle \d+: valid "
                       r"fell before the event was taken")),
    (_MisaddressingFIFO, 2, (r"protocol error: stream 'out_fifo\.o_events', cycle \d+: "
                            r"address 1[0-5] out of range \(the stream carries 10 addresses\)")),
    # Nothing moves for a whole timestep's worth of work (10x over): the run ends there
    # instead of at the much larger total bound.
    (_StuckFIFO, 4, (r"the design stopped moving: no event crossed any stream for \d+ cycles "
                    r"\(stalled or lost a tick\): stream '.*', cycle \d+: \d+ ticks "
                    r"crossed, 32 expected .*; see .*sim\.log")),
], ids=["valid-falls", "address-out-of-range", "stops-moving"])
def test_a_broken_design_is_one_error_naming_stream_and_cycle(engine, fifo, samples, message,
                                                              build_dir, monkeypatch):
    monkeypatch.setattr(network, "EventFIFO", fifo)
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=samples, seed=SEED)
    with pytest.raises(SimError, match=message) as err:
        run_rtl(model, x, engine=engine, build_dir=build_dir, stall_out=0.5)
    if message.startswith("protocol error"):
        assert str(err.value).endswith(f"(verilator, {engine} bench)")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hung_design_is_one_error_naming_the_log(engine, build_dir):
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=1, seed=SEED)
    with pytest.raises(SimError, match=r"did not finish within 50 cycles \(stalled or lost "
                                       r"a tick\): stream '.*', cycle \d+: 0 ticks crossed"
                                       r".*sim\.log"):
        run_rtl(model, x, engine=engine, build_dir=build_dir, max_cycles=50)
