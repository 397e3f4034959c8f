"""Formal proofs of the multicast AER router (:class:`hwgen.core.router.Router`).

For every input and back-pressure sequence (DESIGN.md section 5):

1. every output keeps the stream contract: once valid and not ready, next cycle still
   valid with the same payload;
2. nothing is created, lost, duplicated, reordered or changed: each packet on an input
   leaves every output of its source's row exactly once, unchanged and in its source's
   order (ticks too, on a ``LINK``), and leaves its input only once all of them took it;
3. at a ``Deliver`` output no event crosses a tick: once a source's tick is absorbed, no
   packet of that source passes the output until the output's merged tick has left, and the
   merged tick leaves only once every expected source's tick of the round is in: one merged
   tick per round.

Every input is a free source (``AnySeq``) only assumed to keep the stream protocol and to
carry each source id on one fixed input port (a free constant, or the ``arrivals`` the
router is built with: that is how the fabric uses a router), ids of the table only; every
output's ``ready`` is free, and so is the reset.
The checkers are the specification; the ``internal`` registers they name only make
k-induction carry (each ``Assert`` named "invariant" is itself proven).

Without input buffers (``buffer_depth=0``) an input's head is the input port itself: the
checker can name the packet an output takes, and all three properties are proven by
k-induction. With buffers the heads sit in the FIFOs' memories, which no invariant can name
(see ``test_stream_formal.fifo_spec``): property 1 is still proven by k-induction, and 2
and 3 by BMC, end to end from the ports (one watched packet per output, chosen freely as
it enters). The ``Cover`` runs show that the assumptions leave the runs the proofs are
about, and the last tests show that the harness fails broken routers.
"""

import pytest
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Array, Assert, Assume, Cat, Const, Cover, Module, Signal
from formal import elaborated, fire, free_sink, free_source, internal, past, prove

from hwgen.aer import packet_layout
from hwgen.core import router as router_module
from hwgen.core.round_robin import RoundRobin
from hwgen.core.router import LINK, Deliver, Router

# addr 1 bit, value 1 bit, tick, src 2 bits: up to 4 source ids.
LAYOUT = packet_layout(4, 2, 1)
IDS = 1 << LAYOUT["src"].width

# Each: inputs, outputs, table and, optionally, arrivals (per input, the sources that
# arrive there, which the router is told). A Deliver port expects exactly the sources
# routed to it (as hwgen.fabric builds them), and at least one source is multicast to a
# link and a Deliver port.
ROUTERS = {
    # Source 0 to both outputs, 1 only delivered, 2 only linked (src 3: never sent).
    "2in": (2, [LINK, Deliver([0, 1])], [{0, 1}, {1}, {0}]),
    # Two deliveries and a link: source 0 to all three, 1 to both deliveries, 2 to one.
    "3in": (3, [Deliver([0, 1]), LINK, Deliver([0, 1, 2])], [{0, 1, 2}, {0, 2}, {2}]),
    # Every src value a source: with input buffers, in induction, the FIFOs' memories hold
    # any value, so no id may be one the table does not have.
    "2in4src": (2, [LINK, Deliver([0, 1, 3])], [{0, 1}, {1}, {0}, {0, 1}]),
    # As a mesh router is built: the router knows which sources arrive where, inputs 0
    # and 2 have one source each (a constant row), input 1 two (a table lookup, masked to
    # what they reach); o_2 is reachable from inputs 1 and 2 only.
    "3in_arrivals": (3, [LINK, Deliver([0, 1, 3]), LINK],
                     [{0, 1}, {1}, {0, 2}, {1, 2}], [{0}, {1, 2}, {3}]),
}
HOLD_BUFFERED = ["2in4src", "3in_arrivals"]    # k-induction of property 1 with buffers
BMC_BUFFERED = "2in"     # BMC from reset: only ids that entered (4 sources: 4x slower)
BUFFER_DEPTH = 2      # the least a router between routers gets (Router's docstring)
BMC_CYCLES = 7        # the buffered BMC: every cover below is reached within 4






def _any(values):
    values = list(values)
    return (sum(values) != 0) if values else Const(0)








def _routed(table, j):
    """Sources whose packets leave by output ``j``."""
    return [s for s, row in enumerate(table) if j in row]


def _routes(m, table, src, j, name):
    """1 when source ``src``'s row of the table holds output ``j``."""
    bit = Signal(name=name)
    rows = table + [set()] * (IDS - len(table))
    m.d.comb += bit.eq(Array(int(j in row) for row in rows)[src])
    return bit


def _by_source(values, src, default=0):
    """``values[src]`` of a dict keyed by source id (``default`` for the others)."""
    return Array(values.get(s, default) for s in range(IDS))[src]


def _fixed_ports(m, streams, sources, arrivals=None):
    """Each source id arrives on one input port and only ids ``< sources`` arrive: on input
    ``k`` the sources ``arrivals[k]`` (disjoint sets), or with ``arrivals=None`` the ones
    whose free constant ``port[src]`` is ``k``."""
    if arrivals is None:
        port = Array(Signal(range(len(streams)), name=f"port_{s}") for s in range(sources))
        for s in range(sources):
            m.d.comb += [port[s].eq(AnyConst(range(len(streams)))),
                         Assume(port[s] < len(streams))]
        arrives = [(i.p.src < sources) & (port[i.p.src] == k) for k, i in enumerate(streams)]
    else:
        arrives = [_any(i.p.src == s for s in arrivals[k]) for k, i in enumerate(streams)]
    for k, i in enumerate(streams):
        m.d.comb += Assume(~i.valid | arrives[k], f"i_{k} carries its own sources")


def _candidates(table, arrivals, inputs, j):
    """The inputs that can send to output ``j``, in the order of its round-robin's
    ``sel`` (all of them unless ``arrivals`` say otherwise)."""
    arrivals = arrivals or [range(len(table))] * inputs
    return [k for k in range(inputs) if any(j in table[s] for s in arrivals[k])]


# --- k-induction, without input buffers -------------------------------------------------------

def _harness(dut, inputs, table, arrivals):
    """A proof module holding ``dut`` with a free source on every input, each source id
    fixed to one input (``arrivals``, or free constants: :func:`_fixed_ports`). Returns
    ``(module, dut's fragment, inputs, [(stalled, payload) of each input])``."""
    sub, fragment = elaborated(dut)
    m = Module()
    m.submodules.dut = sub
    ins = [getattr(dut, f"i_{k}") for k in range(inputs)]
    stalled = [free_source(m, i, f"i_{k}") for k, i in enumerate(ins)]
    _fixed_ports(m, ins, len(table), arrivals)
    return m, fragment, ins, stalled


def router_spec(inputs, outputs, table, arrivals=None, dut=None):
    """The three properties, stated at the heads (here: the input ports).

    ``done[k]``: the outputs that sent input ``k``'s head. A packet an output sends must be
    one head that is for it and that it has not sent yet, with the same payload; a head
    leaves its input only once every output of its row sent it.

    A ``Deliver`` output absorbs a source's tick unseen, so for each source routed to it the
    checker keeps ``lag`` = merged ticks sent - the source's ticks taken from its input:

    *  0: the round is open for the source (its events may leave);
    * -1: its tick of the round left its input: the source waits for the merged tick
      (no event of it out, none of its packets off its input);
    * +1: the merged tick left while the source's tick (absorbed) still sits at its input,
      kept there by another output of its row.

    The merged tick may leave only when, for every source routed to the output, ``lag`` is
    -1, or 0 with the source's tick at its input; it adds one to each ``lag``.
    """
    dut = dut or Router(LAYOUT, inputs, outputs, table, arrivals=arrivals)
    m, fragment, heads, i_stalled = _harness(dut, inputs, table, arrivals)
    outs = [getattr(dut, f"o_{j}") for j in range(len(outputs))]
    o_stalled = [free_sink(m, o, f"o_{j}") for j, o in enumerate(outs)]
    n_out = len(outputs)

    done = [Signal(n_out, name=f"done_{k}") for k in range(inputs)]
    taken = [internal(fragment, f"taken_{k}") for k in range(inputs)]
    routes = [[_routes(m, table, h.p.src, j, f"i_{k}_routes_{j}") for j in range(n_out)]
              for k, h in enumerate(heads)]
    # sends[k][j]: output j sends input k's head now.
    sends = [[Signal(name=f"o_{j}_sends_i_{k}") for j in range(n_out)] for k in range(inputs)]
    lags = {}                    # j: {source: lag} of Deliver output j

    for j, (kind, o) in enumerate(zip(outputs, outs, strict=True)):
        deliver = isinstance(kind, Deliver)
        packet = fire(o) & ~o.p.tick if deliver else fire(o)     # not the merged tick
        matches = []
        for k, h in enumerate(heads):
            match = Signal(name=f"o_{j}_matches_i_{k}")
            m.d.comb += [match.eq(h.valid & (h.payload.as_value() == o.payload.as_value()) &
                                  routes[k][j] & ~done[k][j]),
                         sends[k][j].eq(packet & match)]
            matches.append(match)
        m.d.comb += Assert(~packet | (sum(matches) == 1),
                           f"o_{j} sends a head that is for it and that it has not sent")
        if not deliver:
            for k in range(inputs):
                m.d.comb += Assert(taken[k][j] == done[k][j], f"invariant: taken_{k}[{j}]")
            continue

        # A Deliver output: per source, the lag of its ticks behind the merged ticks.
        ticked = internal(fragment, f"o{j}_ticked")
        merged = fire(o) & o.p.tick
        lag = lags[j] = {}
        for s in range(len(table)):
            if s not in _routed(table, j):
                m.d.comb += Assert(~ticked[s], f"invariant: o{j}_ticked[{s}] (not routed)")
                continue
            lag[s] = Signal(range(-2, 3), name=f"o_{j}_lag_{s}")
            # Input k's head is a packet (a tick, an event) of source s.
            tick = [h.valid & (h.p.src == s) & h.p.tick for h in heads]
            event = [h.valid & (h.p.src == s) & ~h.p.tick for h in heads]
            tick_in = _any(fire(h) & t for h, t in zip(heads, tick, strict=True))
            at_head = _any(tick)
            absorbed = _any(t & taken[k][j] for k, t in enumerate(tick))
            waits = _any(event)
            m.d.sync += lag[s].eq(lag[s] + merged - tick_in)
            with m.If(packet & (o.p.src == s)):
                m.d.comb += Assert(lag[s] == 0, f"o_{j}: no event of source {s} crosses its tick")
            with m.If(tick_in):
                m.d.comb += Assert(lag[s] != -1,
                                   f"source {s}'s next tick waits for o_{j}'s merged tick")
            with m.If(merged):
                m.d.comb += Assert((lag[s] == -1) | ((lag[s] == 0) & at_head),
                                   f"o_{j}: merged tick only after source {s}'s tick")
            m.d.comb += [
                Assert((lag[s] >= -1) & (lag[s] <= 1), f"o_{j}: one merged tick per round of {s}"),
                Assert(ticked[s] == ((lag[s] == -1) | ((lag[s] == 0) & absorbed)),
                       f"invariant: o{j}_ticked[{s}]"),
                Assert((lag[s] != 1) | absorbed, f"invariant: o_{j} ahead of source {s}"),
                Cover((lag[s] == -1) & waits, f"o_{j}: source {s}'s event waits for the tick"),
            ]
            if any(outputs[x] == LINK for x in table[s]):     # only a link holds its tick
                m.d.comb += Cover(lag[s] == 1, f"o_{j}: merged tick out, source {s}'s tick held")
        for k, h in enumerate(heads):
            s_lag = _by_source(lag, h.p.src)
            absorbed = (s_lag == 1) | ((s_lag == 0) & ticked.bit_select(h.p.src, 1))
            with m.If(h.valid & h.p.tick & routes[k][j]):
                m.d.comb += Assert(~taken[k][j] | absorbed, f"invariant: taken_{k}[{j}] (tick)")
            with m.Else():
                m.d.comb += Assert(taken[k][j] == done[k][j], f"invariant: taken_{k}[{j}]")

    for k, h in enumerate(heads):
        for j, kind in enumerate(outputs):
            absorbed = h.p.tick if isinstance(kind, Deliver) else Const(0)  # lag checks those
            with m.If(fire(h) & routes[k][j] & ~absorbed):
                m.d.comb += Assert(done[k][j] | sends[k][j], f"i_{k} leaves after o_{j} sent it")
        with m.If(fire(h)):
            m.d.sync += done[k].eq(0)
        with m.Elif(h.valid):
            m.d.sync += done[k].eq(done[k] | Cat(*sends[k]))
        m.d.comb += Assert(h.valid | (done[k] == 0), f"i_{k}: nothing sent while idle")
        multicast = [s for s in (arrivals[k] if arrivals else range(len(table)))
                     if len(table[s]) > 1]
        if multicast:
            m.d.comb += Cover(fire(h) & ~h.p.tick & (done[k] != 0) &
                              _any(h.p.src == s for s in multicast),
                              f"i_{k}: a multicast event leaves, sent in several cycles")

    # The round-robin's held choice (``sel_held``-th of the output's candidate inputs): a
    # stalled head for the output, not yet sent by it.
    for j, (kind, o) in enumerate(zip(outputs, outs, strict=True)):
        cands = _candidates(table, arrivals, inputs, j)
        held = internal(fragment, f"o{j}_held")
        sel_held = internal(fragment, f"o{j}_sel_held")
        last = internal(fragment, f"o{j}_last")
        stalled, was_bits = o_stalled[j]
        was = LAYOUT(was_bits)
        ok = (stalled & Array(i_stalled[k][0] for k in cands)[sel_held] &
              (Array(i_stalled[k][1] for k in cands)[sel_held] == was_bits) &
              Array(routes[k][j] for k in cands)[sel_held] &
              ~Array(done[k][j] for k in cands)[sel_held])
        if isinstance(kind, Deliver):
            ok &= ~was.tick & (_by_source(lags[j], was.src) == 0)
            m.d.comb += Cover(stalled & fire(o) & o.p.tick, f"o_{j}: a stalled merged tick leaves")
        m.d.comb += [
            Assert((last < len(cands)) & (sel_held < len(cands)), f"invariant: o{j} indices"),
            Assert(~held | ok, f"invariant: o{j} held"),
            Cover(stalled & fire(o) & ~o.p.tick, f"o_{j}: a stalled packet leaves"),
        ]
    return m


@pytest.mark.parametrize("case", sorted(ROUTERS))
def test_router(case):
    prove(f"router_{case}", router_spec(*ROUTERS[case]), depth=3)


@pytest.mark.parametrize("case", sorted(ROUTERS))
def test_router_spec_is_not_vacuous(case):
    """Multicast in several cycles, stalls, merged ticks, a source's event waiting for the
    merged tick and a merged tick leaving before the absorbed tick leaves its input."""
    prove(f"router_cover_{case}", router_spec(*ROUTERS[case]), mode="cover", depth=6)


# --- With input buffers -----------------------------------------------------------------------

def buffered_hold_spec(inputs, outputs, table, arrivals=None, depth=BUFFER_DEPTH):
    """Property 1 with input FIFOs, by k-induction: an output's held choice is a head (a
    FIFO's output) for it, not taken by it, whose payload it offered last cycle; a Deliver
    port holds only an event, of a source that has not ticked, and no merged tick is due."""
    dut = Router(LAYOUT, inputs, outputs, table, buffer_depth=depth, arrivals=arrivals)
    m, fragment, ins, _ = _harness(dut, inputs, table, arrivals)
    valid = [internal(fragment, "o_events__valid", f"in_{k}") for k in range(inputs)]
    payload = [internal(fragment, "o_events__payload", f"in_{k}") for k in range(inputs)]
    taken = [internal(fragment, f"taken_{k}") for k in range(inputs)]
    for j, kind in enumerate(outputs):
        cands = _candidates(table, arrivals, inputs, j)
        o = getattr(dut, f"o_{j}")
        stalled, was_bits = free_sink(m, o, f"o_{j}")
        held = internal(fragment, f"o{j}_held")
        sel_held = internal(fragment, f"o{j}_sel_held")
        was = LAYOUT(was_bits)
        # The row the router gives the head: in induction a FIFO holds any src, also one
        # that never arrives on its input (a one-source input takes its source's row).
        row = [Const(j in table[min(arrivals[k])]) if arrivals and len(arrivals[k]) == 1
               else _routes(m, table, LAYOUT(payload[k]).src, j, f"in_{k}_routes_{j}")
               for k in cands]
        ok = (stalled & Array(valid[k] for k in cands)[sel_held] &
              (Array(payload[k] for k in cands)[sel_held] == was_bits) &
              Array(row)[sel_held] & ~Array(taken[k][j] for k in cands)[sel_held])
        if isinstance(kind, Deliver):
            ticked = internal(fragment, f"o{j}_ticked")
            every = sum(1 << s for s in kind.expected)
            ok &= ~was.tick & ~ticked.bit_select(was.src, 1) & ((ticked & every) != every)
        m.d.comb += [
            Assert(sel_held < len(cands), f"invariant: o{j} index"),
            Assert(~held | ok, f"invariant: o{j} held"),
            Cover(stalled & fire(o), f"o_{j}: a stalled packet leaves"),
        ]
    return m


def buffered_spec(inputs, outputs, table, depth=BUFFER_DEPTH, dut=None):
    """Properties 2 and 3 end to end, from the input ports to the output ports (for BMC).

    Per output ``j`` and source ``s`` routed to it, ``inside``: the packets of ``s`` for
    ``j`` (its events, at a Deliver port) that entered an input and have not left ``j``;
    none leaves that did not enter. ``pending``, at a Deliver port: ticks of ``s`` that
    entered minus merged ticks sent; each merged tick needs one of every source.

    Each output watches one packet, chosen freely as it enters: it records the payload,
    how many packets of its source are ahead of it (``ahead``) and, at a Deliver port, how
    many merged ticks must leave before it (``rounds``: its source's ticks ahead of it not
    merged yet). The next packet of that source out once ``ahead`` is 0 must be it, after
    exactly ``rounds`` merged ticks: a lost, created, duplicated, reordered or changed
    packet fails for some choice, and so does an event that crosses a tick, either way.

    The ports are fixed (source ``s`` on input ``s % inputs``, which the router is not told):
    a free choice of them made the BMC five times slower.
    """
    dut = dut or Router(LAYOUT, inputs, outputs, table, buffer_depth=depth)
    ports = [{s for s in range(len(table)) if s % inputs == k} for k in range(inputs)]
    m, _, ins, _ = _harness(dut, inputs, table, ports)
    pick = Signal(range(inputs))                # the input a watched packet may come from
    m.d.comb += [pick.eq(AnySeq(len(pick))), Assume(pick < inputs)]

    for j, kind in enumerate(outputs):
        o = getattr(dut, f"o_{j}")
        stalled, _ = free_sink(m, o, f"o_{j}")
        deliver = isinstance(kind, Deliver)
        routed = _routed(table, j)
        merged = fire(o) & o.p.tick if deliver else Const(0)
        sent = fire(o) & ~o.p.tick if deliver else fire(o)
        # The packets entering each input that count for j (events only, at a Deliver port).
        enters = [fire(i) & _routes(m, table, i.p.src, j, f"i_{k}_routes_{j}") &
                  (~i.p.tick if deliver else Const(1)) for k, i in enumerate(ins)]
        m.d.comb += Assert(~sent | _any(o.p.src == s for s in routed),
                           f"o_{j} sends only packets of sources routed to it")
        inside, pending = {}, {}
        for s in routed:
            inside[s] = Signal(range(-1, 8), name=f"o_{j}_inside_{s}")
            enter = _any(e & (i.p.src == s) for e, i in zip(enters, ins, strict=True))
            leave = sent & (o.p.src == s)
            m.d.sync += inside[s].eq(inside[s] + enter - leave)
            m.d.comb += Assert(~leave | (inside[s] > 0),
                               f"o_{j} sends only packets of source {s} that entered")
            if deliver:
                pending[s] = Signal(range(-1, 8), name=f"o_{j}_pending_{s}")
                tick = _any(fire(i) & i.p.tick & (i.p.src == s) for i in ins)
                m.d.sync += pending[s].eq(pending[s] + tick - merged)
                m.d.comb += Assert(~merged | (pending[s] > 0),
                                   f"o_{j}: merged tick only after source {s}'s tick")

        watching = Signal(name=f"o_{j}_watching")
        watched = Signal(LAYOUT, name=f"o_{j}_watched")
        ahead = Signal(range(8), name=f"o_{j}_ahead")
        rounds = Signal(range(8), name=f"o_{j}_rounds")
        its = sent & (o.p.src == watched.src)               # a packet of its source leaves
        with m.If(watching):
            with m.If(its & (ahead == 0)):
                m.d.comb += Assert(o.payload.as_value() == watched.as_value(),
                                   f"o_{j} sends the watched packet in its turn")
                if deliver:
                    m.d.comb += Assert(rounds == 0, f"o_{j}: no event crosses a tick")
                m.d.sync += watching.eq(0)
            with m.Elif(its):
                m.d.sync += ahead.eq(ahead - 1)
            with m.If(merged):
                m.d.comb += Assert(rounds != 0, f"o_{j}: no merged tick passes an event")
                m.d.sync += rounds.eq(rounds - 1)
        with m.Elif(Array(enters)[pick] & AnySeq(1)):
            new = Array(ins)[pick]
            m.d.sync += [
                watching.eq(1), watched.eq(new.payload),
                ahead.eq(_by_source(inside, new.p.src) - (sent & (o.p.src == new.p.src))),
                rounds.eq(_by_source(pending, new.p.src) - merged),
            ]
        m.d.comb += [
            Cover(watching & its & (ahead == 0) & stalled,
                  f"o_{j}: the watched packet leaves after a stall"),
            Cover(watching & its & (ahead == 0) & (watched.src == routed[0]) &
                  past(m, watching & (ahead == 1), f"o_{j}_was_behind"),
                  f"o_{j}: a packet watched behind another leaves"),
        ]
        if deliver:
            m.d.comb += Cover(watching & merged & (rounds == 1),
                              f"o_{j}: a watched event waits for the merged tick")
    return m


@pytest.mark.parametrize("case", HOLD_BUFFERED)
def test_buffered_router_holds(case):
    prove(f"router_buffered_hold_{case}", buffered_hold_spec(*ROUTERS[case]), depth=3)


# BMC_CYCLES: the covers below are all reached within 4 (a watched event that waits for a
# merged tick, one watched behind another, after a stall); each cycle more about doubles the
# time (with the 2-entry SyncFIFO at each input, 7 cycles: about a minute; 9: ten).
def test_buffered_router_bmc():
    prove("router_buffered_bmc", buffered_spec(*ROUTERS[BMC_BUFFERED]), mode="bmc",
          depth=BMC_CYCLES)


def test_buffered_spec_is_not_vacuous():
    prove("router_buffered_cover", buffered_spec(*ROUTERS[BMC_BUFFERED]), mode="cover",
          depth=BMC_CYCLES)


# --- The harness fails broken routers ---------------------------------------------------------

class _ForgetfulRouter(Router):
    """Forgets which outputs took a head: an output whose packet waits at its input for
    another output sends it again."""

    def _wants(self, j, heads, masks, taken):
        return [h.valid & masks[k][j] for k, h in enumerate(heads)]


class _NoHoldRoundRobin(RoundRobin):
    """Re-chooses every cycle, even while the output stalls."""

    def hold(self, m, stalled):
        super().hold(m, 0)


class _LeakyRouter(Router):
    """Its Deliver ports absorb and merge ticks but keep serving a source that has sent its
    tick (``Router._deliver`` without that one exclusion)."""

    def _waits_for_merged_tick(self, ticked, head):
        return Const(0)


def test_harness_catches_a_router_that_sends_a_packet_twice():
    inputs, outputs, table = ROUTERS["2in"]
    m = router_spec(inputs, outputs, table,
                    dut=_ForgetfulRouter(LAYOUT, inputs, outputs, table))
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*o_\d sends a head that is for it "
                                             r"and that it has not sent"):
        prove("router_forgetful_negative", m, depth=3)


def test_harness_catches_a_router_that_rechooses_while_stalled(monkeypatch):
    monkeypatch.setattr(router_module, "RoundRobin", _NoHoldRoundRobin)
    m = router_spec(*ROUTERS["2in"])
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*o_\d holds"):
        prove("router_no_hold_negative", m, depth=3)


def test_harness_catches_a_delivery_that_does_not_wait_for_every_source():
    """A Deliver port that expects only source 0 sends its tick before source 1's."""
    inputs, outputs, table = ROUTERS["2in"]
    m = router_spec(inputs, outputs, table,
                    dut=Router(LAYOUT, inputs, [LINK, Deliver([0])], table))
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*o_1: merged tick only after "
                                             r"source 1's tick"):
        prove("router_early_tick_negative", m, depth=3)


def test_harness_catches_a_delivery_that_lets_an_event_cross_a_tick():
    inputs, outputs, table = ROUTERS["2in"]
    m = router_spec(inputs, outputs, table, dut=_LeakyRouter(LAYOUT, inputs, outputs, table))
    # Either a next event or a next tick of a source that has ticked gets through.
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*(o_1: no event of source \d crosses "
                                             r"its tick|source \d's next tick waits for o_1)"):
        prove("router_leaky_negative", m, depth=3)


def test_harness_catches_a_buffered_delivery_that_lets_an_event_cross_a_tick():
    inputs, outputs, table = ROUTERS[BMC_BUFFERED]
    dut = _LeakyRouter(LAYOUT, inputs, outputs, table, buffer_depth=BUFFER_DEPTH)
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*o_1: no (event crosses a tick|"
                                             r"merged tick passes an event)"):
        prove("router_buffered_leaky_negative", buffered_spec(inputs, outputs, table, dut=dut),
              mode="bmc", depth=BMC_CYCLES)
