"""Shared fixtures of the co-simulation tests.

``HWGEN_SEED`` (default 0) reproduces every random case: models drawn by hypothesis,
input values, event order and stall patterns.
"""

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.compare import describe_mismatch, first_mismatch
from hwgen.sim.cosim import run_rtl

sys.path.insert(0, str(Path(__file__).parent))

SEED = int(os.environ.get("HWGEN_SEED", "0"))
ROOT = Path(__file__).resolve().parent.parent


def simulators():
    """Verilator always; Icarus where it is installed (else a skip with the reason)."""
    return [
        "verilator",
        pytest.param("icarus", marks=pytest.mark.skipif(
            shutil.which("iverilog") is None,
            reason="Icarus Verilog (iverilog) is not installed")),
    ]


def build_dir_for(request):
    """One build folder per test case: sim_build/<test id>/."""
    name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    return ROOT / "sim_build" / name[:120]


def assert_bit_exact(model, x, sim, build_dir, options=None, seed=SEED, **kw):
    """Run golden and RTL on ``x`` ([N, T, size]); fail naming the first difference.
    ``kw`` goes to :func:`run_rtl` (``engine``, stalls, ``junk``)."""
    expected = golden.run(model, x)
    actual, info = run_rtl(model, x, sim=sim, options=options, build_dir=build_dir,
                           seed=seed, **kw)
    mismatch = first_mismatch(model, expected, actual)
    assert mismatch is None, describe_mismatch(mismatch, "golden", sim)
    # The top's output stream carries the output layer's spikes too.
    assert np.array_equal(info["out_spikes"], expected[model.output])
    return expected, {**info, "spikes": actual}


@pytest.fixture
def build_dir(request):
    return build_dir_for(request)
