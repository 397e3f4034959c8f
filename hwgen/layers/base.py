"""What every layer type declares: the contract between a layer type's module and the rest
of hwgen (the loader, the golden model, the network graph, the network top, the manifest).

A layer type is a subclass of :class:`Layer` in its own module of :mod:`hwgen.layers`,
listed once in the registry (``hwgen/layers/__init__.py``). Nothing else in hwgen names a
layer type: the loader, :mod:`golden`, :mod:`hwgen.graph`, :class:`~hwgen.network.NetworkTop`
and the manifest ask the layer object.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["Layer", "SourceTable"]


@dataclass(frozen=True)
class SourceTable:
    """What a layer being loaded can read: the network input and the layers before it
    (file order is evaluation order), each with its size.

    sizes : dict
        ``{source name: size}``, ``"input"`` first.
    spike_max : dict
        ``{source name: the largest spike count one of its neurons sends in a timestep}``.
    previous : str
        The source a layer reads when its file gives no ``input`` (the layer before it,
        or ``"input"``).
    shapes : dict
        ``{source name: its shape}``: ``(N,)``, or ``(C, H, W)`` for a feature map.
    """
    sizes: dict
    spike_max: dict
    previous: str
    shapes: dict | None = None

    def shape(self, name):
        return tuple(self.shapes[name]) if self.shapes else (self.sizes[name],)


class Layer:
    """One layer of a model.

    Class attributes each type sets
    -------------------------------
    type_name : str
        The ``type:`` of the model file.
    required_fields, optional_fields : tuple of str
        The type's own model-file fields (``name`` and ``type`` are everyone's).

    Instance attributes every layer has: ``name`` and ``inputs`` (the source names it
    reads, concatenated in this order).
    """

    type_name: ClassVar[str]
    required_fields: ClassVar[tuple] = ()
    optional_fields: ClassVar[tuple] = ()

    @property
    def type(self):
        return self.type_name

    # --- model file -------------------------------------------------------------------

    @classmethod
    def from_fields(cls, c, fields, sources):
        """The layer described by ``fields`` (its mapping in the model file, already
        checked for unknown or missing keys), validated with the
        :class:`~hwgen.model_fields.FieldChecker` ``c``; ``sources`` is a
        :class:`SourceTable`."""
        raise NotImplementedError

    @staticmethod
    def parse_inputs(c, fields, sources):
        """The ``input`` field shared by layers that read one concatenated input: a source
        name or a non-empty list of them; default: the previous layer."""
        src = fields.get("input", sources.previous)
        src_list = src if isinstance(src, list) else [src]
        if not src_list:
            c.fail("input must name a layer or be a non-empty list of layer names")
        for s in src_list:
            if not isinstance(s, str) or s not in sources.sizes:
                c.fail(f"input {s!r} must be 'input' or the name of an earlier layer")
        if len(set(src_list)) != len(src_list):
            c.fail("input lists the same layer twice")
        return src_list

    @staticmethod
    def parse_source(c, fields, sources):
        """The ``input`` field of a layer that reads one source: a source name (or a list
        of one); default: the previous layer."""
        src = fields.get("input", sources.previous)
        if isinstance(src, list):
            if len(src) != 1:
                c.fail("input must name one layer: this layer type does not read a "
                       "concatenation")
            src = src[0]
        if not isinstance(src, str) or src not in sources.sizes:
            c.fail(f"input {src!r} must be 'input' or the name of an earlier layer")
        return src

    # --- shape and events -------------------------------------------------------------

    @property
    def shape(self):
        """Output shape: ``(N,)``, or ``(C, H, W)`` for a feature map."""
        raise NotImplementedError

    @property
    def size(self):
        """Output neurons (the product of :attr:`shape`): the address count of its events."""
        return int(np.prod(self.shape))

    @property
    def spike_max(self):
        """The largest spike count one output neuron sends in a timestep (``D``)."""
        raise NotImplementedError

    @property
    def neurons(self):
        """Neurons the layer keeps state for: its outputs by default; none for a layer that
        only moves or sums events (``sumpool2d``, ``flatten``)."""
        return self.size

    def event_max(self, source_event_max, burst):
        """The largest value one event of the layer's stream carries, given the largest its
        sources' events carry and whether graded spikes leave as bursts of binary events."""
        return 1 if burst and self.spike_max > 1 else self.spike_max

    # --- golden model -----------------------------------------------------------------

    def golden_state(self, batch):
        """The state at the start of every inference, for ``batch`` inferences at once."""
        return np.zeros((batch, self.size), np.int64)

    def golden_step(self, x, state):
        """One timestep: ``x`` is the concatenated input spikes ``[batch, fan_in]`` of this
        timestep. Returns ``(spikes [batch, size], next state)``."""
        raise NotImplementedError

    # --- hardware ---------------------------------------------------------------------

    #: Whether :meth:`split` can spread the layer over several cores.
    splittable: ClassVar[bool] = False

    def split(self, start, stop):
        """The layer restricted to its neurons ``start .. stop - 1`` (same inputs): what one
        core holds when a router fabric spreads the layer over several."""
        raise NotImplementedError(f"a {self.type_name} layer cannot be split")

    def core(self, node, graph, options):
        """The hardware block of this layer: a ``wiring.Component`` with ``i_events``
        (its concatenated input, :meth:`hwgen.graph.NetworkGraph.in_layout`) and
        ``o_events`` (``node.layout``)."""
        raise NotImplementedError

    @property
    def synops_per_event(self):
        """Synaptic operations one input event costs (its fan-out)."""
        raise NotImplementedError

    @property
    def synapses(self):
        """Synaptic operations of a timestep in which every input axon sends one event."""
        raise NotImplementedError

    def memories(self, core):
        """``{name: {"width", "depth"}}`` of the memories of the built core."""
        raise NotImplementedError

    def cost(self, core):
        """What the layer costs: synaptic operations, neurons and memories."""
        return {"synops_per_event": self.synops_per_event, "synapses": self.synapses,
                "neurons": self.neurons, "memories": self.memories(core)}

    def manifest_entry(self, core):
        """The type's own part of the layer's ``manifest.json`` entry."""
        raise NotImplementedError
