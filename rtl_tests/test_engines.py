"""The fast engine (a compiled C++ bench) against the cocotb reference bench: the same
spikes for every layer, the same protocol errors, waveforms from both, and designs of the
sizes users have."""

import shutil

import numpy as np
import pytest
from conftest import ROOT, SEED, assert_bit_exact, build_dir_for
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import dense_mlp, models

from hwgen.inputs import random_inputs
from hwgen.model import load_model
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import SimError, run_rtl

EXAMPLE = ROOT / "examples" / "synthetic" / "synthetic.yaml"


def assert_engines_agree(model, x, build_dir, options=None, **kw):
    """Both engines bit-exact against golden, so equal to each other, on every layer."""
    fast, fast_info = assert_bit_exact(model, x, "verilator", build_dir / "fast", options,
                                       engine="fast", **kw)
    _, ref_info = assert_bit_exact(model, x, "verilator", build_dir / "cocotb", options,
                                   engine="cocotb", **kw)
    for name, spikes in fast_info["spikes"].items():
        assert np.array_equal(spikes, ref_info["spikes"][name]), name
    assert np.array_equal(fast_info["out_spikes"], ref_info["out_spikes"])
    return fast, fast_info, ref_info


def test_engines_agree_on_the_example(build_dir):
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=3, seed=SEED)
    _, fast, ref = assert_engines_agree(model, x, build_dir, GenerateOptions(lanes=2),
                                        junk=0.3)
    # Same words in, random stalls of their own: both runs take about as long.
    assert 0.5 < fast["cycles"] / ref["cycles"] < 2


def test_engines_agree_without_stalls_cycle_for_cycle(build_dir):
    """With no stalls the benches drive the same words on the same cycles: every layer's
    ticks cross on the same cycle in both."""
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=2, seed=SEED)
    _, fast, ref = assert_engines_agree(model, x, build_dir, stall_in=0.0, stall_out=0.0)
    assert fast["cycles"] == ref["cycles"]
    assert np.array_equal(fast["in_tick_cycles"], ref["in_tick_cycles"])
    for name, ticks in fast["tick_cycles"].items():
        assert np.array_equal(ticks, ref["tick_cycles"][name]), name


@seed(SEED)
@settings(max_examples=3, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(model=models(), lanes=st.integers(1, 4), burst=st.booleans(),
       data_seed=st.integers(0, 2**16))
def test_engines_agree_on_random_models(request, model, lanes, burst, data_seed):
    x = random_inputs(model, samples=2, seed=data_seed, density=0.6)
    assert_engines_agree(model, x, build_dir_for(request) / "case",
                         GenerateOptions(lanes=lanes, burst=burst), seed=data_seed)


@pytest.mark.parametrize("engine", ["fast", "cocotb"])
def test_784_128_10_builds_and_is_bit_exact(engine, build_dir):
    """The most common benchmark shape: Verilator splits its C++ into many files (the
    precompiled-header repair of hwgen.tools) and both benches run it."""
    model = dense_mlp((784, 128, 10), seed=SEED)
    x = random_inputs(model, samples=2, seed=SEED, density=0.2)
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir,
                                   GenerateOptions(lanes=4), engine=engine)
    assert expected["l0"].sum() > 0 and expected["l1"].sum() > 0


def test_largest_layers_of_the_random_models(build_dir):
    """The upper end of the random models' sizes: 1,024 inputs into 256 neurons."""
    model = dense_mlp((1024, 256, 10), seed=SEED)
    x = random_inputs(model, samples=2, seed=SEED, density=0.2)
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir, GenerateOptions(lanes=4))
    assert expected["l0"].sum() > 0


@pytest.mark.parametrize("sim,engine", [("verilator", "fast"), ("verilator", "cocotb"),
                                        ("icarus", "cocotb")])
def test_waves_are_recorded(sim, engine, build_dir):
    if sim == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) is not installed")
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=1, seed=SEED)
    waves = build_dir / "run.fst"
    waves.unlink(missing_ok=True)
    run_rtl(model, x, sim=sim, engine=engine, build_dir=build_dir, waves=waves)
    # An FST file starts with its header block (type 0) and holds the whole run.
    data = waves.read_bytes()
    assert data[0] == 0 and len(data) > 1000


@pytest.mark.parametrize("engine", ["fast", "cocotb"])
def test_progress_counts_the_inferences(engine, build_dir):
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=3, seed=SEED)
    calls = []
    run_rtl(model, x, engine=engine, build_dir=build_dir, progress=calls.append)
    assert calls[0] == 0 and calls[-1] == 3 and calls == sorted(calls)


@pytest.mark.parametrize("engine,phrase", [
    ("fast", (r"the verilator simulation of 'synthetic' stopped early: hwgen harness: no "
             r"scope 'TOP\.synthetic\.nosuch' in the design; see .*sim\.log")),
    ("cocotb", (r"1 of 1 verilator test\(s\) of 'synthetic' failed \(cosim: .*\); see "
               r".*sim\.log")),
], ids=["fast", "cocotb"])
def test_a_bench_that_fails_to_run_is_one_error_naming_the_log(engine, phrase, build_dir,
                                                               monkeypatch):
    """A stream the design does not have: the bench cannot start; one SimError line."""
    from hwgen.graph import NetworkGraph, Stream
    streams = NetworkGraph.streams
    monkeypatch.setattr(NetworkGraph, "streams",
                        lambda self: [*streams(self), Stream("nosuch.o_events", 4, 1)])
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=1, seed=SEED)
    with pytest.raises(SimError, match=phrase):
        run_rtl(model, x, engine=engine, build_dir=build_dir)
