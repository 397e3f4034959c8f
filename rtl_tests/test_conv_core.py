"""The conv core and the sum-pooling block alone (Amaranth's simulator, :mod:`core_bench`):
bit-exact against the golden step for many shapes, kernels, strides, paddings, channel
counts, lanes, neuron types, SSC, graded inputs split over several events, bursts, under
random stalls with junk addresses; cycles per timestep equal the cycle model exactly."""

import random

import numpy as np
import pytest
from conftest import SEED
from core_bench import golden_unit, run_core, shuffled_events
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from random_models import neurons

from hwgen.core.conv_core import ConvCore, conv_cycle_model
from hwgen.core.sum_pool import SumPool
from hwgen.model import model_from_dict

IF_SOFT = {"model": "if", "threshold": 3, "reset": "soft", "v_bits": 10}
LIF_GRADED = {"model": "lif", "leak": {"shift": 2}, "threshold": 4, "reset": "soft",
              "v_bits": 10, "max_spikes": 3}
HARD = {"model": "if", "threshold": 5, "reset": "hard", "v_bits": 8, "v_reset": -1}


def feature_layers(in_shape, *, out_channels=None, kernel=3, stride=None, padding=0,
                   neuron=None, sparse=False, input_max=1, bias=True, seed=0, pool=False):
    """A conv2d (or, with ``pool``, a sumpool2d) layer reading an input map of
    ``in_shape``, loaded through the model-file checks."""
    rng = np.random.default_rng(seed)
    c = in_shape[0]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    fields = {"name": "l", "kernel": kernel, "padding": padding}
    if stride is not None:
        fields["stride"] = stride
    if pool:
        fields["type"] = "sumpool2d"
    else:
        fields.update(type="conv2d", out_channels=out_channels, weight_bits=5,
                      weights=rng.integers(-16, 16, (out_channels, c, kh, kw)),
                      neuron=neuron or IF_SOFT, sparse=sparse)
        if bias:
            fields["bias"] = rng.integers(-3, 4, out_channels)
    model = model_from_dict({
        "format": "hwgen-model/1", "name": "m", "timesteps": 1,
        "input": {"size": int(np.prod(in_shape)), "max_value": input_max,
                  "shape": list(in_shape)},
        "layers": [fields], "output": "l"})
    return model.layers[0]


def input_spikes(layer, steps, density, input_max, rng):
    fan_in = int(np.prod(layer.window.in_shape))
    x = rng.integers(1, input_max + 1, (steps, fan_in))
    return np.where(rng.random((steps, fan_in)) < density, x, 0)


def stimulus(x, event_max, *, junk, addr_max, seed):
    """Per timestep the events of ``x``: an axon's value split into events of at most
    ``event_max`` (as a sum-pooling or burst source sends it)."""
    rng = random.Random(seed)
    out = []
    for row in x:
        events = []
        for a in np.flatnonzero(row):
            v = int(row[a])
            while v:
                part = rng.randint(1, min(v, event_max))
                events.append((int(a), part))
                v -= part
        out.append(shuffled_events(events, fan_in=len(row), addr_max=addr_max, junk=junk,
                                   rng=rng))
    return out


def run_conv(layer, x, *, input_max, event_max, lanes=1, burst=False, stall=0.0, seed=0,
             junk=0):
    core = ConvCore(layer, input_max=input_max, timesteps=len(x), lanes=lanes, burst=burst,
                    event_max=event_max)
    addr_max = (1 << len(core.i_events.p.addr)) - 1
    stim = stimulus(x, event_max, junk=junk, addr_max=addr_max, seed=seed)
    out, cycles = run_core(core, stim, layer.size, stall_in=stall, stall_out=stall,
                           seed=seed, max_cycles=200_000)
    return out, cycles, stim


def run_pool(layer, x, *, event_max, stall=0.0, seed=0, junk=0):
    core = SumPool(layer.window, event_max=event_max)
    addr_max = (1 << len(core.i_events.p.addr)) - 1
    stim = stimulus(x, event_max, junk=junk, addr_max=addr_max, seed=seed)
    out, cycles = run_core(core, stim, layer.size, stall_in=stall, stall_out=stall,
                           seed=seed)
    return out, cycles, stim


# (in_shape, out_channels, kernel, stride, padding, lanes, neuron, sparse, input_max, burst)
CASES = {
    "3x3_p1_lanes4": ((2, 6, 5), 4, 3, 1, 1, 4, IF_SOFT, False, 1, False),
    "5x5_s2_p1_nir_first_layer": ((2, 9, 9), 6, 5, 2, 1, 4, IF_SOFT, False, 1, False),
    "1x1_graded": ((3, 4, 4), 5, 1, 1, 0, 2, LIF_GRADED, False, 3, False),
    "3x2_s_2x1_graded_burst": ((1, 7, 6), 3, [3, 2], [2, 1], [1, 0], 1, LIF_GRADED, False, 2,
                               True),
    "ssc_3x3": ((2, 6, 6), 4, 3, 1, 1, 2, IF_SOFT, True, 1, False),
    "ssc_even_kernel_stride2": ((2, 7, 7), 3, 2, 2, 1, 1, HARD, True, 2, False),
    "lanes_not_dividing": ((1, 5, 5), 5, 3, 1, 1, 3, IF_SOFT, False, 1, False),
    "kernel_equals_input": ((2, 3, 3), 2, 3, 1, 0, 1, HARD, False, 1, False),
    "one_position_one_channel": ((1, 1, 1), 1, 1, 1, 0, 1, IF_SOFT, True, 1, False),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_conv_core_bit_exact(case, stall):
    in_shape, co, kernel, stride, padding, lanes, neuron, sparse, imax, burst = CASES[case]
    layer = feature_layers(in_shape, out_channels=co, kernel=kernel, stride=stride,
                           padding=padding, neuron=neuron, sparse=sparse, input_max=imax,
                           seed=SEED)
    x = input_spikes(layer, 4, 0.4, imax, np.random.default_rng(SEED))
    out, _, _ = run_conv(layer, x, input_max=imax, event_max=max(1, imax - 1), lanes=lanes,
                         burst=burst, stall=stall, seed=SEED, junk=3)
    np.testing.assert_array_equal(out, golden_unit(layer, x))


@st.composite
def random_windows(draw):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kh = draw(st.integers(1, min(4, h + 2)))
    kw = draw(st.integers(1, min(4, w + 2)))
    # padding < kernel and the kernel within the padded input
    py = draw(st.integers(max(0, -(-(kh - h) // 2)), kh - 1))
    px = draw(st.integers(max(0, -(-(kw - w) // 2)), kw - 1))
    stride = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    return (c, h, w), [kh, kw], stride, [py, px]


@seed(SEED * 1000 + 600)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(win=random_windows(), co=st.integers(1, 6), lanes=st.sampled_from([1, 2, 3, 4, 8]),
       nd=neurons(v_bits_range=(6, 12), threshold_max=12), sparse=st.booleans(),
       burst=st.booleans(), input_max=st.integers(1, 3), split=st.booleans(),
       stall=st.sampled_from([0.0, 0.3, 0.7]), density=st.sampled_from([0.1, 0.5, 0.9]),
       steps=st.integers(1, 4), data_seed=st.integers(0, 2**16))
def test_random_conv_layers_bit_exact(win, co, lanes, nd, sparse, burst, input_max, split,
                                      stall, density, steps, data_seed):
    in_shape, kernel, stride, padding = win
    layer = feature_layers(in_shape, out_channels=co, kernel=kernel, stride=stride,
                           padding=padding, neuron=nd, sparse=sparse, input_max=input_max,
                           seed=data_seed)
    x = input_spikes(layer, steps, density, input_max, np.random.default_rng(data_seed))
    out, _, _ = run_conv(layer, x, input_max=input_max,
                         event_max=1 if split else input_max, lanes=lanes, burst=burst,
                         stall=stall, seed=data_seed, junk=2)
    np.testing.assert_array_equal(out, golden_unit(layer, x))


@seed(SEED * 1000 + 601)
@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(win=random_windows(), co=st.integers(1, 6), lanes=st.sampled_from([1, 2, 4]),
       sparse=st.booleans(), burst=st.booleans(),
       density=st.sampled_from([0.0, 0.2, 0.6, 1.0]), data_seed=st.integers(0, 2**16))
def test_conv_cycles_equal_the_cycle_model(win, co, lanes, sparse, burst, density,
                                          data_seed):
    """Without stalls, every timestep takes exactly the documented number of cycles
    (empty timesteps and events that reach no output included). The first timestep
    also holds the zeroing pass after reset, so it is not compared."""
    in_shape, kernel, stride, padding = win
    layer = feature_layers(in_shape, out_channels=co, kernel=kernel, stride=stride,
                           padding=padding, neuron=LIF_GRADED, sparse=sparse, input_max=1,
                           seed=data_seed)
    x = input_spikes(layer, 3, density, 1, np.random.default_rng(data_seed))
    out, cycles, stim = run_conv(layer, x, input_max=1, event_max=1, lanes=lanes,
                                 burst=burst, seed=data_seed)
    for t in range(1, len(x)):
        extra = int(out[t].sum() - np.count_nonzero(out[t])) if burst else 0
        model = conv_cycle_model(layer, [a for a, _ in stim[t]], lanes, burst_extra=extra)
        assert cycles[t] == model, (t, cycles, model)


@seed(SEED * 1000 + 602)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(win=random_windows(), input_max=st.integers(1, 3), split=st.booleans(),
       stall=st.sampled_from([0.0, 0.5]), density=st.sampled_from([0.0, 0.3, 0.9]),
       data_seed=st.integers(0, 2**16))
def test_sum_pool_bit_exact(win, input_max, split, stall, density, data_seed):
    """The sum-pooling block's events, summed per address, are the golden sums; without
    stalls it takes max(1, outputs reached) cycles per event plus 4 per timestep."""
    in_shape, kernel, stride, padding = win
    layer = feature_layers(in_shape, kernel=kernel, stride=stride, padding=padding,
                           input_max=input_max, pool=True)
    x = input_spikes(layer, 3, density, input_max, np.random.default_rng(data_seed))
    # Junk addresses (dropped as they enter) only under stalls: the cycle count is exact
    # for the events a model can send.
    out, cycles, stim = run_pool(layer, x, event_max=1 if split else input_max, stall=stall,
                                 seed=data_seed, junk=2 if stall else 0)
    np.testing.assert_array_equal(out, golden_unit(layer, x))
    if stall == 0.0:
        for t in range(len(x)):
            reach = [layer.window.positions_reached(a) for a, _ in stim[t]]
            assert cycles[t] == sum(max(1, r) for r in reach) + 4, (t, cycles, reach)


def test_binary_input_needs_no_multiplier():
    """With binary input events the core masks weights (IF neuron): no multiply or divide
    cell anywhere in it, the walker included."""
    from amaranth.back import rtlil
    layer = feature_layers((2, 9, 9), out_channels=4, kernel=5, stride=2, padding=1)
    text = rtlil.convert(ConvCore(layer, input_max=1, timesteps=4, lanes=2), name="conv")
    assert "$mul" not in text and "$div" not in text and "$mod" not in text
