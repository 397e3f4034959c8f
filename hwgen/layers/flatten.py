"""The ``flatten`` layer type: a ``[C, H, W]`` map as a vector of ``C * H * W`` values in
row-major order ``(c, y, x)`` (the order every event address already uses), so it
changes no value and no address. A dense layer may read a map directly; ``flatten`` is
there for models that name the step, such as NIR graphs. In hardware one register stage."""

from dataclasses import dataclass

from .forwarding import ForwardingLayer

__all__ = ["FlattenLayer"]


@dataclass
class FlattenLayer(ForwardingLayer):
    name: str
    inputs: list[str]          # one source
    size_: int
    source_spike_max: int

    type_name = "flatten"
    optional_fields = ("input",)

    @classmethod
    def from_fields(cls, c, fields, sources):
        src = cls.parse_source(c, fields, sources)
        return cls(name=fields["name"], inputs=[src], size_=sources.sizes[src],
                   source_spike_max=sources.spike_max[src])

    @property
    def shape(self):
        return (self.size_,)

    @property
    def spike_max(self):
        return self.source_spike_max

    def golden_step(self, x, state):
        return x, None

    def core(self, node, graph, options):
        from ..core.stream_register import StreamRegister  # Amaranth only where built
        return StreamRegister(self.size_, graph.in_event_max(node.name))

    def manifest_entry(self, core):
        return {}
