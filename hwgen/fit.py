"""Will a design fit its FPGA? Checked before place and route, which takes minutes on a
design that cannot fit and then dies with a message about BELs.

Twice, each time with one message naming the resource that ran out and by how much:

1. Before synthesis, in seconds: the memory planner (:mod:`hwgen.memory_plan`) places
   every memory of the elaborated design (:func:`design_memories`: weights, accumulators,
   potentials, FIFOs, ROMs) in block RAM, SPRAM or logic, and names the memory that does
   not fit.
2. After synthesis, before place and route: yosys' cell counts (LUTs, flip-flops, block
   RAMs, SPRAMs, DSPs) against the device's.
"""

from amaranth.hdl import Fragment, Shape
from amaranth.hdl._mem import MemoryInstance

from .errors import HwgenError

__all__ = ["FitError", "design_memories", "memory_instances", "check_resources"]


class FitError(HwgenError):
    """A design needs more of a resource than its device has."""


def memory_instances(fragment, path=""):
    """``(path, instance)`` of every memory below the elaborated ``fragment``, paths as
    ``"network.l0.weights"``."""
    if isinstance(fragment, MemoryInstance):
        yield path.lstrip("."), fragment
    for sub, name, _ in fragment.subfragments:
        yield from memory_instances(sub, f"{path}.{name}")


def design_memories(top, platform):
    """``[(path, depth, width)]`` of every memory of ``top`` as elaborated for
    ``platform``."""
    return [(path, mem._data.depth, Shape.cast(mem._data.shape).width)
            for path, mem in memory_instances(Fragment.get(top, platform))]


# Resources compared after synthesis, with the words a message uses.
_RESOURCES = (("LUT", "LUTs"), ("FF", "flip-flops"), ("BRAM", "block RAMs"),
              ("SPRAM", "SPRAMs"), ("DSP", "DSPs"))


def check_resources(resources, capacity, device):
    """Refuse a synthesized design (``resources``: :func:`hwgen.build.resources_from_stat`)
    that needs more of a resource than ``device`` has; every shortfall is named."""
    short = [f"{resources[key]:,} {words} of {capacity[key]:,} ({resources[key] - capacity[key]:,} "
             "too many)" for key, words in _RESOURCES
             if resources.get(key, 0) > capacity.get(key, 0)]
    if short:
        raise FitError(f"the design does not fit the {device} after synthesis: it needs "
                       + "; ".join(short) + " (place and route not started)")
