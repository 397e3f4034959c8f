"""Built-in self-test: the network run in hardware on inputs held in ROM, its output
events compared with the golden model's, held in ROM too."""

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

import golden

from ..aer import pack
from ..network import NetworkTop
from .rom_stream import RomStream

__all__ = ["SelfTest", "input_words", "expected_words"]


def input_words(model, layout, x):
    """Event words of inputs ``x`` ([N, T, size]): nonzero values in address order, ticks."""
    words = []
    for sample in x:
        for step in sample:
            words += [pack(layout, int(j), int(step[j])) for j in np.flatnonzero(step)]
            words.append(pack(layout, tick=1))
    return words


def expected_words(model, layout, spikes, burst):
    """The output stream the hardware must produce: a core emits its spikes in neuron
    order, graded spikes as one event or (burst) as ``s`` events of value 1."""
    words = []
    for sample in spikes:
        for step in sample:
            for i in np.flatnonzero(step):
                s = int(step[i])
                words += ([pack(layout, int(i), 1)] * s if burst
                          else [pack(layout, int(i), s)])
            words.append(pack(layout, tick=1))
    return words


class SelfTest(wiring.Component):
    """Runs ``x`` through the network once after reset and compares every output event.

    Members
    -------
    passed : Out(1)
        Every expected event arrived, equal, and nothing more.
    failed : Out(1)
        An event differed, an extra event came, or ``timeout_cycles`` passed.
    """

    passed: Out(1)
    failed: Out(1)

    def __init__(self, model, options, x, timeout_cycles=None):
        self._top = NetworkTop(model, options)
        spikes = golden.run(model, x)[model.output]
        self._in_words = input_words(model, self._top.input_layout, x)
        self._exp_words = expected_words(model, self._top.output_layout, spikes,
                                         options.burst)
        synops = self._top.graph.synapses
        self._timeout = timeout_cycles or 16 * (len(self._in_words) * synops + 1000)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = top = self._top
        m.submodules.stimulus = stim = RomStream(self._in_words, top.input_layout.size)
        m.submodules.expected = exp = RomStream(self._exp_words, top.output_layout.size)
        m.d.comb += [top.i_events.payload.eq(stim.o_words.payload),
                     top.i_events.valid.eq(stim.o_words.valid),
                     stim.o_words.ready.eq(top.i_events.ready)]

        out = top.o_events
        failed = Signal()
        timer = Signal(range(self._timeout + 1))
        # Take an output event only together with the word it must equal.
        m.d.comb += [out.ready.eq(exp.o_words.valid), exp.o_words.ready.eq(out.valid)]
        with m.If(out.valid & exp.o_words.valid & (out.payload.as_value() != exp.o_words.payload)):
            m.d.sync += failed.eq(1)
        with m.If(out.valid & exp.done):          # an event beyond the expected ones
            m.d.sync += failed.eq(1)
        with m.If(~exp.done & ~failed):
            m.d.sync += timer.eq(timer + 1)
            with m.If(timer == self._timeout):
                m.d.sync += failed.eq(1)
        m.d.comb += [self.failed.eq(failed), self.passed.eq(exp.done & ~failed)]
        return m
