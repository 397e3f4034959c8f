"""The ``sumpool2d`` layer type: each output is the sum of the spikes in its window of a
``[C, H, W]`` map; no neurons, no state (docs/conv.md). In hardware a
:class:`~hwgen.core.sum_pool.SumPool` that only remaps addresses."""

from dataclasses import dataclass

from golden.conv import sumpool2d_step

from .forwarding import ForwardingLayer
from .window import Window2d, parse_window, source_feature_map

__all__ = ["SumPool2dLayer"]


@dataclass
class SumPool2dLayer(ForwardingLayer):
    name: str
    inputs: list[str]          # one source
    window: Window2d
    source_spike_max: int

    type_name = "sumpool2d"
    required_fields = ("kernel",)
    optional_fields = ("input", "input_shape", "stride", "padding")

    @classmethod
    def from_fields(cls, c, fields, sources):
        src, in_shape = source_feature_map(c, fields, sources)
        window = parse_window(c, fields, in_shape)        # stride defaults to the kernel
        return cls(name=fields["name"], inputs=[src], window=window,
                   source_spike_max=sources.spike_max[src])

    @property
    def shape(self):
        return (self.window.in_shape[0], *self.window.out_hw)

    @property
    def spike_max(self):
        return self.window.area * self.source_spike_max

    def golden_step(self, x, state):
        return sumpool2d_step(self, x), None

    def core(self, node, graph, options):
        from ..core.sum_pool import SumPool  # Amaranth only where hardware is built
        return SumPool(self.window, event_max=graph.in_event_max(node.name))

    def manifest_entry(self, core):
        return {"window": self.window.to_dict(),
                "events_per_input_event_max": -(-self.window.kernel[0] //
                                                 self.window.stride[0]) *
                -(-self.window.kernel[1] // self.window.stride[1])}

