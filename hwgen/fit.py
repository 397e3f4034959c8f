"""Will a design fit its FPGA? Checked before place and route, which takes minutes on a
design that cannot fit and then dies with a message about BELs.

Twice, each time with one message naming the resource that ran out and by how much:

1. Before synthesis, in seconds: the memories of the elaborated design (every
   ``amaranth.lib.memory.Memory``: weights, accumulators, potentials, FIFOs, ROMs) against
   the most the device can hold. This is a lower bound on what synthesis needs -- it
   counts bits only, and lets every bit that block RAM cannot take go to logic (flip-flops
   on iCE40, LUT RAM on ECP5) -- so it refuses only designs that cannot fit at all.
2. After synthesis, before place and route: yosys' cell counts (LUTs, flip-flops, block
   RAMs, DSPs) against the device's.
"""

from amaranth.hdl import Fragment, Shape
from amaranth.hdl._mem import MemoryInstance

from .errors import HwgenError

__all__ = ["FitError", "design_memories", "check_memory_bits", "check_resources"]

# Bits one LUT can hold as distributed RAM, generously (an ECP5 slice of two LUT4s holds
# 16 x 4 bits as TRELLIS_DPR16X4): the bound stays a lower bound of what is needed.
_LUT_RAM_BITS = {"ice40": 0, "ecp5": 64}


class FitError(HwgenError):
    """A design needs more of a resource than its device has."""


def design_memories(top, platform):
    """``[(path, depth, width)]`` of every memory of ``top`` as elaborated for
    ``platform``."""
    out = []

    def walk(fragment, path):
        if isinstance(fragment, MemoryInstance):
            data = fragment._data
            out.append((path.lstrip("."), data.depth, Shape.cast(data.shape).width))
        for sub, name, _ in fragment.subfragments:
            walk(sub, f"{path}.{name}")

    walk(Fragment.get(top, platform), "")
    return out


def check_memory_bits(memories, capacity, device):
    """Refuse ``memories`` (:func:`design_memories`) that hold more bits than ``device``
    can: its block RAM plus what its logic could hold (flip-flops, LUT RAM)."""
    total = sum(depth * width for _, depth, width in memories)
    bram_bits = capacity["BRAM"] * capacity["BRAM_bits"]
    logic_bits = capacity["FF"] + capacity["LUT"] * _LUT_RAM_BITS[capacity["family"]]
    if total <= bram_bits + logic_bits:
        return total
    largest = sorted(memories, key=lambda m: -m[1] * m[2])[:3]
    names = ", ".join(f"{path} {depth}x{width} = {depth * width:,}" for path, depth, width
                      in largest)
    raise FitError(
        f"the design does not fit the {device}: its memories hold {total:,} bits, the "
        f"{device} at most {bram_bits:,} bits of block RAM ({capacity['BRAM']} blocks of "
        f"{capacity['BRAM_bits']:,}) and {logic_bits:,} bits in logic: "
        f"{total - bram_bits - logic_bits:,} bits too many (the largest memories: {names})")


# Resources compared after synthesis, with the words a message uses.
_RESOURCES = (("LUT", "LUTs"), ("FF", "flip-flops"), ("BRAM", "block RAMs"), ("DSP", "DSPs"))


def check_resources(resources, capacity, device):
    """Refuse a synthesized design (``resources``: :func:`hwgen.build.resources_from_stat`)
    that needs more of a resource than ``device`` has; every shortfall is named."""
    short = [f"{resources[key]:,} {words} of {capacity[key]:,} ({resources[key] - capacity[key]:,} "
             "too many)" for key, words in _RESOURCES if resources.get(key, 0) > capacity[key]]
    if short:
        raise FitError(f"the design does not fit the {device} after synthesis: it needs "
                       + "; ".join(short) + " (place and route not started)")
