"""Whole networks on a router fabric (crossbar and mesh), layers split over cores: every
layer bit-exact against golden under random stalls; random graphs (fan-out, merge, skip
connections) and random splits drawn from a seed; a wide layer at the size users have;
and the deadlock the mesh's timestep gate prevents."""

import numpy as np
import pytest
from conftest import ROOT, SEED, assert_bit_exact, build_dir_for, simulators
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import dense_mlp, models

from hwgen.fabric import FabricPlan
from hwgen.graph import NetworkGraph
from hwgen.inputs import random_inputs
from hwgen.model import load_model, model_from_dict
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import SimError, run_rtl


@st.composite
def fabric_options(draw, model, topology):
    """A random split of ``model``'s layers (1 .. 4 cores each) on ``topology``."""
    splits = {layer.name: draw(st.integers(1, min(4, layer.size))) for layer in model.layers}
    return GenerateOptions(topology=topology, splits=splits,
                           lanes=draw(st.integers(1, 3)), burst=draw(st.booleans()),
                           fifo_depth=draw(st.sampled_from([0, 2, 16])),
                           link_depth=draw(st.sampled_from([2, 3])))


def _random_fabric_test(topology, examples, bucket, **sizes):
    @seed(SEED * 1000 + 300 + bucket)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data(), model=models(max_layers=4, **sizes),
           stall=st.sampled_from([0.0, 0.3, 0.7]), data_seed=st.integers(0, 2**16))
    def check(request, data, model, stall, data_seed):
        options = data.draw(fabric_options(model, topology))
        x = random_inputs(model, samples=2, seed=data_seed, density=0.6)
        assert_bit_exact(model, x, "verilator", build_dir_for(request) / "case", options,
                         seed=data_seed, stall_in=stall, stall_out=stall)
    return check


# Random graphs of up to 4 layers (list inputs make merges and skip connections, a layer
# read twice a fan-out), split at random, on both topologies.
@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
@pytest.mark.parametrize("bucket", range(2))
def test_random_split_networks(request, topology, bucket):
    _random_fabric_test(topology, 4, bucket + (10 if topology == "mesh" else 0))(request)


@pytest.mark.parametrize("topology,cores", [("crossbar", 8), ("mesh", 4)])
def test_wide_layer_split_at_real_size(topology, cores, build_dir):
    """784 -> 128 -> 10, the first layer over several cores: bit-exact."""
    model = dense_mlp([784, 128, 10], timesteps=2, seed=SEED)
    x = random_inputs(model, samples=2, seed=SEED, density=0.2)
    assert_bit_exact(model, x, "verilator", build_dir,
                     GenerateOptions(topology=topology, splits={"l0": cores}))


def _deadlock_model():
    """b runs a timestep ahead of a (a waits for the slow z), and c reads both: on the
    mesh (3 wide: z, y on row 0; a, b, c on row 1) a's and b's packets to c share the link
    b -> c. Without the gate, b's packet of t + 1 waits at c's delivery port for a's tick
    of t, which is behind it on that link."""
    rng = np.random.default_rng(SEED)

    def layer(name, size, fan_in, inputs, threshold):
        return {"name": name, "type": "dense", "size": size, "input": inputs,
                "weight_bits": 5, "weights": rng.integers(-4, 16, (size, fan_in)).tolist(),
                "neuron": {"model": "if", "reset": "soft", "v_bits": 12,
                           "threshold": threshold}}
    return model_from_dict({
        "format": "hwgen-model/1", "name": "deadlock", "timesteps": 8,
        "input": {"size": 16, "max_value": 1},
        "layers": [layer("z", 64, 16, "input", 12), layer("y", 2, 16, "input", 12),
                   layer("a", 32, 64, "z", 30), layer("b", 4, 16, "input", 4),
                   layer("c", 8, 36, ["a", "b"], 30), layer("d", 4, 8, "c", 10)],
        "output": "d"})


def test_mesh_without_timestep_gate_deadlocks(build_dir):
    model = _deadlock_model()
    # The default FIFOs (16 after each core, 2 per link): deadlocks for every seed tried
    # (0 .. 4); with 2-entry core FIFOs b's events are held back enough that it may not.
    options = GenerateOptions(topology="mesh", lanes=8, barrier=False)
    tiles = FabricPlan(NetworkGraph(model, options), "mesh").tile
    assert [tiles[name] for name in ("a", "b", "c")] == [(0, 1), (1, 1), (2, 1)]
    x = random_inputs(model, samples=2, seed=SEED, density=0.8)
    with pytest.raises(SimError, match="stopped moving"):
        run_rtl(model, x, options=options, build_dir=build_dir / "no-gate", stall_in=0,
                stall_out=0)


@pytest.mark.parametrize("topology", ["mesh", "crossbar"])
def test_the_deadlock_case_passes_with_the_gate_and_on_the_crossbar(topology, build_dir):
    model = _deadlock_model()
    x = random_inputs(model, samples=2, seed=SEED, density=0.8)
    assert_bit_exact(model, x, "verilator", build_dir,
                     GenerateOptions(topology=topology, lanes=8),
                     stall_in=0, stall_out=0)


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
def test_example_split_on_both_simulators(sim, topology, build_dir):
    """The synthetic example in cores of at most 8 neurons: the generated fabric is plain
    Verilog that both simulators run (the cocotb bench on Icarus), bit-exact."""
    model = load_model(ROOT / "examples" / "synthetic" / "synthetic.yaml")
    x = random_inputs(model, samples=2, seed=SEED)
    assert_bit_exact(model, x, sim, build_dir,
                     GenerateOptions(topology=topology, max_neurons_per_core=8))
