"""The self-test's judge: a network's output stream against the expected spike counts of
every timestep, whatever order the events of a timestep come in (DESIGN.md section 5)."""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..aer import bits_for, event_layout, pack

__all__ = ["EventCompare", "count_words"]


def count_words(size, spike_max, spikes):
    """The expected stream of :class:`EventCompare` for ``spikes`` ([N, T, size] or
    [T, size] spike counts): per timestep, one word ``(addr = i, value = spikes[.., i])``
    per nonzero count, addresses ascending, then one tick; packed through
    ``event_layout(size, spike_max)``."""
    layout = event_layout(size, spike_max)
    words = []
    for step in np.asarray(spikes).reshape(-1, size):
        words += [pack(layout, int(i), int(step[i])) for i in np.flatnonzero(step)]
        words.append(pack(layout, tick=1))
    return words


class EventCompare(wiring.Component):
    """Compares the events of each timestep with the expected spike counts.

    While it collects a timestep, each event adds its value to ``seen[addr]``, a block RAM
    of ``size`` counters; so the order of the events does not matter, and a graded spike
    ``s`` sent as a burst of ``s`` events of value 1 counts the same as one event of
    value ``s``. At the tick it walks ``i = 0 .. size - 1``: a nonzero ``seen[i]`` must be
    the next expected word, ``(i, seen[i])``; it clears ``seen[i]``; then the next word must
    be the expected tick (so an expected spike that did not come fails there).

    Cycles: 2 per event (read, then write back the sum: no read-during-write hazard, so
    no bypass logic), 1 for the tick and ``size + 1`` for the check of a timestep, while
    the expected stream keeps up; ``i_events`` waits meanwhile.

    Parameters
    ----------
    size : int
        Neurons of the observed layer; an event addressed at ``size`` or beyond fails.
    event_max : int
        The largest value one event carries (1 for bursts).
    spike_max : int
        ``D``: the largest count of one neuron in a timestep; a larger sum fails.
    steps : int
        Timesteps expected in all (ticks of the expected stream).
    timeout : int or None
        Fail when not done this many cycles after reset, rounded up to a power of two
        (None: wait forever).

    Members
    -------
    i_events : In(stream.Signature(event_layout(size, event_max)))
        The observed stream; a tick's ``addr`` and ``value`` are ignored.
    i_expected : In(stream.Signature(event_layout(size, spike_max)))
        The expected counts, as built by :func:`count_words`.
    passed : Out(1)
        All ``steps`` timesteps matched, and nothing failed.
    failed : Out(1)
        A count differed, an address was out of range, an event came after the last
        expected tick, or the timeout passed. It stays set.
    """

    def __init__(self, size, event_max, spike_max, steps, timeout=None):
        self._size = size
        self._spike_max = spike_max
        self._steps = steps
        self._timeout = timeout
        super().__init__({
            "i_events": In(stream.Signature(event_layout(size, event_max))),
            "i_expected": In(stream.Signature(event_layout(size, spike_max))),
            "passed": Out(1),
            "failed": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        size, spike_max, steps = self._size, self._spike_max, self._steps
        m.submodules.seen = seen = Memory(shape=unsigned(bits_for(spike_max)), depth=size,
                                          init=[], attrs={"ram_style": "block"})
        rd, wr = seen.read_port(), seen.write_port()

        ev, exp = self.i_events.payload, self.i_expected.payload
        addr = Signal(len(ev.addr))           # the event being counted
        value = Signal(len(ev.value))
        i = Signal(range(size + 1))           # the neuron being checked
        step = Signal(range(steps + 1))
        failed = Signal()

        with m.FSM(init="COLLECT" if steps else "DONE") as fsm:
            with m.State("COLLECT"):
                m.d.comb += [self.i_events.ready.eq(1), rd.en.eq(1),
                             # A tick starts the check at neuron 0: read it now.
                             rd.addr.eq(Mux(ev.tick, 0, ev.addr))]
                with m.If(self.i_events.valid):
                    with m.If(ev.tick):
                        m.d.sync += i.eq(0)
                        m.next = "CHECK"
                    with m.Elif(ev.addr >= size):
                        m.d.sync += failed.eq(1)
                    with m.Else():
                        m.d.sync += [addr.eq(ev.addr), value.eq(ev.value)]
                        m.next = "COUNT"

            with m.State("COUNT"):
                # rd.data is seen[addr]: no event is taken in this cycle, so nothing else
                # writes there between this read and its write-back.
                total = rd.data + value
                m.d.comb += [wr.addr.eq(addr), wr.data.eq(total), wr.en.eq(1)]
                with m.If(total > spike_max):
                    m.d.sync += failed.eq(1)
                m.next = "COLLECT"

            with m.State("CHECK"):
                count = rd.data                                  # seen[i]
                listed = ~exp.tick & (exp.addr == i)             # expected holds neuron i
                advance = Signal()
                # Read seen[i + 1] only when moving on; rd.data holds seen[i] meanwhile.
                m.d.comb += [rd.addr.eq(i + 1), rd.en.eq(advance),
                             wr.addr.eq(i), wr.data.eq(0), wr.en.eq(advance)]
                with m.If(advance):
                    m.d.sync += i.eq(i + 1)
                with m.If(self.i_expected.valid):
                    with m.If(i == size):
                        with m.If(exp.tick):
                            m.d.comb += self.i_expected.ready.eq(1)
                            m.d.sync += step.eq(step + 1)
                            with m.If(step == steps - 1):
                                m.next = "DONE"
                            with m.Else():
                                m.next = "COLLECT"
                        with m.Else():                       # an expected spike is missing
                            m.d.sync += failed.eq(1)
                    with m.Elif(count == 0):
                        # An expected word of neuron i is left in the stream, where the
                        # next neuron's check or the tick's fails on it.
                        m.d.comb += advance.eq(1)
                    with m.Elif(listed & (exp.value == count)):
                        m.d.comb += [self.i_expected.ready.eq(1), advance.eq(1)]
                    with m.Else():
                        m.d.sync += failed.eq(1)

            with m.State("DONE"):
                with m.If(self.i_events.valid):              # beyond the last timestep
                    m.d.sync += failed.eq(1)

        done = fsm.ongoing("DONE")
        if self._timeout is not None:
            # Time out when the top bit sets, at the next power of two: one bit to test
            # instead of a comparator as wide as the counter.
            timer = Signal(bits_for(self._timeout) + 1)
            with m.If(~done & ~failed):
                m.d.sync += timer.eq(timer + 1)
            with m.If(timer[-1]):
                m.d.sync += failed.eq(1)

        m.d.comb += [self.failed.eq(failed), self.passed.eq(done & ~failed)]
        return m
