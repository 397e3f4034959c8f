"""What the layer types without neurons share (``sumpool2d``, ``flatten``): they forward
their source's events, readdressed or not, so they hold no state, cost no synaptic
operation and keep no memory, and their events carry what their source's carry."""

from .base import Layer

__all__ = ["ForwardingLayer"]


class ForwardingLayer(Layer):
    neurons = 0
    synops_per_event = 0
    synapses = 0

    def event_max(self, source_event_max, burst):
        return source_event_max         # events are forwarded, not summed

    def golden_state(self, batch):
        return None

    def memories(self, core):
        return {}
