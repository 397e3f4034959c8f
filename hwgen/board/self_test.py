"""Built-in self-test: the network run in hardware on inputs held in ROM, its output
checked per timestep against the golden model's spike counts, held in ROM too."""

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

import golden

from ..aer import event_layout, pack, unpack
from ..network import NetworkTop
from .event_compare import EventCompare, count_words
from .rom_stream import RomStream

__all__ = ["SelfTest", "input_words", "default_timeout"]


def input_words(layout, x):
    """Event words of inputs ``x`` ([N, T, size]): nonzero values in address order, ticks."""
    words = []
    for step in x.reshape(-1, x.shape[-1]):
        words += [pack(layout, int(j), int(step[j])) for j in np.flatnonzero(step)]
        words.append(pack(layout, tick=1))
    return words


def default_timeout(graph, steps):
    """Cycles after which a self-test of ``steps`` timesteps has surely hung.

    A core's timestep takes ``E * ceil(N / P) + N + B + 5`` cycles (the cycle model of
    docs/architecture.md): at most one cycle per synapse of each input event, and with
    bursts up to ``D`` events per axon and ``B < N * D`` extra cycles; the comparison adds
    2 cycles per output event and ``size + 2`` per timestep. Twice the worst case of every
    layer in turn, every timestep.
    """
    burst = max(node.spike_max for node in graph.layers) if graph.options.burst else 1
    per_step = burst * (graph.synapses + 3 * graph.neurons) + 64
    return 2 * steps * per_step + 1000


class SelfTest(wiring.Component):
    """Runs ``x`` through the network once after reset and checks every timestep's output
    spike counts (:class:`~hwgen.board.event_compare.EventCompare`).

    Parameters
    ----------
    model : hwgen.model.Model
    options : hwgen.network.GenerateOptions
    x : int array, [N, T, input size] (or [T, input size])
        The inputs held in the stimulus ROM.
    timeout_cycles : int or None
        Fail when not done this many cycles after reset (default: :func:`default_timeout`).
    expected_words : list of int or None
        The expected ROM (format of :func:`~hwgen.board.event_compare.count_words`); default
        the golden model's output for ``x``. Tests give a corrupted one here.

    Members
    -------
    passed : Out(1)
        Every timestep's output counts equal the expected ones, and nothing more came.
    failed : Out(1)
        A count differed, an extra event came, or ``timeout_cycles`` passed.
    """

    passed: Out(1)
    failed: Out(1)

    def __init__(self, model, options, x, timeout_cycles=None, expected_words=None):
        self._top = top = NetworkTop(model, options)
        x = np.asarray(x).reshape(-1, model.timesteps, model.input_size)
        out = top.graph.nodes[top.graph.output]
        if expected_words is None:
            expected_words = count_words(out.size, out.spike_max,
                                         golden.run(model, x)[model.output])
        self._in_words = input_words(top.input_layout, x)
        self._exp_words = list(expected_words)
        exp_layout = event_layout(out.size, out.spike_max)
        steps = sum(unpack(exp_layout, word).tick for word in self._exp_words)
        self._compare = EventCompare(out.size, out.event_max, out.spike_max, steps,
                                     timeout_cycles or default_timeout(top.graph, steps))
        super().__init__()

    @property
    def network(self):
        return self._top

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = top = self._top
        m.submodules.compare = compare = self._compare
        m.submodules.stimulus = stim = RomStream(self._in_words, top.input_layout)
        m.submodules.expected = exp = RomStream(self._exp_words,
                                                compare.i_expected.payload.shape())
        wiring.connect(m, stim.o_words, top.i_events)
        wiring.connect(m, top.o_events, compare.i_events)
        wiring.connect(m, exp.o_words, compare.i_expected)
        m.d.comb += [self.passed.eq(compare.passed), self.failed.eq(compare.failed)]
        return m
