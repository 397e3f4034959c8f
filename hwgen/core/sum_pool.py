"""Sum pooling as address remapping: no neurons, no memory (docs/conv.md).

A ``sumpool2d`` output is the sum of the spikes in its window, and every consumer already
sums the events it receives per axon. So the block only forwards each input event, with
its value, to every output whose window holds it (one for the usual ``stride = kernel``);
the consumer's accumulator adds them up. Its events carry what its input's carry; per
output and timestep they sum to at most ``kh * kw`` times the input's largest spike.
Timing: ``max(1, outputs reached)`` cycles per event (:class:`WindowWalker`).
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..aer import event_signature
from .window_walker import WindowWalker

__all__ = ["SumPool"]


class SumPool(wiring.Component):
    """Sum pooling of one ``[C, H, W]`` map.

    Parameters
    ----------
    window : hwgen.layers.window.Window2d
    event_max : int
        Largest value an input event carries (and so an output event).
    """

    def __init__(self, window, *, event_max):
        self._window = window
        self._event_max = event_max
        c, h, w = window.in_shape
        ho, wo = window.out_hw
        self._out_size = c * ho * wo
        super().__init__({
            "i_events": In(event_signature(c * h * w, event_max)),
            "o_events": Out(event_signature(self._out_size, event_max)),
        })

    def elaborate(self, platform):
        m = Module()
        ho, wo = self._window.out_hw
        m.submodules.walker = walker = WindowWalker(
            self._window, event_max=self._event_max, out_channel_scale=ho * wo,
            pos_scale=1, tap_scale=0)
        wiring.connect(m, wiring.flipped(self.i_events), walker.i_events)
        step = walker.o_steps
        m.d.comb += [self.o_events.valid.eq(step.valid), step.ready.eq(self.o_events.ready),
                     self.o_events.p.addr.eq(step.p.out_index),
                     self.o_events.p.value.eq(step.p.value),
                     self.o_events.p.tick.eq(step.p.tick)]
        return m
