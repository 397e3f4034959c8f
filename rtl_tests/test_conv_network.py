"""Convolutional networks in generated designs: conv2d, sumpool2d and flatten layers with
dense layers after them, co-simulated under Verilator and Icarus against golden, every
layer's spikes bit-exact, point to point and on a router fabric; random CNNs drawn from
a seed, and one of the NIR paper CNN's shape at full size (2x34x34, 8,970 neurons)."""

import numpy as np
import pytest
from conftest import SEED, assert_bit_exact, build_dir_for, simulators
from random_models import conv_net, nir_paper_cnn

from hwgen.network import GenerateOptions


def binary_inputs(model, count, density, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((count, model.timesteps, model.input_size)) < density).astype(np.int64)


@pytest.mark.parametrize("sim", simulators())
def test_small_cnn(sim, build_dir):
    """conv (SSC) -> pool -> conv (stride 2) -> flatten -> dense, graded first layer."""
    model = conv_net((2, 7, 6), [(3, 3, 1, 1), (4, 2, 2, 0)], pools=[(2, 1), None],
                     dense=(5,), sparse=True, input_max=3, seed=SEED)
    x = np.random.default_rng(SEED).integers(0, 4, (3, model.timesteps, model.input_size))
    assert_bit_exact(model, x, sim, build_dir, options=GenerateOptions(lanes=2))


def random_cnn(seed):
    """A random CNN: 1-2 conv layers of random windows (each fitting the map before it),
    sum pooling or not, flatten or a dense layer reading the map, SSC or not."""
    rng = np.random.default_rng(seed)
    in_shape = (int(rng.integers(1, 4)), int(rng.integers(4, 10)), int(rng.integers(4, 10)))
    _, h, w = in_shape
    convs, pools = [], []
    for _ in range(int(rng.integers(1, 3))):
        k = int(rng.integers(1, min(3, h, w) + 1))
        stride, pad = int(rng.integers(1, 3)), int(rng.integers(0, k))
        convs.append((int(rng.integers(1, 6)), k, stride, pad))
        h, w = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        pool = (2, int(rng.integers(1, 3))) if min(h, w) >= 2 and rng.random() < 0.5 else None
        pools.append(pool)
        if pool is not None:
            h, w = (h - 2) // pool[1] + 1, (w - 2) // pool[1] + 1
    return conv_net(in_shape, convs, pools=pools, dense=(int(rng.integers(2, 8)),),
                    sparse=bool(rng.random() < 0.5), flatten=bool(rng.random() < 0.5),
                    input_max=int(rng.choice([1, 2])), seed=seed,
                    timesteps=int(rng.integers(1, 4)))


@pytest.mark.parametrize("case", range(6))
def test_random_cnns(case, request):
    seed = SEED * 100 + case
    model = random_cnn(seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, model.input_max + 1, (3, model.timesteps, model.input_size))
    options = GenerateOptions(lanes=int(rng.choice([1, 2, 3, 4])), burst=bool(case % 2),
                              fifo_depth=int(rng.choice([0, 4])))
    assert_bit_exact(model, x, "verilator", build_dir_for(request), options=options)


@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
def test_cnn_on_a_router_fabric(topology, request):
    """The conv core, the pooling block and the flatten stage each on a router port; the
    dense layer split over two cores."""
    model = conv_net((2, 6, 6), [(4, 3, 1, 1)], pools=[(2, 2)], dense=(6, 3), seed=SEED)
    x = binary_inputs(model, 3, 0.3, SEED)
    options = GenerateOptions(lanes=2, topology=topology, splits={"fc0": 2})
    assert_bit_exact(model, x, "verilator", build_dir_for(request), options=options)


def test_nir_paper_cnn_at_full_size(build_dir):
    """The NIR paper CNN's shape (2x34x34 -> 16-16-8 channels -> 256 -> 10), 4 lanes,
    random input events at 10% density."""
    model = nir_paper_cnn(seed=SEED, timesteps=3)
    x = binary_inputs(model, 2, 0.1, SEED)
    expected, _ = assert_bit_exact(model, x, "verilator", build_dir,
                                   options=GenerateOptions(lanes=4))
    assert expected["conv2"].sum() > 0, "the test should reach the deep layers"
