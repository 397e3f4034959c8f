"""The memory planner: where each memory of a design goes, and how many lanes each layer
gets, for one device.

Every memory of the elaborated design (weights, accumulators, potentials, bias, FIFOs,
routing tables, ROMs of the board top) is placed in one of three places:

- **block RAM** (iCE40 ``SB_RAM40_4K``: 4 kbit as 256x16 .. 2048x2; ECP5 ``DP16KD``:
  18 kbit as 512x36 .. 16384x1), counted in blocks for the narrowest arrangement;
- **SPRAM** (iCE40 UltraPlus ``SB_SPRAM256KA``: 16384 x 16, one port, four on the UP5K):
  only the weights of dense layers. One port means one access per cycle: the weights,
  which a run only reads (one row per cycle), can live there; accumulators and potentials,
  read and written back in the same cycle, cannot. SPRAM has no initial contents, so its
  weights are copied from the board's SPI flash at boot (:mod:`hwgen.core.weight_loader`);
  the planner uses it only when block RAM is not enough. A weight row of ``P`` lanes is
  ``P * weight_bits`` wide and a tile is 16 bits wide: the UP5K's four tiles side by side
  give 64 bits per cycle, 8 lanes of 8-bit weights (with ``fan_in * ceil(N / 8)`` rows at
  most 16,384 deep), and that is the most any layer in SPRAM can read per cycle;
- **logic** (flip-flops; yosys' ``ram_style = "logic"``): memories of at most
  :data:`LOGIC_BITS` bits, and wide shallow ones, where a block would be mostly empty.

The placement is enforced: the build marks each memory with yosys' ``ram_style``
attribute (:func:`mark_memories`) and builds SPRAM weights on ``SB_SPRAM256KA``.

``--lanes auto`` (:func:`auto_lanes`): every dense layer starts at one lane (conv,
pooling and attention layers keep one); the
layer with the most worst-case cycles per timestep (every input axon firing once:
``fan_in * ceil(N / P) + N`` for a dense layer) gets the next power of two of lanes, as
long as the design still fits; when the slowest layer cannot get more, what the budget
still allows goes to the other layers, up to one accumulator row per input event (a layer
fed by another takes its events as fast as the producer's update emits them, one per
cycle).
"""

from dataclasses import dataclass

from .core.spram import spram_tiles
from .errors import HwgenError
from .fit import FitError, design_memories, memory_instances

__all__ = ["Budget", "MemoryPlan", "bram_blocks", "spram_tiles", "place_memories",
           "plan_memories", "auto_lanes", "plan_design", "mark_memories", "LOGIC_BITS",
           "PlanError"]

# (width, depth) arrangements of one block RAM.
BRAM_SHAPES = {
    "ice40": ((2, 2048), (4, 1024), (8, 512), (16, 256)),
    "ecp5": ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)),
}
# Memories of at most LOGIC_BITS go to logic (flip-flops; a 4 kbit block holding a
# 16-entry FIFO is 95% empty), and so do wide, shallow ones of at most SHALLOW_BITS that
# would fill less than 1/16 of their blocks (the accumulator row of a many-lane core: one
# 2,176-bit row takes 61 ECP5 blocks). iCE40 logic cells are few: its limits are lower.
LOGIC_BITS = {"ice40": 256, "ecp5": 1024}
SHALLOW_BITS = {"ice40": 512, "ecp5": 4096}
# yosys' ram_style value of each place.
RAM_STYLE = {"bram": "block", "logic": "logic"}
# The part of the device's LUTs --lanes auto may spend on lanes (an estimate: an adder
# and a multiplexer per accumulator bit and lane).
LANE_LUT_SHARE = 0.5


class PlanError(HwgenError, ValueError):
    """A lanes request the planner cannot follow (e.g. auto without a device)."""


def bram_blocks(width, depth, family):
    """Block RAMs of ``family`` a ``depth x width`` memory takes (narrowest arrangement)."""
    return min(-(-width // w) * -(-depth // d) for w, d in BRAM_SHAPES[family])


@dataclass(frozen=True)
class Budget:
    """What a device offers the planner."""
    device: str
    family: str
    bram: int
    bram_bits: int
    spram: int
    luts: int

    @classmethod
    def of_board(cls, board):
        c = board.capacity
        return cls(board.device, board.family, c.bram, c.bram_bits, c.spram, c.luts)


@dataclass(frozen=True)
class Placement:
    path: str           # the memory in the design hierarchy, e.g. "fc1.weights"
    width: int
    depth: int
    place: str          # "bram", "spram" or "logic"
    blocks: int         # block RAMs or SPRAM tiles (0 in logic)

    @property
    def bits(self):
        return self.width * self.depth

    def to_dict(self):
        return {"width": self.width, "depth": self.depth, "bits": self.bits,
                "place": self.place, "blocks": self.blocks}


@dataclass(frozen=True)
class MemoryPlan:
    budget: Budget
    placements: tuple

    def used(self, place):
        return sum(p.blocks for p in self.placements if p.place == place)

    @property
    def spram_layers(self):
        return frozenset(p.path.rsplit(".", 2)[-2] for p in self.placements
                         if p.place == "spram")

    def to_dict(self):
        b = self.budget
        return {
            "device": b.device,
            "bram": {"used": self.used("bram"), "available": b.bram, "bits_each": b.bram_bits},
            "spram": {"used": self.used("spram"), "available": b.spram},
            "logic_bits": sum(p.bits for p in self.placements if p.place == "logic"),
            "memories": {p.path: p.to_dict() for p in self.placements},
        }

    def summary(self):
        b = self.budget
        text = f"{self.used('bram')} of {b.bram} block RAMs"
        if b.spram:
            text += f", {self.used('spram')} of {b.spram} SPRAMs"
        return text


def place_memories(memories, budget, spram_candidates=()):
    """Place ``memories`` (``[(path, depth, width)]``, :func:`hwgen.fit.design_memories`)
    on ``budget``'s device; ``spram_candidates`` are the paths that may go to SPRAM (the
    weights of dense layers), used largest first and only while block RAM runs short.
    Returns a :class:`MemoryPlan`; raises :class:`~hwgen.fit.FitError` naming the memory
    that does not fit."""
    family = budget.family
    place = {}
    for path, depth, width in memories:
        bits, blocks = depth * width, bram_blocks(width, depth, family)
        sparse = bits * 16 < blocks * budget.bram_bits and bits <= SHALLOW_BITS[family]
        place[path] = ("logic", 0) if bits <= LOGIC_BITS[family] or sparse else ("bram", blocks)

    def bram_used():
        return sum(blocks for where, blocks in place.values() if where == "bram")

    shapes = {path: (depth, width) for path, depth, width in memories}
    spram_free = budget.spram
    for path in sorted(spram_candidates, key=lambda p: -shapes[p][0] * shapes[p][1]):
        if bram_used() <= budget.bram:
            break
        tiles = spram_tiles(shapes[path][1], shapes[path][0])
        if place[path][0] == "bram" and tiles <= spram_free:
            place[path] = ("spram", tiles)
            spram_free -= tiles
    placements = tuple(Placement(path, width, depth, *place[path])
                       for path, depth, width in memories)
    plan = MemoryPlan(budget, placements)
    if bram_used() > budget.bram:
        raise FitError(_shortfall(plan, spram_candidates))
    return plan


def _shortfall(plan, spram_candidates):
    """The message of a plan that needs more block RAM than the device has."""
    b = plan.budget
    in_bram = sorted((p for p in plan.placements if p.place == "bram"),
                     key=lambda p: -p.blocks)
    largest = in_bram[0]
    text = (f"the design does not fit the {b.device}: its memories need {plan.used('bram')} "
            f"block RAMs of {b.bram} ({b.bram_bits:,} bits each); the largest, "
            f"{largest.path} ({largest.depth:,} x {largest.width} = {largest.bits:,} bits), "
            f"alone needs {largest.blocks}")
    if b.spram:
        spram_left = b.spram - plan.used("spram")
        text += (f"; {plan.used('spram')} of {b.spram} SPRAMs (16384 x 16 each) are used "
                 f"and {largest.path} would need "
                 f"{spram_tiles(largest.width, largest.depth)} of the {spram_left} left"
                 if largest.path in spram_candidates else
                 f"; {largest.path} cannot go to SPRAM (only the weights of dense layers "
                 "can, and only with point-to-point cores)")
    others = ", ".join(f"{p.path} {p.blocks}" for p in in_bram[1:4])
    return text + (f" (next largest, in blocks: {others})" if others else "")


def spram_candidates(memories, model, options):
    """The weight memories of ``model``'s dense layers, as paths of ``memories``: none
    behind a router fabric, whose cores are slices with their own weights."""
    if options.topology != "p2p":
        return []
    dense = {layer.name for layer in model.layers if layer.type_name == "dense"}
    return [path for path, _, _ in memories
            if path.endswith(".weights") and path.split(".")[-2] in dense]


def plan_memories(memories, model, options, budget):
    """:func:`place_memories` of a design of ``model`` built with ``options``, with the
    weights of its dense layers offered to SPRAM."""
    return place_memories(memories, budget, spram_candidates(memories, model, options))


def network_plan(model, options, budget, top=None, others=()):
    """The memory plan of ``model``'s network built with ``options``, beside ``others``
    (``[(path, depth, width)]``: the memories of the design around it)."""
    from .network import NetworkTop
    memories = design_memories(top or NetworkTop(model, options), None) + list(others)
    return plan_memories(memories, model, options, budget)


def worst_cycles(layer, lanes):
    """Cycles of one timestep of a dense layer when every input axon fires once."""
    return layer.fan_in * -(-layer.size // lanes) + layer.size


def lane_luts(top):
    """A rough count of the LUTs the lanes of ``top``'s dense cores take beyond the first
    (an adder and a multiplexer per accumulator bit): --lanes auto's guard only."""
    params = [getattr(core, "params", {}) for core in top.cores.values()]  # pools: none
    return sum(2 * p["acc_bits"] * (p["lanes"] - 1) for p in params if "acc_bits" in p)


def auto_lanes(model, options, budget, progress=None, others=()):
    """``{layer: P}``: the lanes of every dense layer balanced for ``budget``, beside the
    memories ``others`` (the module docstring has the rule); other layers keep one lane."""
    from .network import NetworkTop
    lanes = {layer.name: 1 for layer in model.layers if layer.type_name == "dense"}

    def fits(candidate):
        top = NetworkTop(model, options.replace(lanes=candidate))
        try:
            network_plan(model, options, budget, top, others)
        except FitError:
            return False
        return lane_luts(top) <= LANE_LUT_SHARE * budget.luts

    layers = {layer.name: layer for layer in model.layers}
    frozen = set()
    while len(frozen) < len(lanes):
        cost = {name: worst_cycles(layers[name], lanes[name]) for name in lanes}
        slowest = max((name for name in lanes if name not in frozen), key=cost.get)
        if cost[slowest] < max(cost.values()) and fits(lanes):
            break           # a slower layer cannot get faster: more lanes here buy nothing
        p, size = lanes[slowest], layers[slowest].size
        while p < size:     # powers of two, then the whole layer
            p = min(2 * p, size)
            if fits(lanes | {slowest: p}):
                lanes = lanes | {slowest: p}
                if progress:
                    progress(f"lanes auto: {slowest} gets {p} lanes")
                break
        else:
            frozen.add(slowest)
    # What the budget still allows goes to the other layers, slowest first, up to one row
    # per event: a layer fed by another takes its events at the rate the producer's update
    # emits them, one per cycle, and each row more per event stalls that update (measured
    # on MNIST 784-128-10: the output layer at 10 lanes instead of 1 cuts the latency per
    # image by 13% on the UP5K and 23% on the ECP5-85F).
    for name in sorted(lanes, key=lambda name: -worst_cycles(layers[name], lanes[name])):
        size = layers[name].size
        while lanes[name] < size and fits(lanes | {name: min(2 * lanes[name], size)}):
            lanes = lanes | {name: min(2 * lanes[name], size)}
            if progress:
                progress(f"lanes auto: {name} gets {lanes[name]} lanes")
    return lanes


def plan_design(model, options, board, progress=None, others=()):
    """``(options, plan)`` for building ``model`` on ``board`` beside the memories
    ``others`` (the host link's or the self-test's, ``[(path, depth, width)]``): ``--lanes
    auto`` resolved to a count per layer, the dense layers whose weights go to SPRAM in
    ``options.spram_weights``, and the :class:`MemoryPlan` (the build plans the whole
    board design again with the same rule)."""
    budget = Budget.of_board(board)
    if options.lanes == "auto":
        options = options.replace(lanes=auto_lanes(model, options, budget, progress, others))
    plan = network_plan(model, options, budget, others=others)
    return options.replace(spram_weights=plan.spram_layers), plan


def mark_memories(fragment, plan, root):
    """Set yosys' ``ram_style`` on every memory below ``fragment``'s submodule ``root``
    (the design ``plan`` was made for) as ``plan`` places it. SPRAM weights are not
    memories there: they are SB_SPRAM256KA instances."""
    places = {p.path: p.place for p in plan.placements}
    for path, mem in memory_instances(fragment):
        where = places.get(path.removeprefix(f"{root}."))
        if where in RAM_STYLE:
            mem._attrs = {**mem._attrs, "ram_style": RAM_STYLE[where]}
