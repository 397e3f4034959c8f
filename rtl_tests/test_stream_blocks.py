"""Every stream block alone (merge, broadcast, FIFO) and a merge feeding a broadcast,
bit-exact against golden, under random stalls on every port, with a protocol checker on
every port (DESIGN.md section 5).

Each pytest case is one design, built once; its scenarios (stall patterns, tick timing,
out-of-range addresses) run as cocotb tests of ``stream_blocks_bench`` in that one build.
``HWGEN_SEED`` reproduces the events and the stalls.
"""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from conftest import SEED, simulators

import golden.event_broadcast
import golden.event_fifo
import golden.event_merge
from hwgen.aer import bits_for, event_layout
from hwgen.core.event_broadcast import EventBroadcast
from hwgen.core.event_fifo import EventFIFO
from hwgen.core.event_merge import EventMerge
from hwgen.sim.runner import SimError, run_cocotb
from hwgen.verilog_text import to_verilog

BENCH = "stream_blocks_bench"


class MergeBroadcast(wiring.Component):
    """An :class:`EventMerge` whose output feeds an :class:`EventBroadcast`.

    Parameters
    ----------
    sizes, max_values : list of int
        As :class:`EventMerge`'s.
    count : int
        Outputs of the broadcast.

    Members
    -------
    i_<k> : the merge's inputs
    o_<j> : the broadcast's outputs
    """

    def __init__(self, sizes, max_values, count):
        self._merge = EventMerge(sizes, max_values)
        self._broadcast = EventBroadcast(self._merge.o_events.payload.shape(), count)
        self._inputs = [f"i_{k}" for k in range(len(sizes))]
        self._outputs = [f"o_{j}" for j in range(count)]
        # The ports are the merge's inputs and the broadcast's outputs, as they declare them.
        super().__init__(
            {name: self._merge.signature.members[name] for name in self._inputs}
            | {name: self._broadcast.signature.members[name] for name in self._outputs})

    def elaborate(self, platform):
        m = Module()
        m.submodules.merge = merge = self._merge
        m.submodules.broadcast = broadcast = self._broadcast
        for name in self._inputs:
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(merge, name))
        wiring.connect(m, merge.o_events, broadcast.i_events)
        for name in self._outputs:
            wiring.connect(m, getattr(broadcast, name), wiring.flipped(getattr(self, name)))
        return m


# ---------------------------------------------------------------------------- scenarios

def random_steps(rng, port, timesteps, *, density=1.5, junk=0.0, empty=0.0):
    """Events of one input per timestep: ``(addr, value)`` with ``value >= 1``.

    ``junk`` is the share of addresses beyond ``addr_count`` that still fit the field
    (where the field has room), which a merge must drop; ``empty`` the share of timesteps
    with no event, only the tick.
    """
    size, vmax = port["addr_count"], port["max_value"]
    limit = 1 << bits_for(size - 1)
    steps = []
    for _ in range(timesteps):
        count = 0 if rng.random() < empty else rng.randint(0, round(density * size) + 1)
        step = []
        for _ in range(count):
            if limit > size and rng.random() < junk:
                addr = rng.randrange(size, limit)
            else:
                addr = rng.randrange(size)
            step.append((addr, rng.randint(1, vmax)))
        steps.append(step)
    return steps


def per_port(knob, spec, k):
    """Stall spec of port ``k``: ``spec["<knob>s"][k]`` if the spec lists one per port."""
    listed = spec.get(f"{knob}s")
    return listed[k % len(listed)] if listed else spec.get(knob, 0.3)


def max_cycles(inputs):
    # Generous (stalls up to 0.9, long bursts and tick delays): only a hang reaches it.
    return 2000 + 100 * sum(len(e) + 1 for steps in inputs for e in steps)


# Knobs shared by every block: stall specs are a probability, a 1 (go) / 0 (stall) pattern
# repeated, or {"burst": p, "length": n}; "<knob>s" gives one spec per port.
COMMON = [
    {"name": "random_stalls", "in_stall": 0.3, "out_stall": 0.3},
    # Output stalled most of the time while inputs come and go: a block must hold what it
    # offered (a merge must not switch to an input that became valid meanwhile).
    {"name": "output_mostly_stalled", "in_stall": 0.5, "out_stall": 0.75},
    {"name": "inputs_never_stall", "in_stall": 0.0, "out_stall": 0.6},
    {"name": "input_stalls", "in_stall": 0.8, "out_stall": 0.1},
    {"name": "patterns", "in_stalls": [[1, 1, 0], [1, 0], [0, 1, 1, 1]],
     "out_stalls": [[1, 0, 0, 1, 0], [0, 1], [1, 1, 1, 0]]},
    {"name": "bursts", "in_stall": {"burst": 0.05, "length": 15},
     "out_stalls": [{"burst": 0.08, "length": 30}, {"burst": 0.1, "length": 7}, 0.5],
     "density": 3.0},
    {"name": "sparse", "in_stall": 0.2, "out_stall": 0.4, "empty": 0.5, "density": 0.7},
]

MERGE_ONLY = [
    # Ticks of different inputs far apart: a quick input's events of t+1 wait behind the
    # tick of t while a slow input (stalled or holding its tick back) is still in t.
    {"name": "lagging_ticks", "in_stalls": [0.0, 0.9, 0.1], "tick_delays": [60, 0, 5],
     "out_stall": 0.3},
    {"name": "one_input_late", "in_stalls": [0.0, 0.0, 0.95], "out_stall": 0.2,
     "tick_delays": [0, 0, 20]},
    {"name": "mostly_out_of_range", "in_stall": 0.3, "out_stall": 0.5, "junk": 0.8},
]

OUTPUTS_INDEPENDENT = [
    # Each output its own stall pattern: one never stalls, one nearly always, one periodic.
    {"name": "outputs_independent", "in_stall": 0.1,
     "out_stalls": [0.0, 0.85, [1, 0, 0]]},
    {"name": "outputs_out_of_phase", "in_stall": 0.0, "out_stalls": [[1, 0], [0, 1], [1, 0, 1]]},
]


def scenario(spec, rng, in_ports, out_ports, golden_outputs, *, timesteps=8, junk=0.25,
             ordered=False):
    """A scenario of the bench: inputs' events, stalls, and golden outputs."""
    events = [random_steps(rng, port, timesteps, density=spec.get("density", 1.5),
                           junk=spec.get("junk", junk), empty=spec.get("empty", 0.0))
              for port in in_ports.values()]
    delays = spec.get("tick_delays", [0])
    return {
        "name": spec["name"],
        "max_cycles": max_cycles(events),
        "inputs": {name: {"events": events[k], "stall": per_port("in_stall", spec, k),
                          "tick_delay": delays[k % len(delays)]}
                   for k, name in enumerate(in_ports)},
        "outputs": {name: {"expected": expected, "ordered": ordered,
                           "stall": per_port("out_stall", spec, j)}
                    for j, (name, expected) in enumerate(zip(out_ports, golden_outputs(events),
                                                             strict=True))},
    }


def ports(prefix, count, addr_counts, max_values):
    return {f"{prefix}_{k}": {"addr_count": a, "max_value": v}
            for k, a, v in zip(range(count), addr_counts, max_values, strict=True)}


def run_block(component, name, in_ports, out_ports, specs, golden_outputs, sim, build_dir,
              **kw):
    """Build ``component`` once and run every scenario of ``specs`` on it."""
    rng = random.Random(f"{SEED}/{build_dir.name}")
    config = {
        "seed": SEED,
        "inputs": in_ports,
        "outputs": out_ports,
        "scenarios": [scenario(spec, rng, in_ports, out_ports, golden_outputs, **kw)
                      for spec in specs],
    }
    text = to_verilog(component, name)
    try:
        total, _ = run_cocotb(text, name, BENCH, build_dir, sim=sim, config=config)
    except SimError as exc:
        # The message names the scenario, port, cycle and rule; the runner's code is noise.
        pytest.fail(str(exc), pytrace=False)
    assert total == len(specs)


# ---------------------------------------------------------------------------- tests

# (sizes, max_values): 1..3 inputs; sizes that leave room for out-of-range addresses in
# their field (5 in 3 bits, 3 in 2 bits, 1 in 1 bit), binary and graded values.
MERGES = {
    "one": ([5], [3]),
    "two": ([3, 5], [1, 3]),
    "three": ([6, 1, 3], [2, 1, 7]),
}


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("case", sorted(MERGES))
def test_event_merge(case, sim, build_dir):
    """Every input's in-range events at its offset, per timestep; out-of-range dropped."""
    sizes, max_values = MERGES[case]
    in_ports = ports("i", len(sizes), sizes, max_values)
    out_ports = {"o_events": {"addr_count": sum(sizes), "max_value": max(max_values)}}
    run_block(EventMerge(sizes, max_values), "event_merge", in_ports, out_ports,
              COMMON + MERGE_ONLY,
              lambda events: [golden.event_merge.merge_events(sizes, events)],
              sim, build_dir)


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("count", [1, 2, 3])
def test_event_broadcast(count, sim, build_dir):
    """Every output gets every event once, each output stalled on its own."""
    port = {"addr_count": 6, "max_value": 3}
    out_ports = {f"o_{j}": port for j in range(count)}
    run_block(EventBroadcast(event_layout(**port), count), "event_broadcast",
              {"i_events": port}, out_ports, COMMON + OUTPUTS_INDEPENDENT,
              lambda events: golden.event_broadcast.broadcast_events(events[0], count),
              sim, build_dir)


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("depth", [1, 2, 16])
def test_event_fifo(depth, sim, build_dir):
    """Events come out in the order they went in, full or empty."""
    port = {"addr_count": 12, "max_value": 1}
    run_block(EventFIFO(event_layout(**port), depth), "event_fifo",
              {"i_events": port}, {"o_events": port}, COMMON,
              lambda events: [golden.event_fifo.fifo_events(events[0])],
              sim, build_dir, ordered=True)


@pytest.mark.parametrize("sim", simulators())
def test_merge_into_broadcast(sim, build_dir):
    """No event lost or duplicated between a merge and the broadcast it feeds."""
    sizes, max_values, count = [6, 1, 3], [2, 1, 7], 3
    in_ports = ports("i", len(sizes), sizes, max_values)
    out = {"addr_count": sum(sizes), "max_value": max(max_values)}
    run_block(MergeBroadcast(sizes, max_values, count), "merge_broadcast", in_ports,
              {f"o_{j}": out for j in range(count)},
              COMMON + MERGE_ONLY + OUTPUTS_INDEPENDENT,
              lambda events: golden.event_broadcast.broadcast_events(
                  golden.event_merge.merge_events(sizes, events), count),
              sim, build_dir)
