"""Network top: the model's layers as neuron cores chained through AER streams.

Every layer is a :class:`~hwgen.core.neuron_core.NeuronCore`; a FIFO follows each core;
a layer read by several consumers feeds them through an
:class:`~hwgen.core.event_broadcast.EventBroadcast`; a layer whose input is a list reads
an :class:`~hwgen.core.event_merge.EventMerge` of its sources. The top has one input and
one output AER stream (DESIGN.md section 5).
"""

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .aer import event_signature
from .core.event_broadcast import EventBroadcast
from .core.event_fifo import EventFIFO
from .core.event_merge import EventMerge
from .core.neuron_core import NeuronCore
from .core.stream_util import forward_event

__all__ = ["NetworkTop", "GenerateOptions"]


class GenerateOptions:
    """Generator options (all have defaults; none changes what the network computes).

    lanes : int      P, synapses per cycle in every core
    burst : bool     graded spikes leave a core as bursts of binary events
    fifo_depth : int entries of the FIFO after each core (0: none)
    """

    def __init__(self, lanes=1, burst=False, fifo_depth=16):
        if lanes < 1:
            raise ValueError("lanes must be >= 1")
        if fifo_depth < 0:
            raise ValueError("fifo_depth must be >= 0")
        self.lanes = lanes
        self.burst = burst
        self.fifo_depth = fifo_depth

    def to_dict(self):
        return {"lanes": self.lanes, "burst": self.burst, "fifo_depth": self.fifo_depth}


def _layer_max(model, name, options):
    """Largest value carried by one event of source ``name``."""
    if name == "input":
        return model.input_max
    return 1 if options.burst else model.layer(name).neuron.max_spikes


class NetworkTop(wiring.Component):
    """The generated top module.

    Parameters
    ----------
    model : hwgen.model.Model
    options : GenerateOptions

    Members
    -------
    i_events : In(stream.Signature(event_layout(input.size, input.max_value)))
        Network input: events ``(addr = j, value = X[t, j])`` then one tick per timestep.
    o_events : Out(stream.Signature(event_layout(out.size, D or 1)))
        Spikes of the output layer, then one tick per timestep.
    """

    def __init__(self, model, options=None):
        self._model = model
        self._options = options or GenerateOptions()
        out_max = _layer_max(model, model.output, self._options)
        super().__init__({
            "i_events": In(event_signature(model.input_size, model.input_max)),
            "o_events": Out(event_signature(model.layer(model.output).size, out_max)),
        })
        self.cores = {}
        for layer in model.layers:
            # Per axon, the most it receives in a timestep: D of a graded source even when
            # that source sends bursts (D events of 1), so the accumulator is exact.
            xmax = np.concatenate([np.full(model.source_size(s), model.source_max(s))
                                   for s in layer.inputs])
            self.cores[layer.name] = NeuronCore(
                layer, input_max=xmax, timesteps=model.timesteps,
                lanes=self._options.lanes, burst=self._options.burst,
                event_max=max(_layer_max(model, s, self._options) for s in layer.inputs))

    @property
    def input_layout(self):
        return self.i_events.p.shape()

    @property
    def output_layout(self):
        return self.o_events.p.shape()

    def layer_layout(self, name):
        return self.cores[name].o_events.p.shape()

    def elaborate(self, platform):
        m = Module()
        model, opts = self._model, self._options

        # Each source's stream (the network input, or a core's FIFO output).
        sources = {"input": self.i_events}
        for layer in model.layers:
            core = self.cores[layer.name]
            m.submodules[layer.name] = core
            if opts.fifo_depth:
                fifo = EventFIFO(core.o_events.p.shape(), opts.fifo_depth)
                m.submodules[f"{layer.name}_fifo"] = fifo
                wiring.connect(m, core.o_events, fifo.i_events)
                sources[layer.name] = fifo.o_events
            else:
                sources[layer.name] = core.o_events

        # Consumers of each source: (layer index or None for the top output, input slot).
        consumers = {name: [] for name in sources}
        for layer in model.layers:
            for slot, src in enumerate(layer.inputs):
                consumers[src].append((layer.name, slot))
        consumers[model.output].append((None, 0))

        # The input stream of each consumer slot.
        sinks = {}
        for layer in model.layers:
            core = self.cores[layer.name]
            if len(layer.inputs) == 1:
                sinks[(layer.name, 0)] = core.i_events
            else:
                merge = EventMerge([model.source_size(s) for s in layer.inputs],
                                   [_layer_max(model, s, opts) for s in layer.inputs])
                m.submodules[f"{layer.name}_merge"] = merge
                forward_event(m, merge.o_events, core.i_events)
                for slot, port in enumerate(merge.inputs()):
                    sinks[(layer.name, slot)] = port
        sinks[(None, 0)] = self.o_events

        for name, stream_ in sources.items():
            targets = [sinks[c] for c in consumers[name]]
            if not targets:
                # A layer nobody reads (not the output): drain it so it never stalls.
                m.d.comb += stream_.ready.eq(1)
            elif len(targets) == 1:
                forward_event(m, stream_, targets[0])
            else:
                bcast = EventBroadcast(stream_.p.shape(), len(targets))
                m.submodules[f"{name}_fanout"] = bcast
                forward_event(m, stream_, bcast.i_events)
                for port, target in zip(bcast.outputs(), targets, strict=True):
                    forward_event(m, port, target)
        return m
