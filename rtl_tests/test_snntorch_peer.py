"""Peer check: a network built in snnTorch, exported to NIR and imported by hwgen gives
exactly snnTorch's own output spikes, in golden and in RTL.

snnTorch is an optional extra (``pip install -e .[peer]``, it pulls PyTorch); without it
this test is skipped. The network is chosen so that snnTorch's float32 arithmetic is
exact: integer weights and thresholds, ``reset_mechanism="zero"`` with ``reset_delay=False``
(NIR's reset to v_reset = 0 in the same step), a first layer with beta = 0.5 whose weights
are multiples of 2^T (so halving stays integral for T steps) and a memoryless (beta = 0)
output layer with a bias.
"""

import numpy as np
import pytest
from conftest import SEED, assert_bit_exact

import golden
from hwgen.network import GenerateOptions
from hwgen.nir_import import import_nir

torch = pytest.importorskip("torch", reason="the snnTorch peer check needs torch (extra 'peer')")
snn = pytest.importorskip("snntorch", reason="the snnTorch peer check needs snntorch "
                          "(pip install -e .[peer])")

T, N_IN, N_HID, N_OUT = 8, 6, 8, 4


def snntorch_network(rng):
    def leaky(size, beta, threshold, output=False):
        return snn.Leaky(beta=torch.full((size,), beta), threshold=torch.full((size,), threshold),
                         reset_mechanism="zero", reset_delay=False, init_hidden=True,
                         output=output)
    net = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HID, bias=False), leaky(N_HID, 0.5, 300.0),
                              torch.nn.Linear(N_HID, N_OUT), leaky(N_OUT, 0.0, 2.0, output=True))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(rng.integers(-2, 5, (N_HID, N_IN)) * 2.0 ** T))
        net[2].weight.copy_(torch.tensor(rng.integers(-2, 4, (N_OUT, N_HID)) * 1.0))
        net[2].bias.copy_(torch.tensor(rng.integers(-1, 2, N_OUT) * 1.0))
    return net


def snntorch_spikes(net, x):
    """Output spikes [N, T, N_OUT] of snnTorch itself."""
    from snntorch import utils
    utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            spk, _ = net(torch.tensor(x[:, t], dtype=torch.float32))
            out.append(spk.numpy())
    return np.stack(out, axis=1).astype(np.int64)


def test_snntorch_export_matches_in_golden_and_rtl(build_dir):
    from snntorch.export_nir import export_to_nir
    rng = np.random.default_rng(SEED)
    net = snntorch_network(rng)
    graph = export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])
    result = import_nir(graph, timesteps=T, weight_bits=12, name="peer")
    x = rng.integers(0, 2, size=(6, T, N_IN))
    expected = snntorch_spikes(net, x)
    assert expected.sum() > 0, "the test network should spike"
    np.testing.assert_array_equal(golden.run(result.model, x)[result.model.output], expected)
    _, info = assert_bit_exact(result.model, x, "verilator", build_dir, GenerateOptions(lanes=2))
    np.testing.assert_array_equal(info["out_spikes"], expected)
