"""Attention layers inside generated networks: input -> Q, K, V projections -> attention
-> a dense layer, co-simulated under Verilator and Icarus against golden, every layer's
spikes bit-exact, point to point (Q, K and V meet in a merge) and on a router fabric
(they arrive at the unit's delivery port); random attention networks drawn from a seed."""

import numpy as np
import pytest
from conftest import ROOT, SEED, assert_bit_exact, build_dir_for, simulators
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import neurons

import golden
from hwgen.inputs import random_inputs
from hwgen.model import load_model, model_from_dict
from hwgen.network import GenerateOptions


def attention_network(variant, tokens, dim, heads, *, seed=0, size=10, neuron=None,
                      head_out=6, timesteps=3):
    """input (bits) -> q, k, v (binary dense, random 0/1 weights) -> attention -> dense."""
    rng = np.random.default_rng(seed)
    td = tokens * dim
    layers = [{"name": role, "type": "dense", "input": "input", "size": td,
               "weights": rng.integers(-1, 2, (td, size)).tolist(), "weight_bits": 2,
               "neuron": {"model": "lif", "leak": {"shift": 1}, "threshold": 2,
                          "reset": "soft", "v_bits": 6}} for role in ("q", "k", "v")]
    layers.append({"name": "att", "type": "attention", "variant": variant, "tokens": tokens,
                   "dim": dim, "heads": heads, "q": "q", "k": "k", "v": "v",
                   "neuron": neuron or {"model": "if", "threshold": 2, "reset": "soft",
                                        "v_bits": 10, "max_spikes": 2}})
    layers.append({"name": "head", "type": "dense", "input": "att", "size": head_out,
                   "weights": rng.integers(-8, 8, (head_out, td)).tolist(), "weight_bits": 5,
                   "neuron": {"model": "if", "threshold": 6, "reset": "soft", "v_bits": 12,
                              "max_spikes": 3}})
    return model_from_dict({"format": "hwgen-model/1", "name": f"att_{variant}",
                            "timesteps": timesteps,
                            "input": {"size": size, "max_value": 1}, "layers": layers,
                            "output": "head"})


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_attention_network_bit_exact(variant, sim, build_dir):
    model = attention_network(variant, 4, 8, 2, seed=SEED)
    x = random_inputs(model, samples=3, seed=SEED, density=0.5)
    assert_bit_exact(model, x, sim, build_dir, GenerateOptions(lanes=2), junk=0.1)


@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_attention_on_a_fabric(variant, topology, build_dir):
    """Q, K and V reach the unit through routers; the projections split over cores."""
    model = attention_network(variant, 3, 6, 3, seed=SEED)
    x = random_inputs(model, samples=2, seed=SEED, density=0.5)
    options = GenerateOptions(topology=topology, splits={"q": 2, "k": 3, "head": 2},
                              burst=True)
    assert_bit_exact(model, x, "verilator", build_dir, options)


@seed(SEED * 1000 + 600)
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(variant=st.sampled_from(["hadamard", "linear"]), tokens=st.integers(1, 5),
       heads=st.integers(1, 3), head_dim=st.integers(1, 4), neuron=neurons(),
       lanes=st.sampled_from([1, 2, 4]), burst=st.booleans(),
       stall=st.sampled_from([0.0, 0.3, 0.7]), data_seed=st.integers(0, 2**16))
def test_random_attention_networks(request, variant, tokens, heads, head_dim, neuron, lanes,
                                   burst, stall, data_seed):
    model = attention_network(variant, tokens, heads * head_dim, heads, seed=data_seed,
                              neuron=neuron)
    x = random_inputs(model, samples=2, seed=data_seed, density=0.5)
    assert_bit_exact(model, x, "verilator", build_dir_for(request) / "case",
                     GenerateOptions(lanes=lanes, burst=burst), seed=data_seed,
                     stall_in=stall, stall_out=stall)


@pytest.mark.parametrize("variant", ["hadamard", "linear"])
def test_trained_transformer_on_the_whole_test_split(variant, build_dir):
    """The committed spiking transformer (examples/transformer/) on all 360 test images:
    every spike of every layer equals golden, so RTL accuracy = golden accuracy."""
    model = load_model(ROOT / "examples" / "transformer" / f"transformer_{variant}.yaml")
    split = np.load(ROOT / "examples" / "transformer" / "test_split.npz")
    n = len(split["labels"])
    x = np.broadcast_to(split["inputs"][:, None, :].astype(np.int64),
                        (n, model.timesteps, model.input_size))
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir, GenerateOptions(lanes=4),
                                   stall_in=0.1, stall_out=0.1)
    assert np.mean(golden.predict(model, expected) == split["labels"]) >= 0.9
