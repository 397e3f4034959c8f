"""Network top: the model's layers as cores chained through AER streams.

Every layer is the block its layer type builds (:mod:`hwgen.layers`); a FIFO follows each
core; a layer read by several consumers feeds them through an
:class:`~hwgen.core.event_broadcast.EventBroadcast`; a layer whose input is a list reads
an :class:`~hwgen.core.event_merge.EventMerge` of its sources. The structure comes from
the :class:`~hwgen.graph.NetworkGraph`; ``elaborate`` only turns it into hardware. The top
has one input and one output AER stream (DESIGN.md section 5).
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .aer import event_layout
from .core.event_broadcast import EventBroadcast
from .core.event_fifo import EventFIFO
from .core.event_merge import EventMerge
from .errors import HwgenError
from .fabric import TOPOLOGIES
from .fabric_top import elaborate_fabric
from .graph import OUTPUT_PORT, NetworkGraph

__all__ = ["NetworkTop", "GenerateOptions", "SpramError"]


class SpramError(HwgenError, ValueError):
    """Weights in SPRAM asked of cores that cannot hold them there."""


class GenerateOptions:
    """Generator options (all have defaults; none changes what the network computes).

    lanes            P, synapses per cycle: an int (every core), ``{layer: P}`` (layers not
                     named get 1) or ``"auto"`` (balanced within a device's memory budget by
                     :func:`hwgen.memory_plan.plan_design`, which returns options with a dict)
    burst : bool     graded spikes leave a core as bursts of binary events
    fifo_depth : int entries of the FIFO after each core (0: none)
    topology : str   "p2p" (cores wired point to point), "crossbar" or "mesh" (cores talk
                     through routers, :mod:`hwgen.fabric`); default: p2p, or crossbar when
                     a layer is split
    max_neurons_per_core : int   split every larger layer into slices (needs a fabric)
    splits : dict    ``{layer: cores}``, an explicit split per layer (needs a fabric)
    link_depth : int entries of the FIFO at each mesh router input (at least 2)
    barrier : bool   mesh only: admit a timestep once the previous one has left every core
                     (``docs/fabric.md``; off only to show the deadlock it prevents)
    spram_weights : iterable of str   dense layers whose weights sit in the iCE40
                     UltraPlus' SPRAM, loaded at boot (set by the memory planner,
                     :mod:`hwgen.memory_plan`)
    """

    def __init__(self, lanes=1, burst=False, fifo_depth=16, topology=None,
                 max_neurons_per_core=None, splits=None, link_depth=2, barrier=True,
                 spram_weights=()):
        if isinstance(lanes, dict):
            lanes = dict(lanes)
            for name, count in lanes.items():
                if not isinstance(count, int) or count < 1:
                    raise ValueError(f"lanes of layer '{name}' must be an integer >= 1")
        elif lanes != "auto" and (not isinstance(lanes, int) or lanes < 1):
            raise ValueError("lanes must be >= 1, a count per layer, or 'auto'")
        if fifo_depth < 0:
            raise ValueError("fifo_depth must be >= 0")
        if max_neurons_per_core is not None and max_neurons_per_core < 1:
            raise ValueError("max_neurons_per_core must be >= 1")
        if link_depth < 2:
            raise ValueError("link_depth must be >= 2")
        splitting = max_neurons_per_core is not None or bool(splits)
        if topology is None:
            topology = "crossbar" if splitting else "p2p"
        if topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {topology!r} (choose from "
                             f"{', '.join(TOPOLOGIES)})")
        if topology == "p2p" and splitting:
            raise ValueError("splitting a layer across cores needs a router fabric: "
                             "topology crossbar or mesh")
        self.lanes = lanes
        self.burst = burst
        self.fifo_depth = fifo_depth
        self.topology = topology
        self.max_neurons_per_core = max_neurons_per_core
        self.splits = dict(splits or {})
        self.link_depth = link_depth
        self.barrier = barrier
        self.spram_weights = frozenset(spram_weights)

    def lanes_for(self, layer):
        """The lanes of ``layer``'s core(s)."""
        if self.lanes == "auto":
            raise ValueError("lanes 'auto' are chosen for a device: plan the design for a "
                             "board first (hwgen.memory_plan.plan_design, --board)")
        if isinstance(self.lanes, dict):
            return self.lanes.get(layer, 1)
        return self.lanes

    def replace(self, **changes):
        """A copy with ``changes`` (same names as the constructor's arguments)."""
        args = {name: getattr(self, name) for name in (
            "lanes", "burst", "fifo_depth", "topology", "max_neurons_per_core", "splits",
            "link_depth", "barrier", "spram_weights")}
        return GenerateOptions(**(args | changes))

    def to_dict(self):
        out = {"lanes": self.lanes, "burst": self.burst, "fifo_depth": self.fifo_depth,
               "topology": self.topology}
        if self.topology != "p2p":
            out |= {"max_neurons_per_core": self.max_neurons_per_core,
                    "splits": self.splits}
        if self.topology == "mesh":
            out |= {"link_depth": self.link_depth, "barrier": self.barrier}
        if self.spram_weights:
            out["spram_weights"] = sorted(self.spram_weights)
        return out


class NetworkTop(wiring.Component):
    """The generated top module: the blocks of the model's :class:`~hwgen.graph.NetworkGraph`.

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

    When layers keep their weights in SPRAM (``options.spram_weights``), their cores
    (:attr:`spram_cores`) have ``load`` and ``loaded`` ports that the board's boot logic
    drives (:func:`hwgen.board.weight_boot.attach_weight_loader`), from outside whatever
    resets the network: the host link resets it before every run, and the weights, once
    in, stay.
    """

    def __init__(self, model, options=None):
        self._options = options or GenerateOptions()
        self.graph = graph = NetworkGraph(model, self._options)
        spram = sorted(self._options.spram_weights)
        if spram and graph.fabric is not None:
            raise SpramError("weights in SPRAM need point-to-point cores (no router fabric)")
        super().__init__({
            "i_events": In(stream.Signature(graph.nodes["input"].layout)),
            "o_events": Out(stream.Signature(graph.nodes[graph.output].layout)),
        })
        # Each layer type builds its own block (hwgen.layers): one per core, a core holding
        # the whole layer or, with a fabric, a slice of its neurons.
        self.cores = {}
        for node in graph.layers:
            for part in graph.cores(node.name):
                layer = (node.layer if part.size == node.size
                         else node.layer.split(part.start, part.start + part.size))
                core = layer.core(node, graph, self._options)
                # wiring.connect compares payload widths only: a block whose fields are
                # split otherwise than the graph says would connect and misread every event.
                if (core.i_events.p.shape() != graph.in_layout(node.name)
                        or core.o_events.p.shape() != event_layout(part.size, node.event_max)):
                    raise AssertionError(f"layer '{node.name}': the {node.layer.type_name} "
                                         "block's event layouts differ from the network graph's")
                self.cores[part.name] = core
        # The cores whose weights the loader writes, in the order of the image.
        self.spram_cores = [self.cores[name] for name in spram]

    def weight_stores(self):
        """``[(width, depth)]`` of the SPRAM weight memories, in the image's order."""
        return [(core.params["weight_memory"]["width"], core.params["weight_memory"]["depth"])
                for core in self.spram_cores]

    def weight_contents(self):
        """``[(width, rows)]`` of the SPRAM weight memories, in the image's order."""
        return [(width, core.weight_rows()) for (width, _), core
                in zip(self.weight_stores(), self.spram_cores, strict=True)]

    def weight_image(self):
        """The bytes the weight loader expects (None: no weights in SPRAM)."""
        if not self.spram_cores:
            return None
        from .core.weight_loader import weight_image
        return weight_image(self.weight_contents())

    def weight_loader(self):
        """A :class:`~hwgen.core.weight_loader.WeightLoader` for this network's image."""
        from .core.weight_loader import WeightLoader, weights_ident
        return WeightLoader(self.weight_stores(), weights_ident(self.weight_contents()))

    @property
    def input_layout(self):
        return self.i_events.p.shape()

    @property
    def output_layout(self):
        return self.o_events.p.shape()

    def add_core(self, m, core, layer):
        """Add core ``core`` of layer ``layer`` to ``m``, with the FIFO after it if the
        graph has one; return the stream its events leave by."""
        graph = self.graph
        out = self.cores[core].o_events
        m.submodules[core] = self.cores[core]
        if graph.has_fifo(layer):
            fifo = EventFIFO(out.p.shape(), self._options.fifo_depth)
            m.submodules[graph.fifo_name(core)] = fifo
            wiring.connect(m, out, fifo.i_events)
            out = fifo.o_events
        return out

    def elaborate(self, platform):
        m = Module()
        if self.graph.fabric is not None:
            elaborate_fabric(m, self)
            return m
        graph = self.graph

        # Each source's stream (the network input, or a core's FIFO output).
        sources = {"input": wiring.flipped(self.i_events)}
        for node in graph.layers:
            sources[node.name] = self.add_core(m, graph.core_name(node.name), node.name)

        # The input stream of each consumer slot: (layer name or OUTPUT_PORT, slot).
        sinks = {}
        for node in graph.layers:
            core = self.cores[node.name]
            if not graph.needs_merge(node.name):
                sinks[(node.name, 0)] = core.i_events
            else:
                merge = EventMerge([edge.size for edge in node.inputs],
                                   [graph.nodes[edge.source].event_max for edge in node.inputs])
                m.submodules[graph.merge_name(node.name)] = merge
                wiring.connect(m, merge.o_events, core.i_events)
                for edge, port in zip(node.inputs, merge.inputs(), strict=True):
                    sinks[(node.name, edge.slot)] = port
        sinks[(OUTPUT_PORT, 0)] = wiring.flipped(self.o_events)

        # wiring.connect checks that both ends have the same layout: the graph gives a
        # source and each of its consumer slots the same one.
        for name, stream_ in sources.items():
            targets = [sinks[(edge.consumer, edge.slot)] for edge in graph.consumers(name)]
            if not targets:
                # A layer nobody reads (not the output): drain it so it never stalls.
                m.d.comb += stream_.ready.eq(1)
            elif len(targets) == 1:
                wiring.connect(m, stream_, targets[0])
            else:
                bcast = EventBroadcast(graph.nodes[name].layout, len(targets))
                m.submodules[graph.fanout_name(name)] = bcast
                wiring.connect(m, stream_, bcast.i_events)
                for port, target in zip(bcast.outputs(), targets, strict=True):
                    wiring.connect(m, port, target)
        return m
