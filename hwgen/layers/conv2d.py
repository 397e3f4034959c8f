"""The ``conv2d`` layer type: a 2-D convolution of a ``[C, H, W]`` feature map into a map
of neurons, optionally spike sparse (SSC) (docs/conv.md); in hardware a
:class:`~hwgen.core.conv_core.ConvCore`."""

from dataclasses import dataclass

import numpy as np

from golden.conv import conv2d_step, windows

from ..model_fields import MAX_SIZE
from ..neuron import Neuron, parse_neuron
from .base import Layer
from .weighted import core_memories, parse_bias, parse_weights
from .window import Window2d, parse_window, source_feature_map

__all__ = ["Conv2dLayer"]


@dataclass
class Conv2dLayer(Layer):
    name: str
    inputs: list[str]          # one source
    window: Window2d
    weights: np.ndarray        # int64 [C_out, C_in, kh, kw]
    bias: np.ndarray           # int64 [C_out]
    weight_bits: int
    neuron: Neuron
    sparse: bool = False

    type_name = "conv2d"
    required_fields = ("out_channels", "kernel", "weights", "weight_bits", "neuron")
    optional_fields = ("input", "input_shape", "stride", "padding", "bias", "sparse")

    @classmethod
    def from_fields(cls, c, fields, sources):
        src, in_shape = source_feature_map(c, fields, sources)
        out_channels = c.integer(fields["out_channels"], "out_channels", 1, MAX_SIZE)
        window = parse_window(c, fields, in_shape, default_stride=1)
        ho, wo = window.out_hw
        if out_channels * ho * wo > MAX_SIZE:
            c.fail(f"the output map [{out_channels}, {ho}, {wo}] has more than {MAX_SIZE} "
                   "neurons")
        kh, kw = window.kernel
        weights, weight_bits = parse_weights(c, fields, (out_channels, in_shape[0], kh, kw))
        neuron = parse_neuron(c, fields["neuron"])
        bias = parse_bias(c, fields, out_channels, neuron)
        sparse = fields.get("sparse", False)
        if not isinstance(sparse, bool):
            c.fail(f"sparse must be true or false, got {sparse!r}")
        return cls(name=fields["name"], inputs=[src], window=window, weights=weights,
                   bias=bias, weight_bits=weight_bits, neuron=neuron, sparse=sparse)

    @property
    def out_channels(self):
        return self.weights.shape[0]

    @property
    def shape(self):
        return (self.out_channels, *self.window.out_hw)

    @property
    def spike_max(self):
        return self.neuron.max_spikes

    def golden_step(self, x, state):
        return conv2d_step(self, x, state)

    def core(self, node, graph, options):
        from ..core.conv_core import ConvCore  # Amaranth only where hardware is built
        return ConvCore(self, input_max=graph.axon_max(node.name), timesteps=graph.timesteps,
                        lanes=options.lanes_for(node.name), burst=options.burst,
                        event_max=graph.in_event_max(node.name))

    @property
    def synops_per_event(self):
        """Inside the map: outputs an input position reaches times the output channels."""
        (kh, kw), (sy, sx) = self.window.kernel, self.window.stride
        return -(-kh // sy) * -(-kw // sx) * self.out_channels

    @property
    def synapses(self):
        # Every output neuron's window, padding excluded: the exact count of W * x terms.
        c, h, w = self.window.in_shape
        ones = np.ones((1, c * h * w), np.int64)
        return int(windows(self.window, ones).sum()) * self.out_channels

    def memories(self, core):
        return core_memories(core)

    def manifest_entry(self, core):
        return {"neuron": self.neuron.to_dict(), "window": self.window.to_dict(),
                "out_channels": self.out_channels, "sparse": self.sparse,
                "core": core.params}
