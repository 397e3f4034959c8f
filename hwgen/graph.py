"""The network graph: the structure of a model's hardware, computed once, in plain Python.

Nodes are the network input and the layers, with their shapes and the largest values their
events carry; edges say which source feeds which input slot of a consumer and at which
address base in the consumer's concatenated input. From these follow every block and every
stream of the generated design and their instance names. :class:`~hwgen.network.NetworkTop`,
the manifest, the co-simulation probes and protocol checkers, the self-test and
``scripts/bench.py`` all read this graph; none of them recomputes it.
"""

from dataclasses import dataclass

import numpy as np

from .aer import event_layout
from .errors import HwgenError
from .fabric import FabricPlan, Slice

__all__ = ["Edge", "Node", "Stream", "NetworkGraph", "LanesError", "OUTPUT_PORT"]

OUTPUT_PORT = None      # the consumer of the output layer's stream: the top's o_events


class LanesError(HwgenError, ValueError):
    """Lanes given for a layer the model does not have."""


@dataclass(frozen=True)
class Edge:
    """``source``'s events feed input ``slot`` of ``consumer``, whose concatenated input
    holds them at addresses ``base .. base + size - 1``. ``consumer`` is
    :data:`OUTPUT_PORT` for the top's output stream."""
    source: str
    consumer: str | None
    slot: int
    base: int
    size: int


@dataclass(frozen=True)
class Node:
    """The network input (``layer`` is ``None``) or a layer.

    shape : tuple of int
        ``(N,)``, or ``(C, H, W)`` for a feature map; events address ``prod(shape)`` axons.
    spike_max : int
        The largest spike count one neuron sends in a timestep (``D``, or the input's
        ``max_value``): what a consumer's accumulator must hold per axon.
    event_max : int
        The largest value one event of its stream carries: ``spike_max``, or 1 where
        graded spikes leave as bursts of binary events.
    inputs : tuple of Edge
        What it reads, in slot order (empty for the network input).
    """
    name: str
    layer: object
    shape: tuple
    spike_max: int
    event_max: int
    inputs: tuple

    @property
    def size(self):
        return int(np.prod(self.shape))

    @property
    def fan_in(self):
        return sum(edge.size for edge in self.inputs)

    @property
    def layout(self):
        """The event layout of this node's output stream."""
        return event_layout(self.size, self.event_max)


@dataclass(frozen=True)
class Stream:
    """One stream of the generated design, where a testbench can observe it.

    path : str
        ``<instance>.<port>`` in the Verilog hierarchy below the top; ``i_events`` and
        ``o_events`` alone are the top's ports.
    addr_count, max_value : int
        Its layout, ``event_layout(addr_count, max_value)``.
    in_range : bool
        Every event's address is below ``addr_count``. Only the top input and its fan-out
        copies may carry addresses beyond (that fit the field): a core or a merge drops
        them (DESIGN.md section 5).
    """
    path: str
    addr_count: int
    max_value: int
    in_range: bool = True

    @property
    def layout(self):
        return event_layout(self.addr_count, self.max_value)


class NetworkGraph:
    """The graph of ``model`` as generated with ``options``
    (:class:`~hwgen.network.GenerateOptions`: ``burst`` changes what events carry,
    ``fifo_depth`` which blocks exist)."""

    def __init__(self, model, options):
        self.model = model
        self.options = options
        self.timesteps = model.timesteps
        self.output = model.output
        self.nodes = {"input": Node("input", None, tuple(model.input_shape), model.input_max,
                                    model.input_max, ())}
        for layer in model.layers:            # file order is a topological order
            base, edges = 0, []
            for slot, src in enumerate(layer.inputs):
                size = self.nodes[src].size
                edges.append(Edge(src, layer.name, slot, base, size))
                base += size
            source_event_max = max(self.nodes[src].event_max for src in layer.inputs)
            self.nodes[layer.name] = Node(layer.name, layer, tuple(layer.shape),
                                          layer.spike_max,
                                          layer.event_max(source_event_max, options.burst),
                                          tuple(edges))
        if isinstance(options.lanes, dict):
            for name in options.lanes:
                if name not in self.nodes or name == "input":
                    raise LanesError(f"--lanes names '{name}', which is not a layer of the "
                                     f"model (layers: {', '.join(n.name for n in self.layers)})")
        out = self.nodes[model.output]
        self._consumers = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for edge in node.inputs:
                self._consumers[edge.source].append(edge)
        self._consumers[model.output].append(Edge(model.output, OUTPUT_PORT, 0, 0, out.size))
        # The router fabric (None: point to point, one core per layer).
        self.fabric = (None if options.topology == "p2p" else
                       FabricPlan(self, options.topology, options.max_neurons_per_core,
                                  options.splits))

    # --- structure ---------------------------------------------------------------------

    @property
    def layers(self):
        """The layer nodes in evaluation order."""
        return [node for node in self.nodes.values() if node.layer is not None]

    def consumers(self, name):
        """The edges that read ``name``'s stream (the top output is :data:`OUTPUT_PORT`)."""
        return list(self._consumers[name])

    def axon_max(self, name):
        """Per axon of ``name``'s concatenated input, the most it receives in a timestep:
        ``D`` of a graded source even when that source sends bursts (``D`` events of 1)."""
        return np.concatenate([np.full(edge.size, self.nodes[edge.source].spike_max)
                               for edge in self.nodes[name].inputs])

    def in_event_max(self, name):
        """The largest value one event of ``name``'s concatenated input carries."""
        return max(self.nodes[edge.source].event_max for edge in self.nodes[name].inputs)

    def in_layout(self, name):
        """The event layout of ``name``'s concatenated input."""
        return event_layout(self.nodes[name].fan_in, self.in_event_max(name))

    # --- blocks and their instance names in the Verilog hierarchy ----------------------

    @staticmethod
    def core_name(name):
        return name

    @staticmethod
    def fifo_name(name):
        return f"{name}_fifo"

    @staticmethod
    def merge_name(name):
        return f"{name}_merge"

    @staticmethod
    def fanout_name(name):
        return f"{name}_fanout"

    def has_fifo(self, name):
        return name != "input" and self.options.fifo_depth > 0

    def needs_merge(self, name):
        return len(self.nodes[name].inputs) > 1

    def needs_fanout(self, name):
        return len(self._consumers[name]) > 1

    def cores(self, name):
        """The cores of layer ``name``, each a :class:`~hwgen.fabric.Slice` of its neurons:
        one, unless the fabric splits the layer."""
        if self.fabric is not None:
            return list(self.fabric.slices[name])
        return [Slice(name, 0, 0, self.nodes[name].size, self.core_name(name))]

    def spike_probes(self, name):
        """Where layer ``name``'s spikes cross: ``[(stream path, slice)]``, each core's
        output stream, whose addresses are the slice's own (neuron ``slice.start + addr``
        of the layer)."""
        return [(f"{s.name}.o_events", s) for s in self.cores(name)]

    def streams(self):
        """Every stream of the design: the top's two ports and each block's outputs, so that
        a testbench that observes them all sees every handshake of the design."""
        if self.fabric is not None:
            return self._fabric_streams()
        out = [Stream("i_events", self.model.input_size, self.model.input_max, False)]
        for node in self.layers:
            if self.needs_merge(node.name):
                out.append(Stream(f"{self.merge_name(node.name)}.o_events", node.fan_in,
                                  self.in_event_max(node.name)))
            out.append(Stream(f"{self.core_name(node.name)}.o_events", node.size,
                              node.event_max))
            if self.has_fifo(node.name):
                out.append(Stream(f"{self.fifo_name(node.name)}.o_events", node.size,
                                  node.event_max))
        for node in self.nodes.values():
            if self.needs_fanout(node.name):
                out += [Stream(f"{self.fanout_name(node.name)}.o_{k}", node.size,
                               node.event_max, node.name != "input")
                        for k in range(len(self._consumers[node.name]))]
        out_node = self.nodes[self.output]
        out.append(Stream("o_events", out_node.size, out_node.event_max))
        return out

    def _fabric_streams(self):
        """With a router fabric: each core's input (its delivery port's events) and output
        (and its FIFO's). The links between routers carry one tick per source per timestep,
        not one: the stream checker's tick rule does not apply there (the router's own
        tests and proofs cover them)."""
        out = [Stream("i_events", self.model.input_size, self.model.input_max, False)]
        for node in self.layers:
            for s in self.cores(node.name):
                out.append(Stream(f"{s.name}_deliver.o_events", node.fan_in,
                                  self.in_event_max(node.name)))
                out.append(Stream(f"{s.name}.o_events", s.size, node.event_max))
                if self.has_fifo(node.name):
                    out.append(Stream(f"{s.name}_fifo.o_events", s.size, node.event_max))
        out_node = self.nodes[self.output]
        out.append(Stream("o_events", out_node.size, out_node.event_max))
        return out

    # --- cost --------------------------------------------------------------------------

    @property
    def neurons(self):
        return sum(node.layer.neurons for node in self.layers)

    @property
    def synapses(self):
        """Synaptic operations of one timestep in which every axon of every layer sends
        one event (each layer type counts its own)."""
        return sum(node.layer.synapses for node in self.layers)
