"""The neuron update of DESIGN.md section 4, one neuron per cycle: shared by every core
that has neurons (the dense :class:`~hwgen.core.neuron_core.NeuronCore`, the
:class:`~hwgen.core.attention_core.AttentionCore`).

The owner keeps each neuron's input current ``I`` in an accumulator memory of rows of
``P`` lanes (neuron ``i`` in row ``i // P``, lane ``i % P``) and starts the update once a
timestep's currents are complete. The block then reads, for neuron after neuron, the
accumulator row (through the owner's read port: :attr:`acc_addr`, :attr:`acc_en`,
:attr:`acc_data` a cycle later, the contract of a synchronous memory read port), its
potential and bias (its own memories), computes ``u``, the spike count ``s`` and the reset,
writes the potential back and sends the spike on :attr:`o_spikes`. When a row's last neuron
is written back it asks the owner to zero that row (:attr:`clear_row`), so the next
timestep starts from zero currents without a clearing pass.

Timing: ``N + 4`` cycles from :attr:`start` to :attr:`done` without back-pressure, plus one
cycle per extra event of a burst.
"""

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..aer import event_layout

__all__ = ["NeuronUpdate", "send_spike"]


def send_spike(m, o_events, valid, addr, count, burst):
    """Drive ``o_events`` with a spike of ``count`` for neuron ``addr`` while ``valid`` and
    ``count > 0``; return the signal that is high in the cycle the spike is sent (or at
    once when ``count`` is 0). With ``burst``, a count ``s`` leaves as ``s`` binary events
    of the same address, one per accepted cycle."""
    emitting = valid & (count > 0)
    done = Signal(name="spike_done")
    # The tick bit is driven (to 0) with the rest of the payload: left undriven, yosys
    # gives it an `always @*` of its own with no inputs, which Icarus never runs (X).
    m.d.comb += [o_events.valid.eq(emitting), o_events.p.addr.eq(addr), o_events.p.tick.eq(0)]
    if burst:
        burst_ctr = Signal.like(count, name="burst_ctr")
        m.d.comb += o_events.p.value.eq(1)
        sent = o_events.ready & (burst_ctr == count - 1)
        with m.If(emitting & o_events.ready):
            m.d.sync += burst_ctr.eq(Mux(sent, 0, burst_ctr + 1))
    else:
        m.d.comb += o_events.p.value.eq(count)
        sent = o_events.ready
    m.d.comb += done.eq(valid & (~emitting | sent))
    return done


def _tree_sum(terms):
    """The sum of ``terms`` as a balanced tree of adders: ``sum()`` would chain them, an
    expression ``D`` deep that Amaranth's simulator cannot compile for large ``D``."""
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


class NeuronUpdate(wiring.Component):
    """The update of ``size`` neurons.

    Parameters
    ----------
    neuron : hwgen.neuron.Neuron
    size : int
        ``N``, neurons.
    lanes : int
        ``P``, accumulators per row of the owner's memory.
    acc_bits : int
        Width of one accumulator (signed).
    bias : sequence of int, optional
        Per-neuron bias added to ``I`` (a memory of its own); none when absent or all zero.
    burst : bool
        Send graded spikes as bursts of binary events.
    emit : bool
        Send spikes on :attr:`o_spikes`; without, the block never stalls and the owner
        reads every neuron's count from :attr:`result_valid` / ``_index`` / ``_spikes``.
    interleave : (channels, positions, out_size), optional
        The owner keeps a feature map position-major: its neuron ``i`` is channel
        ``i % channels`` at position ``i // channels`` and leaves as address
        ``channel * positions + position`` of an output of ``out_size`` addresses; the
        bias is per channel (``channels`` values). Channels at or beyond
        ``out_size / positions`` are padding: zero weights and bias, so they never fire.
    gated : bool
        Add :attr:`acc_keep`: where it is 0 the neuron's input (accumulator and bias) is 0.

    Members
    -------
    start : In(1)
        Pulse (while idle): update every neuron once.
    done : Out(1)
        Pulse: the last neuron is written back.
    last_step : In(1)
        This timestep ends the inference: write zero potentials back instead.
    init, init_addr : In
        Zero potential ``init_addr`` (after reset; while idle).
    acc_addr, acc_en : Out;  acc_data : In
        The owner's accumulator read port (data one cycle after ``acc_en``).
    acc_keep : In(1)
        With ``gated``: read with :attr:`acc_data`, 0 zeroes the neuron's input.
    clear_row, clear_addr : Out
        Zero accumulator row ``clear_addr`` this cycle.
    o_spikes : Out(stream.Signature(event_layout(N, D or 1)))
        Spike events (``tick`` always 0).
    result_valid, result_index, result_spikes : Out
        Each neuron's spike count (0 included) in the cycle it is written back.
    """

    def __init__(self, neuron, *, size, lanes, acc_bits, bias=None, burst=False, emit=True,
                 interleave=None, gated=False):
        self._interleave = interleave
        self._gated = gated
        out_size = size if interleave is None else interleave[2]
        self._neuron = neuron
        self._size = size
        self._lanes = lanes
        self._rows = -(-size // lanes)
        self._acc_bits = acc_bits
        self._bias = [int(b) for b in bias] if bias is not None and any(bias) else None
        self._burst = burst and neuron.max_spikes > 1
        self._emit = emit
        out_max = 1 if self._burst else neuron.max_spikes
        ports = {"acc_keep": In(1)} if gated else {}
        super().__init__({
            **ports,
            "start": In(1),
            "done": Out(1),
            "last_step": In(1),
            "init": In(1),
            "init_addr": In(range(max(2, size))),
            "acc_addr": Out(range(max(2, self._rows))),
            "acc_en": Out(1),
            "acc_data": In(unsigned(lanes * acc_bits)),
            "clear_row": Out(1),
            "clear_addr": Out(range(max(2, self._rows))),
            "o_spikes": Out(stream.Signature(event_layout(out_size, out_max))),
            "result_valid": Out(1),
            "result_index": Out(range(max(2, out_size))),
            "result_spikes": Out(range(neuron.max_spikes + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        neuron, n, lanes = self._neuron, self._size, self._lanes
        ab, vb = self._acc_bits, neuron.v_bits

        m.submodules.v = v_mem = Memory(shape=signed(vb), depth=n, init=[])
        v_wr = v_mem.write_port()
        v_rd = v_mem.read_port()
        m.d.comb += v_rd.en.eq(0)
        if self._bias is not None:
            m.submodules.bias = bias_mem = Memory(shape=signed(vb), depth=len(self._bias),
                                                  init=self._bias)
            bias_rd = bias_mem.read_port()
            bias_value = bias_rd.data
            m.d.comb += bias_rd.en.eq(0)
        else:
            bias_rd, bias_value = None, Const(0, signed(2))

        with m.If(self.init):
            m.d.comb += [v_wr.addr.eq(self.init_addr), v_wr.data.eq(0), v_wr.en.eq(1)]

        # Four stages that advance together: A issues the reads of neuron i (row g, lane
        # p); B holds the read data and computes leak(v) + bias; D adds I and clamps to u;
        # C holds u, emits the spike and writes back. The registers split the
        # memory-to-clamp path in two and keep the spike decision (and so the stall
        # logic) off it: Fmax.
        active = Signal()
        issuing = Signal()
        i_ctr = Signal(range(n))
        g_ctr = Signal(range(self._rows))
        p_ctr = Signal(range(lanes))
        b_valid, b_i, b_p, b_g, b_row_end = (Signal(name="b_valid"), Signal.like(i_ctr),
                                             Signal.like(p_ctr), Signal.like(g_ctr), Signal())
        c_valid, c_i, c_g, c_row_end = (Signal(name="c_valid"), Signal.like(i_ctr),
                                        Signal.like(g_ctr), Signal())
        d_valid, d_i, d_g, d_row_end = (Signal(name="d_valid"), Signal.like(i_ctr),
                                        Signal.like(g_ctr), Signal())
        c_u = Signal(signed(vb))
        # The address a neuron's spike leaves with, and its bias row: its index, or
        # (interleaved) channel * positions + position and its channel.
        if self._interleave is None:
            o_ctr, b_o, d_o, c_o = i_ctr, b_i, d_i, c_i
            bias_addr = i_ctr
        else:
            channels, positions, out_size = self._interleave
            ch_ctr = Signal(range(channels))
            pos_ctr = Signal(range(max(2, n // channels)))
            o_ctr = Signal(range(max(2, channels * positions)))
            b_o, d_o, c_o = (Signal.like(o_ctr, name=f"{x}_o") for x in "bdc")
            bias_addr = ch_ctr

        # Stage B: leak(v) + bias, and this neuron's accumulator lane.
        acc_sel = Signal(signed(ab))
        # A mux over the lanes (word_select would multiply the lane index by the width).
        lane_values = Array(self.acc_data[q * ab:(q + 1) * ab] for q in range(lanes))
        m.d.comb += acc_sel.eq(lane_values[b_p].as_signed())
        if self._gated:
            with m.If(~self.acc_keep):
                m.d.comb += acc_sel.eq(0)
        v_old = v_rd.data
        if neuron.model == "if":
            v_leak = v_old
        elif neuron.leak_shift is not None:
            v_leak = v_old - (v_old >> neuron.leak_shift)     # arithmetic shift on signed
        else:
            v_leak = (v_old * Const(neuron.leak_decay)) >> neuron.leak_frac_bits
        if self._gated:
            bias_value = Mux(self.acc_keep, bias_value, 0)
        leak_bias = v_leak + bias_value
        d_leak_bias = Signal.like(leak_bias)
        d_acc = Signal.like(acc_sel)

        # Stage D: u = clamp(leak(v) + I), DESIGN.md section 4.
        total = d_leak_bias + d_acc
        u = Signal(signed(vb))
        m.d.comb += u.eq(Mux(total < neuron.v_min, neuron.v_min,
                             Mux(total > neuron.v_max, neuron.v_max, total)))

        # Spike count, decided on the unclamped sum in parallel with the clamp: every
        # threshold k*θ used is <= v_max, so `total >= k*θ` equals `u >= k*θ`.
        d_max = neuron.max_spikes
        theta = neuron.threshold
        s_b = Signal(range(d_max + 1))
        if d_max == 1:
            m.d.comb += s_b.eq(total >= theta)
        else:
            # s = min(u // θ, D) as a thermometer of constant comparisons: no divider.
            steps = [total >= k * theta for k in range(1, d_max + 1) if k * theta <= neuron.v_max]
            m.d.comb += s_b.eq(_tree_sum(steps))
        s = Signal.like(s_b)          # stage C's spike count (registered)

        # Stage C: reset.
        v_next = Signal(signed(vb))
        if neuron.reset == "hard":
            m.d.comb += v_next.eq(Mux(s > 0, neuron.v_reset, c_u))
        elif neuron.reset == "soft":
            # s * θ as a choice among constants: no multiplier.
            m.d.comb += v_next.eq(c_u - Array(k * theta for k in range(d_max + 1))[s])
        else:
            m.d.comb += v_next.eq(c_u)

        with m.If(self.start):
            m.d.sync += [active.eq(1), issuing.eq(1)]
        with m.If(active):
            if self._emit:
                c_done = send_spike(m, self.o_spikes, c_valid, c_o, s, self._burst)
            else:
                c_done = c_valid
            advance = ~c_valid | c_done

            with m.If(c_done):
                # Write back; the last timestep of an inference leaves zero state behind.
                m.d.comb += [v_wr.addr.eq(c_i), v_wr.en.eq(1),
                             v_wr.data.eq(Mux(self.last_step, 0, v_next)),
                             self.clear_row.eq(c_row_end), self.clear_addr.eq(c_g),
                             self.result_valid.eq(1), self.result_index.eq(c_o),
                             self.result_spikes.eq(s)]

            with m.If(advance):
                m.d.sync += [c_valid.eq(d_valid), c_i.eq(d_i), c_g.eq(d_g),
                             c_row_end.eq(d_row_end), c_u.eq(u), s.eq(s_b),
                             d_valid.eq(b_valid), d_i.eq(b_i), d_g.eq(b_g),
                             d_row_end.eq(b_row_end), d_leak_bias.eq(leak_bias),
                             d_acc.eq(acc_sel),
                             b_valid.eq(issuing)]
                if self._interleave is not None:
                    m.d.sync += [c_o.eq(d_o), d_o.eq(b_o)]
                with m.If(issuing):
                    m.d.comb += [self.acc_addr.eq(g_ctr), self.acc_en.eq(1),
                                 v_rd.addr.eq(i_ctr), v_rd.en.eq(1)]
                    if bias_rd is not None:
                        m.d.comb += [bias_rd.addr.eq(bias_addr), bias_rd.en.eq(1)]
                    if self._interleave is not None:
                        m.d.sync += b_o.eq(o_ctr)
                        last_ch = ch_ctr == channels - 1
                        with m.If(i_ctr == n - 1):
                            m.d.sync += [ch_ctr.eq(0), pos_ctr.eq(0), o_ctr.eq(0)]
                        with m.Elif(last_ch):
                            m.d.sync += [ch_ctr.eq(0), pos_ctr.eq(pos_ctr + 1),
                                         o_ctr.eq(pos_ctr + 1)]
                        with m.Else():
                            m.d.sync += [ch_ctr.eq(ch_ctr + 1), o_ctr.eq(o_ctr + positions)]
                    m.d.sync += [b_i.eq(i_ctr), b_p.eq(p_ctr), b_g.eq(g_ctr),
                                 b_row_end.eq((p_ctr == lanes - 1) | (i_ctr == n - 1))]
                    with m.If(i_ctr == n - 1):
                        m.d.sync += [issuing.eq(0), i_ctr.eq(0), p_ctr.eq(0), g_ctr.eq(0)]
                    with m.Else():
                        m.d.sync += i_ctr.eq(i_ctr + 1)
                        if lanes > 1:
                            with m.If(p_ctr == lanes - 1):
                                m.d.sync += [p_ctr.eq(0), g_ctr.eq(g_ctr + 1)]
                            with m.Else():
                                m.d.sync += p_ctr.eq(p_ctr + 1)
                        else:
                            m.d.sync += g_ctr.eq(g_ctr + 1)
                with m.Elif(~b_valid & ~d_valid):
                    # Every neuron issued and the pipeline drained.
                    m.d.comb += self.done.eq(1)
                    m.d.sync += active.eq(0)
        return m
