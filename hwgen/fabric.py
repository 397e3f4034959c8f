"""The router fabric of a design: which cores exist, who sends to whom, and the routing
tables, computed once from the :class:`~hwgen.graph.NetworkGraph`, in plain Python.

With ``topology="p2p"`` (the default) there is no fabric: every layer is one core, wired
point to point through merges and fan-outs. With ``crossbar`` or ``mesh``, a layer may be
split into slices (cores of at most ``max_neurons_per_core`` neurons, or an explicit split
per layer), and every core talks through AER routers (:class:`~hwgen.core.router.Router`):

- a **source** is the network input or a core; its packets carry its source id ``src``
  and its own neuron address (0 .. slice size - 1);
- a **destination** is a core or the top output; it receives the packets of every source
  that feeds it, each landing at that source's **axon base** in its concatenated input;
- the **routing table** of each router maps ``src`` to the set of its output ports the
  packet leaves by (multicast: one packet in, a copy out of each); the delivery port of a
  destination adds the base of ``src`` and merges the sources' ticks into one.

``crossbar``: one router, an input port per source and an output port per destination.
``mesh``: a 2D grid of routers, one tile per core plus one for the network input and
output; packets follow dimension-ordered (X then Y) multicast trees. Why neither can
deadlock is in ``docs/fabric.md``.
"""

import math
from dataclasses import dataclass

from .errors import HwgenError

__all__ = ["TOPOLOGIES", "Slice", "Route", "FabricPlan", "MESH_PORTS", "FabricError"]

TOPOLOGIES = ("p2p", "crossbar", "mesh")

# Port order of a mesh router: the tile's own port (inject in, deliver out), then the
# four neighbours. North is y - 1, south y + 1, east x + 1, west x - 1.
MESH_PORTS = ("local", "north", "east", "south", "west")
_STEP = {"north": (0, -1), "east": (1, 0), "south": (0, 1), "west": (-1, 0)}
_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


class FabricError(HwgenError, ValueError):
    """A split or topology that cannot be built (names the layer and the rule)."""


@dataclass(frozen=True)
class Slice:
    """Neurons ``start .. start + size - 1`` of ``layer``, held by one core ``name``."""
    layer: str
    index: int
    start: int
    size: int
    name: str


@dataclass(frozen=True)
class Route:
    """Packets of source ``src`` reach destination ``dest`` at axon ``base + addr``."""
    src: int
    dest: str
    base: int


@dataclass(frozen=True)
class RouterPlan:
    """One router: ``inputs`` and ``outputs`` are its ports in order, each
    ``("source", name)`` / ``("deliver", destination)`` for a tile's own port or
    ``("link", port)`` for a mesh neighbour (``port`` in :data:`MESH_PORTS`); ``table[src]``
    is the set of output indexes a packet of source ``src`` leaves by."""
    name: str
    inputs: tuple
    outputs: tuple
    table: tuple
    arrivals: tuple         # per input, the source ids whose packets arrive there
    tile: tuple = None      # (x, y) on a mesh

    @property
    def table_bits(self):
        """The routing table's size: one row per source id, one bit per output port."""
        return len(self.table) * len(self.outputs)


def split_sizes(size, parts):
    """``parts`` slice sizes of a layer of ``size`` neurons, as equal as possible, larger
    first (a split of 10 into 4 is 3, 3, 2, 2)."""
    return [size // parts + (1 if k < size % parts else 0) for k in range(parts)]


class FabricPlan:
    """Cores, sources, destinations and routing tables of ``graph`` on ``topology``.

    Parameters
    ----------
    graph : NetworkGraph
    topology : {"crossbar", "mesh"}
    max_neurons_per_core : int, optional
        Split every layer larger than this into ``ceil(size / max)`` slices.
    splits : dict, optional
        ``{layer: number of slices}``; wins over ``max_neurons_per_core`` for that layer.
    """

    def __init__(self, graph, topology, max_neurons_per_core=None, splits=None):
        if topology not in ("crossbar", "mesh"):
            raise ValueError(f"no fabric for topology {topology!r}")
        self.graph = graph
        self.topology = topology
        splits = dict(splits or {})
        for name in splits:
            if name not in graph.nodes or name == "input":
                raise FabricError(f"--split names '{name}', which is not a layer of the model")
        self.slices = {}
        for node in graph.layers:
            parts = splits.get(node.name)
            if parts is None:
                # --max-neurons-per-core splits what can be split and leaves the rest whole
                # (an attention unit); only an explicit --split of such a layer is an error.
                parts = (1 if max_neurons_per_core is None or not node.layer.splittable
                         else math.ceil(node.size / max_neurons_per_core))
            if not 1 <= parts <= node.size:
                raise FabricError(f"layer '{node.name}': cannot split {node.size} neurons "
                                  f"into {parts} cores (1 .. {node.size})")
            if parts > 1 and not node.layer.splittable:
                raise FabricError(f"layer '{node.name}': {node.layer.type_name} layers "
                                  "cannot be split across cores (dense layers can)")
            start, slices = 0, []
            for k, size in enumerate(split_sizes(node.size, parts)):
                name = node.name if parts == 1 else f"{node.name}_s{k}"
                slices.append(Slice(node.name, k, start, size, name))
                start += size
            self.slices[node.name] = slices

        # Sources: the network input (src 0), then every core in evaluation order.
        self.cores = [s for slices in self.slices.values() for s in slices]
        self.sources = ["input", *(s.name for s in self.cores)]
        self.source_size = {"input": graph.nodes["input"].size,
                            **{s.name: s.size for s in self.cores}}
        self.source_event_max = {"input": graph.nodes["input"].event_max,
                                 **{s.name: graph.nodes[s.layer].event_max for s in self.cores}}
        # Destinations: every core, then the top output.
        self.destinations = [*(s.name for s in self.cores), "output"]
        self.routes = []
        for src, part in enumerate([None, *self.cores]):     # src 0: the network input
            layer, start = ("input", 0) if part is None else (part.layer, part.start)
            for edge in graph.consumers(layer):
                if edge.consumer is None:       # graph.OUTPUT_PORT: the top output
                    self.routes.append(Route(src, "output", edge.base + start))
                else:
                    for dest in self.slices[edge.consumer]:
                        self.routes.append(Route(src, dest.name, edge.base + start))
        if topology == "mesh":
            self._place()

    # --- what each end sees ------------------------------------------------------------

    def routes_to(self, dest):
        """The routes that end at ``dest``, by source id."""
        return [r for r in self.routes if r.dest == dest]

    def routes_from(self, src):
        return [r for r in self.routes if r.src == src]

    @property
    def addr_count(self):
        """Address count of a packet: the largest source."""
        return max(self.source_size.values())

    @property
    def max_value(self):
        return max(self.source_event_max.values())

    def routers(self):
        """Every router of the fabric (:class:`RouterPlan`)."""
        if self.topology == "crossbar":
            table = tuple(frozenset(self.destinations.index(r.dest)
                                    for r in self.routes_from(src))
                          for src in range(len(self.sources)))
            return [RouterPlan("router", tuple(("source", n) for n in self.sources),
                               tuple(("deliver", d) for d in self.destinations), table,
                               tuple(frozenset({k}) for k in range(len(self.sources))))]
        links = self.mesh_links()
        on_tile = {}
        for name, xy in self.tile.items():
            on_tile.setdefault(xy, []).append(name)
        out = []
        for xy, table in self.mesh_tables.items():
            names = on_tile.get(xy, [])
            ins = [("source", n) for n in names if n in self.sources]
            ins += [("link", p) for p in MESH_PORTS[1:]
                    if (self.neighbour(xy, p), self.opposite(p)) in links]
            used = [p for p in MESH_PORTS if any(p in ports for ports in table.values())]
            if not ins and not used:
                continue
            dest = next((n for n in names if n in self.destinations), None)
            outs = [("deliver", dest) if p == "local" else ("link", p) for p in used]
            rows = tuple(frozenset(used.index(p) for p in table.get(src, ()))
                         for src in range(len(self.sources)))
            arrivals = []
            for kind, name in ins:
                if kind == "source":
                    arrivals.append(frozenset({self.sources.index(name)}))
                else:           # what the neighbour there sends this way
                    sender = self.mesh_tables[self.neighbour(xy, name)]
                    arrivals.append(frozenset(src for src, ports in sender.items()
                                              if self.opposite(name) in ports))
            out.append(RouterPlan(f"router_{xy[0]}_{xy[1]}", tuple(ins), tuple(outs), rows,
                                  tuple(arrivals), xy))
        return out

    # --- mesh ----------------------------------------------------------------------------

    def _place(self):
        """Tiles in a near-square grid, row-major: the input and output share tile (0, 0),
        then the cores in evaluation order (so a layer's slices sit side by side)."""
        tiles = 1 + len(self.cores)
        self.width = math.ceil(math.sqrt(tiles))
        self.height = math.ceil(tiles / self.width)
        self.tile = {"input": (0, 0), "output": (0, 0)}
        for k, s in enumerate(self.cores, start=1):
            self.tile[s.name] = (k % self.width, k // self.width)
        # The table of every router: {(x, y): {src: set of port names}}.
        self.mesh_tables = {(x, y): {} for y in range(self.height) for x in range(self.width)}
        for src, name in enumerate(self.sources):
            dests = {self.tile[r.dest] for r in self.routes_from(src)}
            for xy, ports in self._xy_tree(self.tile[name], dests).items():
                self.mesh_tables[xy][src] = ports

    @staticmethod
    def _xy_tree(origin, dests):
        """The X-then-Y multicast tree from ``origin`` to the tiles ``dests``: for every
        router on it, the ports the packet leaves by. Along the source's row the packet
        runs east and west; at each column holding destinations it turns north or south
        (never back from Y to X: the turn that makes X-Y routing deadlock-free)."""
        sx, sy = origin
        tree = {}

        def add(xy, port):
            tree.setdefault(xy, set()).add(port)

        for dx, dy in dests:
            x, y = sx, sy
            while x != dx:
                port = "east" if dx > x else "west"
                add((x, y), port)
                x += _STEP[port][0]
            while y != dy:
                port = "south" if dy > y else "north"
                add((x, y), port)
                y += _STEP[port][1]
            add((x, y), "local")
        return tree

    def mesh_links(self):
        """The router-to-router links that carry packets: ``{((x, y), port)}`` leaving
        ``(x, y)`` by ``port``."""
        return {(xy, p) for xy, table in self.mesh_tables.items()
                for ports in table.values() for p in ports if p != "local"}

    @staticmethod
    def neighbour(xy, port):
        return (xy[0] + _STEP[port][0], xy[1] + _STEP[port][1])

    @staticmethod
    def opposite(port):
        return _OPPOSITE[port]

    # --- manifest --------------------------------------------------------------------------

    def to_dict(self):
        out = {
            "topology": self.topology,
            "cores": {s.name: {"layer": s.layer, "neurons": [s.start, s.start + s.size]}
                      for s in self.cores},
            "sources": {name: {"src": k, "size": self.source_size[name]}
                        for k, name in enumerate(self.sources)},
            "routes": [{"src": r.src, "source": self.sources[r.src], "dest": r.dest,
                        "base": r.base} for r in self.routes],
        }
        if self.topology == "mesh":
            out["mesh"] = {"width": self.width, "height": self.height,
                           "tiles": {name: list(xy) for name, xy in self.tile.items()}}
        # Each router's ports and routing table: per source, the output ports it leaves by.
        out["routers"] = {
            r.name: {"inputs": [_port_name(p) for p in r.inputs],
                     "outputs": [_port_name(p) for p in r.outputs],
                     "table": {self.sources[src]: [_port_name(r.outputs[j]) for j in sorted(row)]
                               for src, row in enumerate(r.table) if row},
                     "table_bits": r.table_bits}
            for r in self.routers()}
        return out


def _port_name(port):
    kind, name = port
    return {"source": f"from {name}", "deliver": f"to {name}", "link": name}[kind]
