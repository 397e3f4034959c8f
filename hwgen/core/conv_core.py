"""Event-driven convolution core for one ``conv2d`` layer (docs/conv.md).

An input event at ``(ci, y, x)`` with value ``s`` adds ``W[co, ci, ky, kx] * s`` into
every output neuron ``(co, oy, ox)`` whose window holds it, and nothing else: the
:class:`~hwgen.core.window_walker.WindowWalker` turns the event into one step per output
position it reaches, and each step updates the ``C_out`` channels of that position,
``P`` per cycle. Work per event is proportional to its receptive field: ``n_y * n_x``
positions (``ceil(kh / sy) * ceil(kw / sx)`` inside the map) times ``G = ceil(C_out / P)``
rows. The tick that ends a timestep starts the neuron update (the dense core's
:class:`~hwgen.core.neuron_update.NeuronUpdate`, one neuron per cycle).

Memories (synchronous reads: block RAM):

- weights: row ``((ci * kh + ky) * kw + kx) * G + g`` holds ``W[g*P + p, ci, ky, kx]``
  for the ``P`` lanes side by side: the kernel, shared by every position;
- accumulators: row ``pos * G + g`` (``pos = oy * W_out + ox``) holds the currents of
  channels ``g*P .. g*P + P - 1`` at ``pos``; with SSC one more bit per row says the
  position's centre input spiked this timestep;
- potentials: one per neuron, position-major (``pos * G * P + co``); the update walks
  them in that order and sends each spike with its row-major address ``co * H_out *
  W_out + pos``. Channels beyond ``C_out`` (when ``P`` does not divide it) are padding
  that never fires.

Spike sparse convolution (``sparse``): the walker marks the step whose tap is the
window's centre; its row's SSC bit is set, and the update gives neurons of rows without
it no input at all (accumulator and bias), DESIGN-style ``I = mask * (bias + W x)``.
Every step is still walked: events arrive in any order, so a position's centre may spike
after the events that reach it.

Cycle model (no back-pressure), per timestep with input events ``e`` each reaching
``r(e) = n_y * n_x`` output positions, ``N' = H_out * W_out * G * P`` neurons (padding
included) and ``B`` extra burst cycles::

    cycles = sum_e max(1, r(e) * G) + N' + B + 8
"""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..aer import event_signature
from ..widths import signed_bits
from .accumulate import lane_sums, write_accumulators
from .neuron_core import Phase, update_and_tick  # the dense core's four phases
from .neuron_update import NeuronUpdate
from .window_walker import WindowWalker

__all__ = ["ConvCore", "conv_params", "conv_cycle_model", "CONV_CYCLE_MODEL"]

CONV_CYCLE_MODEL = ("cycles per timestep = sum over events of max(1, r(e) * G) + "
                    "H_out * W_out * G * P + B + 8")
FIXED_CYCLES = 8


def conv_cycle_model(layer, event_addrs, lanes, burst_extra=0):
    """Cycles of one timestep without back-pressure for input events at ``event_addrs``
    (flat addresses; see the module docstring)."""
    p = conv_lanes(layer, lanes)
    g = -(-layer.out_channels // p)
    total = sum(max(1, layer.window.positions_reached(a) * g) for a in event_addrs)
    ho, wo = layer.window.out_hw
    return total + ho * wo * g * p + burst_extra + FIXED_CYCLES


def conv_lanes(layer, lanes):
    """``P``: output channels per cycle (no more than the layer has)."""
    return max(1, min(lanes, layer.out_channels))


def conv_params(layer, input_max, lanes):
    """Derived widths and depths (shared by the RTL, the manifest and the docs).
    ``input_max``: the largest value of each input axon (``C * H * W``)."""
    c, h, w = layer.window.in_shape
    kh, kw = layer.window.kernel
    ho, wo = layer.window.out_hw
    p = conv_lanes(layer, lanes)
    g = -(-layer.out_channels // p)
    xmax = np.broadcast_to(np.asarray(input_max, np.int64), (c * h * w,))
    chan_max = xmax.reshape(c, h * w).max(axis=1)             # per input channel
    wts = layer.weights.reshape(layer.out_channels, c, kh * kw)
    hi = int((np.where(wts > 0, wts, 0).sum(axis=2) @ chan_max).max(initial=0))
    lo = int((np.where(wts < 0, wts, 0).sum(axis=2) @ chan_max).min(initial=0))
    ab = signed_bits(lo, hi)
    positions = ho * wo
    return {
        "neurons": layer.size,
        "lanes": p,
        "rows_per_position": g,
        "positions": positions,
        "weight_bits": layer.weight_bits,
        "acc_bits": ab,
        "v_bits": layer.neuron.v_bits,
        "sparse": layer.sparse,
        "weight_memory": {"width": p * layer.weight_bits, "depth": c * kh * kw * g},
        "acc_memory": {"width": p * ab + int(layer.sparse), "depth": positions * g},
        "v_memory": {"width": layer.neuron.v_bits, "depth": positions * g * p},
        "bias_memory": ({"width": layer.neuron.v_bits, "depth": g * p}
                        if np.any(layer.bias) else None),
    }


class ConvCore(wiring.Component):
    """Neuron core of one conv2d layer.

    Parameters
    ----------
    layer : hwgen.layers.conv2d.Conv2dLayer
    input_max : int or sequence of int
        Largest input an axon receives in one timestep: the accumulator is sized for it.
    event_max : int, optional
        Largest value one input event carries (default ``max(input_max)``).
    timesteps : int
        ``T``: after the ``T``-th tick the state returns to zero for the next inference.
    lanes : int
        ``P``, output channels updated per cycle.
    burst : bool
        Send graded spikes as bursts of binary events.
    """

    def __init__(self, layer, *, input_max, timesteps, lanes=1, burst=False, event_max=None):
        if lanes < 1:
            raise ValueError("lanes must be >= 1")
        c, h, w = layer.window.in_shape
        xmax = np.broadcast_to(np.asarray(input_max, np.int64), (c * h * w,))
        self._layer = layer
        self._timesteps = timesteps
        self._burst = burst and layer.neuron.max_spikes > 1
        self._params = conv_params(layer, xmax, lanes)
        self._event_max = int(xmax.max()) if event_max is None else event_max
        out_max = 1 if self._burst else layer.neuron.max_spikes
        super().__init__({
            "i_events": In(event_signature(c * h * w, self._event_max)),
            "o_events": Out(event_signature(layer.size, out_max)),
        })

    @property
    def params(self):
        return dict(self._params)

    def _weight_rows(self):
        layer, p = self._layer, self._params["lanes"]
        g_rows = self._params["rows_per_position"]
        wb = layer.weight_bits
        mask = (1 << wb) - 1
        c = layer.window.in_shape[0]
        kh, kw = layer.window.kernel
        padded = np.zeros((g_rows * p, c, kh, kw), np.int64)
        padded[:layer.out_channels] = layer.weights
        taps = padded.reshape(g_rows, p, c * kh * kw)
        init = []
        for tap in range(c * kh * kw):
            for g in range(g_rows):
                word = 0
                for lane in range(p):
                    word |= (int(taps[g, lane, tap]) & mask) << (lane * wb)
                init.append(word)
        return init

    def elaborate(self, platform):
        m = Module()
        layer, neuron, prm = self._layer, self._layer.neuron, self._params
        p, g_rows, positions = prm["lanes"], prm["rows_per_position"], prm["positions"]
        wb, ab = layer.weight_bits, prm["acc_bits"]
        rows = positions * g_rows
        n = rows * p
        sparse = layer.sparse

        m.submodules.walker = walker = WindowWalker(
            layer.window, event_max=self._event_max, out_channel_scale=0,
            pos_scale=g_rows, tap_scale=g_rows)
        wiring.connect(m, wiring.flipped(self.i_events), walker.i_events)
        step = walker.o_steps

        m.submodules.weights = w_mem = Memory(
            shape=unsigned(p * wb), depth=prm["weight_memory"]["depth"],
            init=self._weight_rows())
        acc_width = prm["acc_memory"]["width"]
        m.submodules.acc = acc_mem = Memory(shape=unsigned(acc_width), depth=rows, init=[])
        w_rd = w_mem.read_port()
        acc_wr = acc_mem.write_port()
        # With one row per position (G = 1) two events in a row can reach the same
        # position, so the read must see the write of the cycle before (as in the dense
        # core); with G >= 2 consecutive steps always use different rows.
        acc_rd = acc_mem.read_port(transparent_for=(acc_wr,) if g_rows == 1 else ())
        bias = np.zeros(g_rows * p, np.int64)
        bias[:layer.out_channels] = layer.bias
        m.submodules.update = update = NeuronUpdate(
            neuron, size=n, lanes=p, acc_bits=ab, bias=bias, burst=self._burst,
            interleave=(g_rows * p, positions, layer.size), gated=sparse)

        phase = Signal(Phase)
        t = Signal(range(max(2, self._timesteps)))
        last_step = t == self._timesteps - 1
        m.d.comb += [update.last_step.eq(last_step), w_rd.en.eq(0), acc_rd.en.eq(0)]

        # ---------------- INIT: zero the state after reset ----------------
        init_ctr = Signal(range(n + 1))
        with m.If(phase == Phase.INIT):
            m.d.comb += [update.init.eq(1), update.init_addr.eq(init_ctr)]
            m.d.sync += init_ctr.eq(init_ctr + 1)
            with m.If(init_ctr == n - 1):
                m.d.sync += phase.eq(Phase.ACCUM)

        # ---------------- ACCUM: stage A reads a step's row g ----------------
        g = Signal(range(g_rows))
        last_g = g == g_rows - 1
        b_acc, b_centre = Signal(), Signal()
        b_row = Signal(range(rows))
        b_value = Signal.like(step.p.value)
        m.d.sync += b_acc.eq(0)
        with m.If((phase == Phase.ACCUM) & step.valid):
            with m.If(step.p.tick):
                m.d.comb += [step.ready.eq(1), update.start.eq(1)]
                m.d.sync += phase.eq(Phase.UPDATE)
            with m.Else():
                m.d.comb += [step.ready.eq(last_g),
                             w_rd.addr.eq(step.p.tap_index + g), w_rd.en.eq(1),
                             acc_rd.addr.eq(step.p.out_index + g), acc_rd.en.eq(1)]
                m.d.sync += [b_acc.eq(1), b_row.eq(step.p.out_index + g),
                             b_value.eq(step.p.value), b_centre.eq(step.p.centre),
                             g.eq(Mux(last_g, 0, g + 1))]

        # Stage B: the row read last cycle plus the weights times the event's value.
        lanes_sum = lane_sums(acc_rd.data, w_rd.data, b_value, p, ab, wb)
        if sparse:
            lanes_sum.append(acc_rd.data[p * ab] | b_centre)     # the SSC bit of the row
            m.d.comb += update.acc_keep.eq(acc_rd.data[p * ab])

        write_accumulators(m, acc_wr, init=phase == Phase.INIT, init_addr=init_ctr,
                           init_rows=rows, b_acc=b_acc, b_row=b_row, b_sums=lanes_sum,
                           update=update)

        # UPDATE: one neuron per cycle (NeuronUpdate), then TICK.
        m.d.comb += update.acc_data.eq(acc_rd.data[:p * ab])
        update_and_tick(m, phase, update, acc_rd, self.o_events, t, last_step)
        return m
