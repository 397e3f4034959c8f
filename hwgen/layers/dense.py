"""The ``dense`` layer type: every input axon reaches every neuron through a weight
(DESIGN.md sections 3 and 4); in hardware a :class:`~hwgen.core.neuron_core.NeuronCore`."""

from dataclasses import dataclass, replace

import numpy as np

from golden.dense import dense_step

from ..model_fields import MAX_SIZE
from ..neuron import Neuron, parse_neuron
from .base import Layer
from .weighted import WEIGHT_BITS_RANGE, core_memories, parse_bias, parse_weights

__all__ = ["DenseLayer", "WEIGHT_BITS_RANGE"]


@dataclass
class DenseLayer(Layer):
    name: str
    inputs: list[str]          # source names, concatenated in this order ("input" = network)
    weights: np.ndarray        # int64 [size, fan_in]
    bias: np.ndarray           # int64 [size]
    weight_bits: int
    neuron: Neuron

    type_name = "dense"
    required_fields = ("size", "weights", "weight_bits", "neuron")
    optional_fields = ("input", "bias")

    @classmethod
    def from_fields(cls, c, fields, sources):
        size = c.integer(fields["size"], "size", 1, MAX_SIZE)
        inputs = cls.parse_inputs(c, fields, sources)
        fan_in = sum(sources.sizes[s] for s in inputs)
        weights, weight_bits = parse_weights(c, fields, (size, fan_in))
        neuron = parse_neuron(c, fields["neuron"])
        bias = parse_bias(c, fields, size, neuron)
        return cls(name=fields["name"], inputs=inputs, weights=weights, bias=bias,
                   weight_bits=weight_bits, neuron=neuron)

    @property
    def shape(self):
        return (self.weights.shape[0],)

    @property
    def fan_in(self):
        return self.weights.shape[1]

    @property
    def spike_max(self):
        return self.neuron.max_spikes

    splittable = True

    def split(self, start, stop):
        # Neuron i of the slice is neuron start + i of the layer: its weight row and bias.
        return replace(self, weights=self.weights[start:stop], bias=self.bias[start:stop])

    def golden_step(self, x, state):
        return dense_step(self, x, state)

    def core(self, node, graph, options):
        from ..core.neuron_core import NeuronCore  # Amaranth only where hardware is built
        return NeuronCore(self, input_max=graph.axon_max(node.name), timesteps=graph.timesteps,
                          lanes=options.lanes_for(node.name), burst=options.burst,
                          event_max=graph.in_event_max(node.name),
                          weights_in_spram=node.name in options.spram_weights)

    @property
    def synops_per_event(self):
        return self.size            # an event of axon j adds W[:, j] x into every neuron

    @property
    def synapses(self):
        return self.fan_in * self.size

    def memories(self, core):
        return core_memories(core)

    def manifest_entry(self, core):
        return {"neuron": self.neuron.to_dict(), "core": core.params}
