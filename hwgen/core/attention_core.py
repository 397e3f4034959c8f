"""Spike-driven self-attention unit: one attention layer (DESIGN.md section 4), adds and
masks only.

The input is the layer's concatenated ``[Q | K | V]`` events (binary; ``Q`` at addresses
``0 .. TD-1``, ``K`` from ``TD``, ``V`` from ``2 TD``; ``T`` tokens, ``D`` channels in
``H`` heads of ``Dh = D / H``). A timestep runs in phases, each event-driven:

``RECV``
    One event per cycle. A Q or K event ``a = n*D + c`` is appended to the Q or K list
    (with ``c``, found by a constant restoring divider: no multiplier); a V event sets its
    bit in the V bitmap (rows of ``P`` bits) and is appended to the V list.
``KWALK``
    For each K event (the list): *hadamard* adds ``V[n, c]`` into the column counter
    ``a[c]``; *linear* adds the V bitmap of its token and head (``Dh`` bits, ``P`` per
    cycle) into row ``c`` of ``KV`` (``KV[c, c2] += V[n, c2]``, a block RAM of ``D x Dh``
    counters). A row of ``KV`` that no K event touched this timestep reads as zero (a
    ``live`` bit per row, cleared during the neuron update): KV is never cleared.
``VCLEAR``
    The V list zeroes the bitmap rows it set.
``QWALK`` (linear)
    For each Q event ``(n, c1)``: ``A[n, head] += KV[c1, :]``, ``P`` per cycle.
``UPDATE``
    The neuron update shared with the dense core
    (:class:`~hwgen.core.neuron_update.NeuronUpdate`): ``T*D`` neurons on ``A`` (linear,
    spikes leave from it) or ``D`` neurons on ``a`` (hadamard, counts kept in ``m``).
``QEMIT`` (hadamard)
    For each Q event ``(n, c)``: emit ``m[c]`` at ``n*D + c``.
``TICK``
    Emit the tick.

``P`` (lanes) is the largest power of two not above the ``lanes`` option that divides
``Dh``, so rows never straddle heads. Cycle model (no back-pressure), ``E`` input events,
``Eq``, ``Ek``, ``Ev`` of them Q, K and V, ``R = Dh / P``, ``B`` extra burst cycles::

    linear:   cycles = E + Ek*R + Ev + Eq*R + T*D + 12 + B
    hadamard: cycles = E + Ek   + Ev + D  + Eq  + 12 + B

(``E + 1`` to receive with the tick, ``ops + 2`` per walk and one more after the last
walk, ``N + 3`` to update, one for the tick.)
"""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..aer import bits_for, event_signature
from ..widths import signed_bits
from .const_divide import divmod_const
from .neuron_update import NeuronUpdate, send_spike

__all__ = ["AttentionCore", "attention_params", "cycle_model", "CYCLE_MODEL", "lanes_for"]

_TERMS = ("E = input events, Eq/Ek/Ev of them Q/K/V events, R = dim / heads / P rows per "
          "event, P = lanes used, B = extra burst cycles")
CYCLE_MODEL = {
    "linear": f"cycles per timestep = E + Ek*R + Ev + Eq*R + tokens*dim + 12 + B; {_TERMS}",
    "hadamard": f"cycles per timestep = E + Ek + Ev + dim + Eq + 12 + B; {_TERMS}",
}


def lanes_for(head_dim, lanes):
    """``P``: the largest power of two ``<= lanes`` that divides ``head_dim``."""
    p = 1
    while p * 2 <= lanes and head_dim % (p * 2) == 0:
        p *= 2
    return p


def cycle_model(layer, lanes, eq, ek, ev, other=0, burst_extra=0):
    """Cycles of one timestep without back-pressure (see the module docstring);
    ``other`` counts input events that are ignored (out of range)."""
    r = layer.head_dim // lanes_for(layer.head_dim, lanes)
    e = eq + ek + ev + other
    if layer.variant == "linear":
        return e + ek * r + ev + eq * r + layer.tokens * layer.dim + 12 + burst_extra
    return e + ek + ev + layer.dim + eq + 12 + burst_extra


def _pow2_bits(n):
    """Address bits of ``n`` rows (0 for one row)."""
    return (n - 1).bit_length()


def attention_params(layer, lanes):
    """Derived sizes of the unit (shared by the RTL, the manifest and the docs)."""
    t, d, dh = layer.tokens, layer.dim, layer.head_dim
    td = t * d
    p = lanes_for(dh, lanes)
    r = dh // p
    linear = layer.variant == "linear"
    acc_max = dh * t if linear else t          # the largest current a neuron can get
    acc_bits = signed_bits(0, acc_max)
    entry_bits = (bits_for(td // p - 1) if linear else bits_for(td - 1)) + bits_for(d - 1)
    mems = {
        "q_list": {"width": entry_bits, "depth": td},
        "k_list": {"width": entry_bits, "depth": td},
        "v_list": {"width": bits_for(td // p - 1), "depth": td},
        "v_bits": {"width": p, "depth": td // p},
        "acc": {"width": p * acc_bits, "depth": (td if linear else d) // p},
    }
    if linear:
        mems["kv"] = {"width": p * bits_for(t), "depth": d << _pow2_bits(r)}
        mems["kv_live"] = {"width": 1, "depth": d}
    else:
        mems["m"] = {"width": bits_for(layer.neuron.max_spikes), "depth": d}
    mems["v"] = {"width": layer.neuron.v_bits, "depth": layer.neurons}
    return {"variant": layer.variant, "lanes": p, "rows_per_event": r if linear else 1,
            "neurons": layer.neurons, "acc_bits": acc_bits, "memories": mems}


class Phase(enum.Enum, shape=4):
    INIT = 0
    RECV = 1
    KWALK = 2
    VCLEAR = 3
    QWALK = 4
    UPDATE = 5
    QEMIT = 6
    TICK = 7


class AttentionCore(wiring.Component):
    """The attention unit of one attention layer.

    Parameters
    ----------
    layer : hwgen.layers.attention.AttentionLayer
    timesteps : int
        ``T`` of the model: after the ``T``-th tick the potentials return to zero.
    lanes : int
        Upper bound of ``P``, counters added per cycle (see :func:`lanes_for`).
    burst : bool
        Send graded spikes as bursts of binary events.

    Members
    -------
    i_events : In(stream.Signature(event_layout(3 * T * D, 1)))
    o_events : Out(stream.Signature(event_layout(T * D, D_spikes or 1)))
    """

    def __init__(self, layer, *, timesteps, lanes=1, burst=False):
        self._layer = layer
        self._timesteps = timesteps
        self._burst = burst and layer.neuron.max_spikes > 1
        self._params = attention_params(layer, lanes)
        td = layer.tokens * layer.dim
        super().__init__({
            "i_events": In(event_signature(3 * td, 1)),
            "o_events": Out(event_signature(td, 1 if self._burst else layer.neuron.max_spikes)),
        })

    @property
    def params(self):
        return dict(self._params)

    def elaborate(self, platform):
        m = Module()
        layer = self._layer
        linear = layer.variant == "linear"
        t_, d, dh = layer.tokens, layer.dim, layer.head_dim
        td = t_ * d
        prm = self._params
        p, r, ab = prm["lanes"], prm["rows_per_event"], prm["acc_bits"]
        lp = p.bit_length() - 1
        mems = prm["memories"]

        def memory(name, transparent=False):
            spec = mems[name]
            mem = Memory(shape=unsigned(spec["width"]), depth=spec["depth"], init=[])
            m.submodules[name] = mem
            wr = mem.write_port()
            rd = mem.read_port(transparent_for=(wr,) if transparent else ())
            m.d.comb += [rd.en.eq(0), wr.en.eq(0)]
            return rd, wr

        q_rd, q_wr = memory("q_list")
        k_rd, k_wr = memory("k_list")
        vl_rd, vl_wr = memory("v_list")
        vb_rd, vb_wr = memory("v_bits", transparent=True)      # set bit: read-modify-write
        # Stage B writes the row stage A reads in the same cycle when rows repeat back to
        # back: one row per event (R = 1), or hadamard's column counters.
        acc_rd, acc_wr = memory("acc", transparent=(r == 1 or not linear))
        if linear:
            kv_rd, kv_wr = memory("kv", transparent=(r == 1))
            live_rd, live_wr = memory("kv_live", transparent=True)
        else:
            m_rd, m_wr = memory("m")

        m.submodules.update = update = NeuronUpdate(
            layer.neuron, size=layer.neurons, lanes=p, acc_bits=ab, burst=self._burst,
            emit=linear)

        phase = Signal(Phase)
        step = Signal(range(max(2, self._timesteps)))
        last_step = step == self._timesteps - 1
        m.d.comb += [update.last_step.eq(last_step), update.acc_data.eq(acc_rd.data)]

        # ---------------- INIT: zero the state after reset ----------------
        acc_rows, vb_rows = mems["acc"]["depth"], mems["v_bits"]["depth"]
        init_n = max(layer.neurons, acc_rows, vb_rows, d)
        init_ctr = Signal(range(init_n + 1))
        with m.If(phase == Phase.INIT):
            m.d.comb += [update.init.eq(init_ctr < layer.neurons), update.init_addr.eq(init_ctr),
                         acc_wr.addr.eq(init_ctr), acc_wr.en.eq(init_ctr < acc_rows),
                         vb_wr.addr.eq(init_ctr), vb_wr.en.eq(init_ctr < vb_rows)]
            if linear:
                m.d.comb += [live_wr.addr.eq(init_ctr), live_wr.en.eq(init_ctr < d)]
            m.d.sync += init_ctr.eq(init_ctr + 1)
            with m.If(init_ctr == init_n - 1):
                m.d.sync += phase.eq(Phase.RECV)

        # ---------------- RECV: one event per cycle ----------------
        # Stage 0 decodes the event (which list, its token's channel c, for linear its
        # A row base); stage 1 appends it to its list and reads its V bitmap row; stage 2
        # writes the row back with the bit set.
        n_q, n_k, n_v = (Signal(range(td + 1), name=f"n_{x}") for x in "qkv")
        ev = self.i_events.payload
        kind = Signal(2)                # 0 none, 1 Q, 2 K, 3 V
        s1_kind = Signal(2)
        s1_a = Signal(bits_for(td - 1))
        s1_entry = Signal(mems["q_list"]["width"])
        s2_set = Signal()
        s2_lane = Signal(range(p))
        vb_addr_bits = len(vb_wr.addr)

        # The entry of a Q or K event: (A row base, c) for linear, (a, c) for hadamard.
        c_bits = bits_for(d - 1)
        lo_bits = mems["q_list"]["width"] - c_bits
        in_q, in_k = ev.addr < td, ev.addr < 2 * td
        a = Signal(bits_for(td - 1))
        c = Signal(c_bits)
        lo = Signal(lo_bits)
        m.d.comb += [kind.eq(Mux(ev.addr >= 3 * td, 0, Mux(in_q, 1, Mux(in_k, 2, 3)))),
                     a.eq(Mux(in_q, ev.addr, Mux(in_k, ev.addr - td, ev.addr - 2 * td))),
                     c.eq(divmod_const(a, d, t_ - 1)[1])]
        if linear:
            # a - (c mod Dh) = n*D + h*Dh, a multiple of P: the first A row of the head.
            m.d.comb += lo.eq((a - divmod_const(c, dh, layer.heads - 1)[1])[:len(a)] >> lp)
        else:
            m.d.comb += lo.eq(a)
        entry = Cat(lo, c)

        m.d.sync += [s1_kind.eq(0), s2_set.eq(0)]
        with m.If(phase == Phase.RECV):
            m.d.comb += self.i_events.ready.eq(1)
            with m.If(self.i_events.valid):
                with m.If(ev.tick):
                    m.d.sync += phase.eq(Phase.KWALK)
                with m.Elif(ev.value != 0):
                    m.d.sync += [s1_kind.eq(kind), s1_a.eq(a), s1_entry.eq(entry)]
        # Stage 1 of the last event runs in the cycle the tick is taken; stage 2 of a last
        # V event in KWALK's first cycle, which only fetches a K entry (the bitmap is read
        # from its second cycle on).
        s1_row = s1_a >> lp
        with m.Switch(s1_kind):
            with m.Case(1):
                with m.If(n_q < td):
                    m.d.comb += [q_wr.addr.eq(n_q), q_wr.data.eq(s1_entry), q_wr.en.eq(1)]
                    m.d.sync += n_q.eq(n_q + 1)
            with m.Case(2):
                with m.If(n_k < td):
                    m.d.comb += [k_wr.addr.eq(n_k), k_wr.data.eq(s1_entry), k_wr.en.eq(1)]
                    m.d.sync += n_k.eq(n_k + 1)
            with m.Case(3):
                with m.If(n_v < td):
                    m.d.comb += [vl_wr.addr.eq(n_v), vl_wr.data.eq(s1_row), vl_wr.en.eq(1),
                                 vb_rd.addr.eq(s1_row), vb_rd.en.eq(1)]
                    m.d.sync += [n_v.eq(n_v + 1), s2_set.eq(1)]
        s2_row = Signal(vb_addr_bits)
        m.d.sync += [s2_row.eq(s1_row), s2_lane.eq(s1_a[:lp] if lp else 0)]
        with m.If(s2_set):
            m.d.comb += [vb_wr.addr.eq(s2_row), vb_wr.en.eq(1),
                         vb_wr.data.eq(vb_rd.data | (1 << s2_lane))]

        # ---------------- the list walker (KWALK, VCLEAR, QWALK, QEMIT) ----------------
        # Reads entry after entry of one list and issues `rows` operations per entry, one
        # per cycle while `go`; the next entry is read during the last row of the previous.
        walk_lists = {Phase.KWALK: (k_rd, n_k, r if linear else 1),
                      Phase.VCLEAR: (vl_rd, n_v, 1)}
        if linear:
            walk_lists[Phase.QWALK] = (q_rd, n_q, r)
        else:
            walk_lists[Phase.QEMIT] = (q_rd, n_q, 1)
        w_idx = Signal(range(td + 1))
        w_k = Signal(range(max(2, r)))
        w_have = Signal()
        w_go = Signal()                  # the consumer takes an operation this cycle
        op_valid = Signal()              # an operation is presented
        op_entry = Signal(max(len(k_rd.data), len(vl_rd.data)))
        walk_done = Signal()             # every entry issued (the walker is idle)
        op_last_row = Signal()
        # A walk's first cycle only fetches, even from an empty list: every walk costs
        # its operations + 2 cycles (a cycle model without cases).
        w_started = Signal()
        # Every phase change out of a walk starts the next one from its first entry.
        walk_restart = [w_idx.eq(0), w_k.eq(0), w_have.eq(0), w_started.eq(0)]
        for ph, (rd, count, rows) in walk_lists.items():
            with m.If(phase == ph):
                m.d.comb += [op_valid.eq(w_have), op_entry.eq(rd.data),
                             op_last_row.eq(w_k == rows - 1),
                             walk_done.eq(w_started & ~w_have & (w_idx == count))]
                m.d.sync += w_started.eq(1)
                fetch = Signal(name=f"fetch_{ph.name.lower()}")
                m.d.comb += fetch.eq((~w_have | (w_go & op_last_row)) & (w_idx < count))
                with m.If(fetch):
                    m.d.comb += [rd.addr.eq(w_idx), rd.en.eq(1)]
                    m.d.sync += [w_idx.eq(w_idx + 1), w_have.eq(1)]
                with m.Elif(w_go & w_have & op_last_row):
                    m.d.sync += w_have.eq(0)
                with m.If(w_go & w_have):
                    m.d.sync += w_k.eq(Mux(op_last_row, 0, w_k + 1))

        # Stage B of the accumulating walks: the rows read in stage A are summed and
        # written back one cycle later.
        b_valid = Signal()
        b_row = Signal(len(acc_wr.addr) if not linear else max(len(acc_wr.addr),
                                                               len(kv_wr.addr)))
        b_lane = Signal(range(p))
        b_last = Signal()
        b_c = Signal(range(d))
        m.d.sync += b_valid.eq(0)

        def lanes_add(dst, src, width_dst, width_src, mask=None):
            """``P`` lane-wise sums of a destination row and a source row of counters
            (0/1 bits when ``width_src`` is 1), optionally only lane ``mask``."""
            out = []
            for q in range(p):
                x = dst[q * width_dst:(q + 1) * width_dst]
                y = src[q * width_src:(q + 1) * width_src]
                if mask is not None:
                    y = y & (mask == q)
                out.append((x + y)[:width_dst])
            return Cat(*out)

        kvb = bits_for(t_)
        kb = _pow2_bits(r)
        ent_lo = op_entry[:lo_bits]                 # a (hadamard) or the A row base (linear)
        ent_c = op_entry[lo_bits:lo_bits + c_bits]  # the channel
        kv_row = Cat(w_k[:kb], ent_c) if kb else ent_c   # KV row (c, chunk): linear walks

        with m.If(phase == Phase.KWALK):
            m.d.comb += w_go.eq(1)
            with m.If(op_valid):
                if linear:
                    m.d.comb += [kv_rd.addr.eq(kv_row), kv_rd.en.eq(1),
                                 live_rd.addr.eq(ent_c), live_rd.en.eq(1),
                                 vb_rd.addr.eq(ent_lo + w_k), vb_rd.en.eq(1)]
                    m.d.sync += [b_valid.eq(1), b_row.eq(kv_row), b_c.eq(ent_c),
                                 b_last.eq(op_last_row)]
                else:
                    m.d.comb += [vb_rd.addr.eq(ent_lo >> lp), vb_rd.en.eq(1),
                                 acc_rd.addr.eq(ent_c >> lp), acc_rd.en.eq(1)]
                    m.d.sync += [b_valid.eq(1), b_row.eq(ent_c >> lp),
                                 b_lane.eq(ent_c[:lp] if lp else 0)]
            with m.If(walk_done):
                m.d.sync += [phase.eq(Phase.VCLEAR), *walk_restart]
        with m.If(b_valid & (phase != Phase.QWALK)):       # KWALK's stage B (and drain)
            if linear:
                old = Mux(live_rd.data, kv_rd.data, 0)
                m.d.comb += [kv_wr.addr.eq(b_row), kv_wr.en.eq(1),
                             kv_wr.data.eq(lanes_add(old, vb_rd.data, kvb, 1))]
                with m.If(b_last):
                    m.d.comb += [live_wr.addr.eq(b_c), live_wr.data.eq(1), live_wr.en.eq(1)]
            else:
                m.d.comb += [acc_wr.addr.eq(b_row), acc_wr.en.eq(1),
                             acc_wr.data.eq(lanes_add(acc_rd.data, vb_rd.data, ab, 1,
                                                      mask=b_lane))]

        with m.If(phase == Phase.VCLEAR):
            m.d.comb += w_go.eq(1)
            with m.If(op_valid):
                m.d.comb += [vb_wr.addr.eq(op_entry), vb_wr.data.eq(0), vb_wr.en.eq(1)]
            with m.If(walk_done):
                m.d.sync += [phase.eq(Phase.QWALK if linear else Phase.UPDATE), *walk_restart]
                if not linear:
                    m.d.comb += update.start.eq(1)

        if linear:
            with m.If(phase == Phase.QWALK):
                m.d.comb += w_go.eq(1)
                with m.If(op_valid):
                    m.d.comb += [kv_rd.addr.eq(kv_row), kv_rd.en.eq(1),
                                 live_rd.addr.eq(ent_c), live_rd.en.eq(1),
                                 acc_rd.addr.eq(ent_lo + w_k), acc_rd.en.eq(1)]
                    m.d.sync += [b_valid.eq(1), b_row.eq(ent_lo + w_k)]
                # The last row's stage B writes in the cycle the walk is done: start the
                # update one cycle later, when A is complete.
                drained = Signal()
                m.d.sync += drained.eq(walk_done)
                with m.If(drained):
                    m.d.sync += [phase.eq(Phase.UPDATE), drained.eq(0), *walk_restart]
                    m.d.comb += update.start.eq(1)
                with m.If(b_valid):
                    src = Mux(live_rd.data, kv_rd.data, 0)
                    m.d.comb += [acc_wr.addr.eq(b_row), acc_wr.en.eq(1),
                                 acc_wr.data.eq(lanes_add(acc_rd.data, src, ab, kvb))]

        # ---------------- UPDATE: the neuron update ----------------
        live_clr = Signal(range(d + 1))
        with m.If(phase == Phase.UPDATE):
            with m.If(update.acc_en):
                m.d.comb += [acc_rd.addr.eq(update.acc_addr), acc_rd.en.eq(1)]
            with m.If(update.clear_row):
                m.d.comb += [acc_wr.addr.eq(update.clear_addr), acc_wr.data.eq(0),
                             acc_wr.en.eq(1)]
            if linear:
                wiring.connect(m, update.o_spikes, wiring.flipped(self.o_events))
                # Every KV row reads as zero again next timestep: D <= T*D update cycles.
                with m.If(live_clr < d):
                    m.d.comb += [live_wr.addr.eq(live_clr), live_wr.data.eq(0),
                                 live_wr.en.eq(1)]
                    m.d.sync += live_clr.eq(live_clr + 1)
            else:
                m.d.comb += [m_wr.addr.eq(update.result_index),
                             m_wr.data.eq(update.result_spikes), m_wr.en.eq(update.result_valid)]
            with m.If(update.done):
                m.d.sync += [phase.eq(Phase.TICK if linear else Phase.QEMIT), live_clr.eq(0)]

        if not linear:
            # QEMIT: walker -> stage A reads m[c] -> stage E sends m[c] at address a.
            e_valid = Signal()
            e_addr = Signal(bits_for(td - 1))
            done_seen = Signal()
            m.d.sync += done_seen.eq(walk_done & (phase == Phase.QEMIT))
            with m.If(phase == Phase.QEMIT):
                # Driven only in this phase: an unconditional constant on part of the
                # payload becomes an `always @*` that simulators never run (to_verilog).
                e_done = send_spike(m, self.o_events, e_valid, e_addr, m_rd.data, self._burst)
                advance = ~e_valid | e_done
                m.d.comb += w_go.eq(advance)
                with m.If(advance):
                    m.d.comb += [m_rd.addr.eq(ent_c), m_rd.en.eq(1)]
                    m.d.sync += [e_valid.eq(op_valid), e_addr.eq(ent_lo)]
                    # Done once the walk was done a cycle ago too: an empty list then
                    # costs what a full one costs beyond its operations (Eq + 3).
                    with m.If(walk_done & done_seen & ~e_valid):
                        m.d.sync += [phase.eq(Phase.TICK), *walk_restart]

        with m.If(phase == Phase.TICK):
            m.d.comb += [self.o_events.valid.eq(1), self.o_events.p.tick.eq(1)]
            with m.If(self.o_events.ready):
                m.d.sync += [phase.eq(Phase.RECV), step.eq(Mux(last_step, 0, step + 1)),
                             n_q.eq(0), n_k.eq(0), n_v.eq(0)]
        return m
