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
