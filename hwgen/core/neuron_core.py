"""Event-driven, time-multiplexed neuron core for one dense layer.

The core keeps a layer's weights, its input-current accumulators and its membrane
potentials in :class:`amaranth.lib.memory.Memory` with synchronous reads, so that all three
map onto iCE40/ECP5 block RAM. Work is proportional to input events: an event for axon
``j`` with value ``x`` adds ``W[:, j] * x`` into the accumulators, ``P`` neurons (lanes)
per cycle. The tick that ends a timestep starts the neuron update: one neuron per cycle
reads its accumulator and potential, applies DESIGN.md section 4, writes both back and
emits its spike event. Then the core emits its own tick.

Cycle model (no back-pressure), per timestep with ``E`` input events, ``N`` neurons,
``G = ceil(N / P)`` accumulator rows and ``B`` extra burst cycles (graded spikes sent as
bursts: ``sum(s) - count(s > 0)``; 0 otherwise)::

    cycles = E * G + N + B + 5

Memory layout: the weight memory has one row per (axon ``j``, row ``g``), row address
``j * G + g``, holding the ``P`` weights ``W[g*P + p, j]`` side by side; the accumulator
memory has ``G`` rows of ``P`` accumulators. A row is read and written back in one cycle,
so the accumulate loop sustains ``P`` synaptic operations per cycle.

The weights are a block RAM initialised by the bitstream, or (``weights_in_spram``, the
memory planner's choice on the iCE40 UltraPlus) an :class:`~hwgen.core.spram.SpramMemory`
that starts empty: the core then has a ``load`` write port and takes no event before its
``loaded`` input rises (:class:`~hwgen.core.weight_loader.WeightLoader`). The accumulate
loop only reads the weights, one row per cycle, which is all one SPRAM port can give.
"""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..aer import event_signature
from ..widths import signed_bits
from .accumulate import lane_sums, write_accumulators
from .neuron_update import NeuronUpdate
from .spram import SpramMemory, write_port_signature

__all__ = ["NeuronCore", "core_params", "cycle_model", "CYCLE_MODEL"]

CYCLE_MODEL = "cycles per timestep = E * ceil(N / P) + N + B + 5"


def cycle_model(events, neurons, lanes, burst_extra=0):
    """Cycles of one timestep without back-pressure (see the module docstring)."""
    return events * -(-neurons // lanes) + neurons + burst_extra + 5


class Phase(enum.Enum, shape=2):
    INIT = 0        # after reset: zero every potential and accumulator
    ACCUM = 1       # take input events until the tick
    UPDATE = 2      # one neuron per cycle; emit spikes
    TICK = 3        # emit the end-of-timestep token


def core_params(layer, input_max, lanes):
    """Derived widths and depths of a core (shared by the RTL, the manifest and the docs).

    ``input_max`` is an array: the largest value of each input axon.
    """
    w = layer.weights
    xmax = np.asarray(input_max, dtype=np.int64)
    hi = int(((np.where(w > 0, w, 0)) @ xmax).max(initial=0))
    lo = int(((np.where(w < 0, w, 0)) @ xmax).min(initial=0))
    rows = -(-layer.size // lanes)
    return {
        "neurons": layer.size,
        "fan_in": layer.fan_in,
        "lanes": lanes,
        "rows": rows,
        "weight_bits": layer.weight_bits,
        # Exact: the accumulator never wraps, whatever the events of a timestep.
        "acc_bits": signed_bits(lo, hi),
        "v_bits": layer.neuron.v_bits,
        "weight_memory": {"width": lanes * layer.weight_bits, "depth": layer.fan_in * rows},
        "acc_memory": {"width": lanes * signed_bits(lo, hi), "depth": rows},
        "v_memory": {"width": layer.neuron.v_bits, "depth": layer.size},
        "bias_memory": ({"width": layer.neuron.v_bits, "depth": layer.size}
                        if np.any(layer.bias) else None),
    }


class NeuronCore(wiring.Component):
    """Neuron core of one dense layer.

    Parameters
    ----------
    layer : hwgen.model.DenseLayer
        Weights, bias and neuron parameters.
    input_max : int or sequence of int
        Largest input an axon receives in one timestep (per axon, or one for all): the
        accumulator is sized for it.
    event_max : int, optional
        Largest value one input event carries (default ``max(input_max)``); smaller when
        a graded source sends bursts of binary events.
    timesteps : int
        ``T``: after the ``T``-th tick the state returns to zero for the next inference.
    lanes : int
        ``P``, synapses updated per cycle.
    burst : bool
        Send graded spikes as bursts of ``s`` binary events instead of one event with
        value ``s``.
    weights_in_spram : bool
        Keep the weights in SPRAM, written through ``load`` after reset (see the module
        docstring).

    Members
    -------
    i_events : In(stream.Signature(event_layout(fan_in, event_max)))
        Input AER events and ticks.
    o_events : Out(stream.Signature(event_layout(size, D or 1)))
        Spike events of this layer, then one tick per timestep.
    load : In(write_port_signature(P * weight_bits, fan_in * G))
        Only with ``weights_in_spram``: writes weight rows (:meth:`weight_rows` order).
    loaded : In(1)
        Only with ``weights_in_spram``: every row is written; events are taken from now.
    """

    def __init__(self, layer, *, input_max, timesteps, lanes=1, burst=False, event_max=None,
                 weights_in_spram=False):
        if lanes < 1:
            raise ValueError("lanes must be >= 1")
        xmax = np.broadcast_to(np.asarray(input_max, dtype=np.int64), (layer.fan_in,))
        self._layer = layer
        self._xmax = xmax
        self._timesteps = timesteps
        self._lanes = lanes
        self._burst = burst and layer.neuron.max_spikes > 1
        self._params = core_params(layer, xmax, lanes)
        out_max = 1 if self._burst else layer.neuron.max_spikes
        self._spram = weights_in_spram
        w = self._params["weight_memory"]
        super().__init__({
            "i_events": In(event_signature(
                layer.fan_in, int(xmax.max()) if event_max is None else event_max)),
            "o_events": Out(event_signature(layer.size, out_max)),
            **({"load": In(write_port_signature(w["width"], w["depth"])), "loaded": In(1)}
               if weights_in_spram else {}),
        })

    @property
    def params(self):
        return dict(self._params)

    def weight_rows(self):
        """The rows of the weight memory, in address order (what ``load`` writes)."""
        layer, lanes, rows = self._layer, self._lanes, self._params["rows"]
        wb = layer.weight_bits
        mask = (1 << wb) - 1
        padded = np.zeros((rows * lanes, layer.fan_in), dtype=np.int64)
        padded[:layer.size] = layer.weights
        init = []
        for j in range(layer.fan_in):
            for g in range(rows):
                word = 0
                for p in range(lanes):
                    word |= (int(padded[g * lanes + p, j]) & mask) << (p * wb)
                init.append(word)
        return init

    def elaborate(self, platform):
        m = Module()
        layer, neuron = self._layer, self._layer.neuron
        n, lanes, rows = layer.size, self._lanes, self._params["rows"]
        wb, ab = layer.weight_bits, self._params["acc_bits"]

        # --- memories (synchronous reads: block RAM, or SPRAM for the weights) ---
        if self._spram:
            # No init, in simulation too: the weights are there once the loader wrote them.
            m.submodules.weights = w_mem = SpramMemory(lanes * wb, layer.fan_in * rows)
            wiring.connect(m, wiring.flipped(self.load), w_mem.write)
            w_rd = w_mem.read
        else:
            m.submodules.weights = w_mem = Memory(
                shape=unsigned(lanes * wb), depth=layer.fan_in * rows, init=self.weight_rows())
            w_rd = w_mem.read_port()
        m.submodules.acc = acc_mem = Memory(shape=unsigned(lanes * ab), depth=rows, init=[])
        acc_wr = acc_mem.write_port()
        # With one row (G = 1) the next event reads the row written in the same cycle, so the
        # read must be transparent. With G >= 2 back-to-back rows always differ, and the
        # bypass would put the whole accumulate path in front of the update stages.
        acc_rd = acc_mem.read_port(transparent_for=(acc_wr,) if rows == 1 else ())
        # The neuron update (potentials, bias, DESIGN.md section 4) reads the accumulators.
        m.submodules.update = update = NeuronUpdate(
            neuron, size=n, lanes=lanes, acc_bits=ab, bias=layer.bias, burst=self._burst)

        phase = Signal(Phase)
        t = Signal(range(max(2, self._timesteps)))
        last_step = t == self._timesteps - 1
        m.d.comb += update.last_step.eq(last_step)

        # Read ports only advance when told to, so a stalled stage keeps its data.
        m.d.comb += [w_rd.en.eq(0), acc_rd.en.eq(0)]

        # ---------------- INIT: zero the state after reset ----------------
        init_ctr = Signal(range(max(n, rows) + 1))
        with m.If(phase == Phase.INIT):
            m.d.comb += [update.init.eq(init_ctr < n), update.init_addr.eq(init_ctr)]
            m.d.sync += init_ctr.eq(init_ctr + 1)
            with m.If(init_ctr == max(n, rows) - 1):
                m.d.sync += phase.eq(Phase.ACCUM)

        # ---------------- ACCUM: stage A issues (axon, row) reads ----------------
        busy = Signal()
        row = Signal(range(rows))
        w_addr = Signal(range(layer.fan_in * rows))
        value = Signal.like(self.i_events.p.value)
        last_row = row == rows - 1
        # Stage B: the row read last cycle is summed and written back.
        b_acc = Signal()
        b_row = Signal.like(row)
        b_value = Signal.like(value)

        m.d.sync += b_acc.eq(0)
        with m.If(phase == Phase.ACCUM):
            # With SPRAM weights, no event before the loader has written them all.
            loaded = self.loaded if self._spram else 1
            m.d.comb += self.i_events.ready.eq((~busy | last_row) & loaded)
            with m.If(busy):
                m.d.comb += [w_rd.addr.eq(w_addr), w_rd.en.eq(1),
                             acc_rd.addr.eq(row), acc_rd.en.eq(1)]
                m.d.sync += [b_acc.eq(1), b_row.eq(row), b_value.eq(value),
                             row.eq(Mux(last_row, 0, row + 1)), w_addr.eq(w_addr + 1)]
                with m.If(last_row):
                    m.d.sync += busy.eq(0)
            with m.If(self.i_events.valid & self.i_events.ready):
                ev = self.i_events.payload
                with m.If(ev.tick):
                    m.d.sync += phase.eq(Phase.UPDATE)
                    m.d.comb += update.start.eq(1)
                with m.Elif(ev.addr < layer.fan_in):    # out-of-range axons are ignored
                    m.d.sync += [busy.eq(1), row.eq(0), value.eq(ev.value),
                                 w_addr.eq(ev.addr * rows)]

        lanes_sum = lane_sums(acc_rd.data, w_rd.data, b_value, lanes, ab, wb)

        # ---------------- the accumulator write port: one explicit choice ----------------
        write_accumulators(m, acc_wr, init=phase == Phase.INIT, init_addr=init_ctr,
                           init_rows=rows, b_acc=b_acc, b_row=b_row, b_sums=lanes_sum,
                           update=update)

        m.d.comb += update.acc_data.eq(acc_rd.data)
        update_and_tick(m, phase, update, acc_rd, self.o_events, t, last_step)
        return m


def update_and_tick(m, phase, update, acc_rd, o_events, t, last_step):
    """The UPDATE and TICK phases of a core built on :class:`NeuronUpdate` (the dense and
    the conv core): the update reads the accumulators through ``acc_rd`` and sends its
    spikes on ``o_events``; then the core sends its tick and counts the timestep ``t``."""
    with m.If(phase == Phase.UPDATE):
        wiring.connect(m, update.o_spikes, wiring.flipped(o_events))
        with m.If(update.acc_en):
            m.d.comb += [acc_rd.addr.eq(update.acc_addr), acc_rd.en.eq(1)]
        with m.If(update.done):
            m.d.sync += phase.eq(Phase.TICK)
    with m.If(phase == Phase.TICK):
        m.d.comb += [o_events.valid.eq(1), o_events.p.tick.eq(1)]
        with m.If(o_events.ready):
            m.d.sync += [phase.eq(Phase.ACCUM), t.eq(Mux(last_step, 0, t + 1))]
