"""The NIR paper's single-LIF example: hwgen's golden model spikes at the exact solution's steps.

The RTL half of this check is rtl_tests/test_nir_rtl.py; the full comparison with every
platform is docs/nir-paper-lif.md (scripts/nir_paper_lif.py).
"""

from pathlib import Path

import numpy as np
import pytest

import golden
from hwgen.nir_import import NirImportError, import_nir

DATA = Path(__file__).resolve().parent.parent / "examples" / "nir-paper-lif"
EXACT_STEPS = [460, 510, 710, 760]


def recorded_input():
    return np.loadtxt(DATA / "lif_exact.csv", delimiter=",")[:, 0].astype(np.int64)[:, None]


def test_exact_solution_file_has_the_four_spikes():
    spikes = np.loadtxt(DATA / "lif_exact.csv", delimiter=",")[:, 2]
    assert np.flatnonzero(spikes).tolist() == EXACT_STEPS


@pytest.mark.parametrize("weight_bits", [8, 12, 16])
def test_golden_hits_all_four_spikes(weight_bits):
    result = import_nir(DATA / "lif_norse.nir", timesteps=1000, weight_bits=weight_bits)
    spikes = golden.run(result.model, recorded_input())[result.model.output][:, 0]
    assert np.flatnonzero(spikes).tolist() == EXACT_STEPS


def test_the_mapping_at_8_bits():
    result = import_nir(DATA / "lif_norse.nir", timesteps=1000, weight_bits=8)
    layer = result.model.layers[0]
    assert layer.weights.tolist() == [[127]]               # 0.04 V per input spike * 3175
    assert layer.neuron.threshold == 318                   # v > 0.1 V: u > 317.5
    assert (layer.neuron.leak_decay, layer.neuron.leak_frac_bits) == (62915, 16)  # 0.96
    assert not result.exact


def test_rockpool_export_is_read_without_nirs_type_check():
    """nir 1.0.8's type inference refuses Rockpool's export ([1] neuron, [1, 1, 1] Output);
    hwgen reads it without, says so, and imports its (Rockpool's own) LIF."""
    result = import_nir(DATA / "lif_rockpool.nir", timesteps=1000)
    assert "nir's own type check refused the graph" in result.report["notes"][0]
    assert [layer.size for layer in result.model.layers] == [1]


def test_an_unreadable_file_is_refused_clearly(tmp_path):
    (tmp_path / "broken.nir").write_bytes(b"not hdf5")
    with pytest.raises(NirImportError, match=r"broken.nir: not a readable NIR graph"):
        import_nir(tmp_path / "broken.nir", timesteps=10)
