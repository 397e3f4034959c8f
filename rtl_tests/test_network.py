"""Whole networks: chains, concatenated inputs, fan-out, and random models drawn by
hypothesis, every layer bit-exact against golden under random stalls."""

import pytest
from conftest import ROOT, SEED, assert_bit_exact, build_dir_for, simulators
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import models

from hwgen.inputs import random_inputs
from hwgen.model import load_model
from hwgen.network import GenerateOptions

EXAMPLE = ROOT / "examples" / "synthetic" / "synthetic.yaml"


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("lanes,burst", [(1, False), (4, True)])
def test_example_model(sim, lanes, burst, build_dir):
    model = load_model(EXAMPLE)
    x = random_inputs(model, samples=2, seed=SEED)
    assert_bit_exact(model, x, sim, build_dir, GenerateOptions(lanes=lanes, burst=burst))


def _random_model_test(sim, examples):
    @seed(SEED)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(model=models(), lanes=st.integers(1, 4), burst=st.booleans(),
           fifo=st.sampled_from([0, 2, 16]), stall=st.sampled_from([0.0, 0.3, 0.7]),
           data_seed=st.integers(0, 2**16))
    def check(request, model, lanes, burst, fifo, stall, data_seed):
        x = random_inputs(model, samples=2, seed=data_seed, density=0.6)
        assert_bit_exact(model, x, sim, build_dir_for(request) / "case",
                         GenerateOptions(lanes=lanes, burst=burst, fifo_depth=fifo),
                         seed=data_seed, stall_in=stall, stall_out=stall)
    return check


def test_random_models_verilator(request):
    _random_model_test("verilator", 10)(request)


@pytest.mark.skipif(simulators()[1].marks[0].args[0], reason="Icarus is not installed")
def test_random_models_icarus(request):
    _random_model_test("icarus", 25)(request)
