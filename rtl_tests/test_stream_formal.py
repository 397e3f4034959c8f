"""Formal proofs of the stream blocks (DESIGN.md sections 5 and 6): EventFIFO,
EventBroadcast and EventMerge keep the stream contract and neither lose, create nor
duplicate an event, for every input and back-pressure sequence.

Every input is driven by a free source (``AnySeq``) that is only assumed to keep the stream
protocol; every output's ``ready`` is free, and so is the reset (the checkers reset with the
block). The checkers below are the specification; the ``internal`` registers they name are
only there to make k-induction carry (each ``Assert(spec_state == internal)`` is an
invariant, itself proven). Each block's ``Cover`` run shows that the assumptions leave the
runs its proof is about, and the last test shows that the harness fails a broken block.
"""

import pytest
from amaranth.asserts import AnySeq
from amaranth.hdl import Array, Assert, Cat, Cover, Module, Mux, Signal
from formal import elaborated, fire, free_sink, free_source, internal, past, prove

from hwgen.aer import event_layout
from hwgen.core.event_broadcast import EventBroadcast
from hwgen.core.event_fifo import EventFIFO
from hwgen.core.event_merge import EventMerge

# --- EventFIFO -------------------------------------------------------------------------------

FIFO_LAYOUT = event_layout(4, 3)


def fifo_spec(depth, order):
    """Hold on the output and the FIFO's bookkeeping (the events inside = taken - given,
    never more than ``depth``, none offered from an empty FIFO, none sitting unseen for two
    cycles); with ``order``, also that the events leave exactly as they came in.

    ``order`` watches one symbolic entry: a free choice picks one input handshake, records
    its payload and how many events are ahead of it, and when that many have left the next
    one out must be it. A lost, duplicated, created or reordered event fails this for some
    choice. It is proven by BMC only: the entry sits in the FIFO's memory, whose rows
    Amaranth cannot name in a design, so no invariant ties the watched word to the memory
    and k-induction fails on unreachable memory contents.
    """
    dut = EventFIFO(FIFO_LAYOUT, depth)
    sub, fragment = elaborated(dut)
    m = Module()
    m.submodules.dut = sub
    i, o = dut.i_events, dut.o_events
    free_source(m, i, "i_events")
    free_sink(m, o, "o_events")

    inside = Signal(range(depth + 2))
    m.d.sync += inside.eq(inside + fire(i) - fire(o))
    m.d.comb += [
        Assert(inside == internal(fragment, "level", "fifo"), "invariant: level"),
        Assert(inside <= depth, "never more than depth events inside"),
        Assert(~o.valid | (inside != 0), "nothing offered from an empty FIFO"),
        Cover((inside == depth) & fire(o), "full, and an event leaves"),
    ]
    idle = past(m, ~o.valid, "o_idle")
    inside_before = past(m, inside, "inside_before")
    m.d.comb += Assert(~(idle & ~o.valid) | (inside_before == 0),
                       "an event inside shows on the output within two cycles")

    if order:
        watching = Signal()
        ahead = Signal(range(depth + 1))
        watched = Signal(FIFO_LAYOUT)
        m.d.comb += Assert(~watching | (ahead < inside), "the watched event is inside")
        with m.If(watching & (ahead == 0) & o.valid):
            m.d.comb += Assert(o.payload.as_value() == watched.as_value(),
                               "the watched event is offered in its turn")
        with m.If(watching & fire(o)):
            m.d.sync += ahead.eq(ahead - 1)
            with m.If(ahead == 0):
                m.d.sync += watching.eq(0)
        with m.If(~watching & fire(i) & AnySeq(1)):
            m.d.sync += [watching.eq(1), ahead.eq(inside - fire(o)), watched.eq(i.payload)]
        m.d.comb += [
            Cover(watching & (ahead == depth - 1), "an event watched behind depth - 1 others"),
            Cover(watching & (ahead == 0) & fire(o), "the watched event leaves"),
        ]
    return m


@pytest.mark.parametrize("depth", [1, 3, 4, 16])    # 16: the generator's default
def test_fifo_hold_and_level(depth):
    prove(f"fifo_prove_d{depth}", fifo_spec(depth, order=False), depth=3)


# BMC, not induction (see fifo_spec). Depth 1 is SyncFIFOBuffered's register-only case,
# 2..4 have memories of 1..3 rows (3: a pointer wrap that is not a power of two); 16..24
# cycles let that many events through, wrapping the pointers several times. Deeper FIFOs
# would need longer runs than this file's time budget (the 4-deep case is its slowest).
@pytest.mark.parametrize("depth,bmc_depth", [(1, 16), (2, 24), (3, 22), (4, 16)])
def test_fifo_order_bmc(depth, bmc_depth):
    prove(f"fifo_order_d{depth}", fifo_spec(depth, order=True), mode="bmc", depth=bmc_depth)


def test_fifo_spec_is_not_vacuous():
    """The assumptions leave the runs the proofs are about (a full FIFO, a watched event)."""
    prove("fifo_cover_d3", fifo_spec(3, order=True), mode="cover", depth=10)


# --- EventBroadcast --------------------------------------------------------------------------

def broadcast_spec(count):
    """Each output offers the input's event until it took it, with the same payload, and
    takes it once; the input is taken in the cycle the last output takes it, not before."""
    layout = event_layout(4, 3)
    dut = EventBroadcast(layout, count)
    sub, fragment = elaborated(dut)
    m = Module()
    m.submodules.dut = sub
    i = dut.i_events
    free_source(m, i, "i_events")
    took = Signal(count)        # outputs that took the event now on the input
    for k, o in enumerate(dut.outputs()):
        free_sink(m, o, f"o_{k}")
        m.d.comb += [
            Assert(o.valid == (i.valid & ~took[k]), f"o_{k} offers the event until it took it"),
            Assert(~o.valid | (o.payload.as_value() == i.payload.as_value()),
                   f"o_{k} carries the input's payload"),
        ]
        with m.If(fire(o)):
            m.d.sync += took[k].eq(1)
    with m.If(fire(i)):
        m.d.comb += Assert(Cat(took[k] | fire(o) for k, o in enumerate(dut.outputs())).all(),
                           "input taken once every output took it")
        m.d.sync += took.eq(0)
    m.d.comb += [
        Assert(i.valid | (took == 0), "no output took anything while the input is idle"),
        Assert(took == internal(fragment, "taken"), "invariant: taken"),
        Cover(fire(i) & (took == (1 << count) - 2), "o_0 takes the event last"),
    ]
    return m


@pytest.mark.parametrize("count", [1, 2, 3])
def test_broadcast(count):
    prove(f"broadcast_{count}", broadcast_spec(count), depth=3)


def test_broadcast_spec_is_not_vacuous():
    prove("broadcast_cover_3", broadcast_spec(3), mode="cover", depth=6)


# --- EventMerge ------------------------------------------------------------------------------

def merge_hold_spec(dut):
    """The stream contract alone, on every input (assumed) and the output (asserted)."""
    sub, fragment = elaborated(dut)
    m = Module()
    m.submodules.dut = sub
    stalled = [free_source(m, src, f"i_{k}")[0] for k, src in enumerate(dut.inputs())]
    o_stalled, _ = free_sink(m, dut.o_events, "o_events")
    return m, fragment, stalled, o_stalled


def merge_spec(sizes, max_values):
    """Events, ticks and fairness of the merge.

    * An in-range non-tick event taken on input ``k`` leaves in the same cycle as
      ``(addr + sum(sizes[:k]), value)``, and every non-tick output event is exactly one
      such handshake (so out-of-range events and input ticks make none).
    * A round is complete once every input has delivered its tick; the output offers a
      tick exactly while the round is complete, and nothing is taken from an input that
      has delivered its tick in the current round.
    * Round-robin: while input ``k`` has something to deliver, at most ``count - 1`` other
      handshakes happen before its own.
    """
    dut = EventMerge(sizes, max_values)
    m, fragment, stalled, o_stalled = merge_hold_spec(dut)
    o, inputs, count = dut.o_events, dut.inputs(), len(sizes)
    fires = [fire(src) for src in inputs]

    delivered = Signal(count)   # inputs whose tick of the current round was taken
    complete = delivered == (1 << count) - 1
    with m.If(fire(o) & o.p.tick):
        m.d.sync += delivered.eq(0)
    forwards = []               # in-range non-tick handshakes: each must leave now
    for k, src in enumerate(inputs):
        forward = fires[k] & ~src.p.tick & (src.p.addr < sizes[k])
        forwards.append(forward)
        with m.If(forward):
            m.d.comb += Assert(fire(o) & ~o.p.tick &
                               (o.p.addr == src.p.addr + sum(sizes[:k])) &
                               (o.p.value == src.p.value), f"i_{k}'s event leaves at once")
        m.d.comb += Assert(~fires[k] | ~delivered[k], f"i_{k} held after its tick")
        with m.If(fires[k] & src.p.tick):
            m.d.sync += delivered[k].eq(1)
        if 1 << len(src.p.addr) > sizes[k]:
            m.d.comb += Cover(fires[k] & ~src.p.tick & (src.p.addr >= sizes[k]),
                              f"i_{k}'s out-of-range event dropped")
    with m.If(fire(o) & ~o.p.tick):
        m.d.comb += Assert(sum(forwards) == 1, "an output event is one input's event")
    m.d.comb += [
        Assert((o.valid & o.p.tick) == complete, "a tick offered exactly once a round is done"),
        Assert(delivered == internal(fragment, "ticked"), "invariant: ticked"),
        Assert(sum(fires) <= 1, "one input served per cycle"),
        Cover(o_stalled & fire(o) & ~o.p.tick, "a stalled event leaves"),
        Cover(fire(o) & o.p.tick, "a round completes"),
    ]

    # Fairness. `rank`: how many other inputs the round-robin can still serve before k.
    last = internal(fragment, "last")
    held = internal(fragment, "held")
    sel_held = internal(fragment, "sel_held")
    m.d.comb += [
        Assert((last < count) & (sel_held < count), "invariant: input indices"),
        # A stall on the output is a stall of the input it forwards, which has not ticked.
        Assert(~held | (Array(stalled)[sel_held] & ~delivered.bit_select(sel_held, 1)),
               "invariant: held input"),
    ]
    for k, src in enumerate(inputs):
        waiting = src.valid & ~delivered[k]
        skipped = Signal(range(count + 1), name=f"skipped_{k}")
        with m.If(fires[k] | ~waiting):
            m.d.sync += skipped.eq(0)
        with m.Elif(sum(fires) != 0):
            m.d.sync += skipped.eq(skipped + 1)
        # Inputs served before k when round-robin starts after j (j itself excluded).
        before = Array([(k - j - 1) % count for j in range(count)])
        rank = Signal(range(count), name=f"rank_{k}")
        with m.If(held):
            m.d.comb += rank.eq(Mux(sel_held == k, 0, before[sel_held] + 1))
        with m.Else():
            m.d.comb += rank.eq(before[last])
        m.d.comb += [
            Assert(skipped <= count - 1, f"i_{k} served within {count} handshakes"),
            Assert(~waiting | (skipped + rank <= count - 1), f"invariant: i_{k}'s turn"),
            Cover(fires[k] & (skipped == count - 1), f"i_{k} served after {count - 1} others"),
        ]
    return m


MERGES = {"2in": ([2, 3], [1, 3]), "3in": ([1, 2, 2], [1, 2, 1])}


@pytest.mark.parametrize("case", sorted(MERGES))
def test_merge(case):
    prove(f"merge_{case}", merge_spec(*MERGES[case]), depth=4)


def test_merge_spec_is_not_vacuous():
    """Stalls, complete rounds and the worst case of the round-robin bound all happen."""
    prove("merge_cover_3in", merge_spec(*MERGES["3in"]), mode="cover", depth=8)


class _FixedPriorityMerge(EventMerge):
    """The merge before round-robin: it re-chose the lowest-numbered ready input every
    cycle, so a stalled event of input 1 was replaced by input 0's once that arrived."""

    def elaborate(self, platform):
        m = Module()
        inputs = self.inputs()
        ticked = Signal(len(inputs))
        with m.If(ticked == (1 << len(inputs)) - 1):
            self.send_tick(m, ticked)
        with m.Else():
            for k, src in enumerate(inputs):
                wants = src.valid & ~ticked[k]
                with m.If(wants) if k == 0 else m.Elif(wants):
                    self.serve(m, k, ticked)
        return m


def test_harness_catches_a_merge_that_rechooses_while_stalled():
    m, *_ = merge_hold_spec(_FixedPriorityMerge(*MERGES["2in"]))
    with pytest.raises(AssertionError, match=r"(?s)FAIL.*o_events holds"):
        prove("merge_fixed_priority_negative", m, depth=4)
