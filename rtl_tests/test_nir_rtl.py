"""Imported NIR graphs in RTL: the NIR paper's LIF example (4/4 spikes at the exact solution's
steps, bit-exact against golden) and a multi-layer integer graph."""

import nir
import numpy as np
import pytest
from conftest import ROOT, SEED, assert_bit_exact, simulators

from hwgen.network import GenerateOptions
from hwgen.nir_import import import_nir

PAPER = ROOT / "examples" / "nir-paper-lif"
EXACT_STEPS = [460, 510, 710, 760]


def test_nir_paper_lif_hits_all_four_spikes(build_dir):
    result = import_nir(PAPER / "lif_norse.nir", timesteps=1000, weight_bits=8)
    x = np.loadtxt(PAPER / "lif_exact.csv", delimiter=",")[:, 0].astype(np.int64)[None, :, None]
    expected, info = assert_bit_exact(result.model, x, "verilator", build_dir)
    assert np.flatnonzero(info["out_spikes"][0, :, 0]).tolist() == EXACT_STEPS


@pytest.mark.parametrize("sim", simulators())
def test_imported_integer_graph_with_skip_connection(sim, build_dir):
    rng = np.random.default_rng(SEED)
    w1 = rng.integers(-3, 5, size=(6, 5)).astype(float)
    w2 = rng.integers(-3, 5, size=(4, 6)).astype(float)
    skip = rng.integers(-2, 3, size=(4, 5)).astype(float)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([5])),
               "fc1": nir.Affine(weight=w1, bias=np.ones(6)),
               "lif1": nir.LIF(tau=np.full(6, 1e-4), r=np.ones(6), v_leak=np.zeros(6),
                               v_threshold=np.full(6, 2.0), v_reset=np.zeros(6)),
               "fc2": nir.Linear(weight=w2), "skip": nir.Linear(weight=skip),
               "if2": nir.IF(r=np.ones(4), v_threshold=np.full(4, 3.0),
                             v_reset=np.full(4, -1.0)),
               "out": nir.Output(output_type=np.array([4]))},
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "if2"),
               ("in", "skip"), ("skip", "if2"), ("if2", "out")])
    result = import_nir(graph, timesteps=10)
    assert result.exact
    x = rng.integers(0, 2, size=(2, 10, 5))
    assert_bit_exact(result.model, x, sim, build_dir, GenerateOptions(lanes=2))


def test_imported_integer_cnn(build_dir):
    """Conv2d -> IF -> SumPool2d -> Conv2d -> IF -> Flatten -> Affine -> IF, integer-valued:
    imported unchanged, the RTL (conv cores, sum pooling, a dense core) bit-exact."""
    rng = np.random.default_rng(SEED)

    def conv(c_out, c_in, k, stride=1, padding=0):
        return nir.Conv2d(input_shape=None, weight=rng.integers(-1, 3, size=(c_out, c_in, k, k))
                          .astype(float), stride=stride, padding=padding, dilation=1, groups=1,
                          bias=rng.integers(-1, 2, size=c_out).astype(float))

    def if_node(shape, threshold):
        return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, float(threshold)),
                      v_reset=np.zeros(shape))

    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2, 6, 6])),
               "conv1": conv(3, 2, 3, padding=1), "if1": if_node((3, 6, 6), 1),
               "pool1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                      padding=np.array([0, 0])),
               "conv2": conv(4, 3, 2), "if2": if_node((4, 2, 2), 1),
               "flat": nir.Flatten(input_type=None, start_dim=0),
               "fc": nir.Affine(weight=rng.integers(-1, 3, size=(5, 16)).astype(float),
                                bias=np.zeros(5)),
               "if3": if_node((5,), 1), "out": nir.Output(output_type=None)},
        edges=[("in", "conv1"), ("conv1", "if1"), ("if1", "pool1"), ("pool1", "conv2"),
               ("conv2", "if2"), ("if2", "flat"), ("flat", "fc"), ("fc", "if3"),
               ("if3", "out")])
    result = import_nir(graph, timesteps=8)
    assert result.exact
    assert [layer.type for layer in result.model.layers] == ["conv2d", "sumpool2d", "conv2d",
                                                            "dense"]
    x = (rng.random((2, 8, 72)) < 0.3).astype(np.int64)
    expected, _ = assert_bit_exact(result.model, x, "verilator", build_dir)
    assert expected["if3"].sum() > 0
