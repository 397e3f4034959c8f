"""cocotb testbench of one stream block (merge, broadcast, FIFO, or a wrapper of them).

Generic over the block: a :class:`Driver` per input stream, a :class:`Monitor` per output
stream, a :class:`~hwgen.sim.stream_checker.StreamChecker` on every port. The JSON file
named by ``HWGEN_TEST_CONFIG`` (written by ``test_stream_blocks.py`` through
:func:`hwgen.sim.runner.run_cocotb`) gives the ports, and a list of scenarios: each the
events of every input per timestep, the golden events of every output, and the stall
pattern of every port. Each scenario is its own cocotb test, after a reset.
"""

from collections import Counter

import cocotb
from port_bench import Port, PortBench, QueueDriver, load_config, stall_pattern

from hwgen.aer import event_layout, pack

CONFIG = load_config()

def _layout(port):
    return event_layout(port["addr_count"], port["max_value"])


class Driver(QueueDriver):
    """Feeds the events of every timestep, each followed by a tick, into an input stream.

    A tick carries random ``addr`` / ``value`` bits (they are "ignored", so the block must
    ignore them).
    """

    def __init__(self, dut, name, layout, steps, stall, rng, tick_delay=0):
        widths = {f: layout[f].width for f in ("addr", "value")}
        items = []
        for step in steps:
            items.extend((pack(layout, addr, value), False) for addr, value in step)
            items.append((pack(layout, rng.randrange(1 << widths["addr"]),
                               rng.randrange(1 << widths["value"]), 1), True))
        super().__init__(dut, name, layout, items, stall, tick_delay)


class Monitor(Port):
    """Takes an output stream's events under a stall pattern and splits them at ticks."""

    def __init__(self, dut, name, layout, timesteps, stall):
        super().__init__(dut, name, layout, timesteps)
        self.stall = stall
        self.steps = [[]]

    @property
    def done(self):
        return self.checker.ticks >= self.checker.expected_ticks

    def drive(self):
        self.ready.value = int(not next(self.stall))

    def sample(self, cycle):
        event = super().sample(cycle)
        if event is not None and event.tick:
            self.steps.append([])
        elif event is not None:
            self.steps[-1].append((event.addr, event.value))
        return event

    def mismatch(self, expected, ordered):
        """The first timestep whose events differ from ``expected``, described, or None."""
        for t, want in enumerate(expected):
            got = self.steps[t] if t < len(self.steps) else []
            want = [tuple(e) for e in want]
            if ordered and got != want:
                return (f"output '{self.name}', timestep {t}: events {got} in this order, "
                        f"golden {want}")
            missing = Counter(want) - Counter(got)
            extra = Counter(got) - Counter(want)
            if missing or extra:
                return (f"output '{self.name}', timestep {t}: missing (addr, value) "
                        f"{sorted(missing.elements())}, unexpected {sorted(extra.elements())}")
        return None


class TB(PortBench):
    """The block under test with a driver on each input and a monitor on each output."""

    def __init__(self, dut, scenario, seed):
        super().__init__(dut, scenario, seed)
        rng = self.rng
        self.drivers = [
            Driver(dut, name, _layout(CONFIG["inputs"][name]), s["events"],
                   stall_pattern(s["stall"], rng), rng, s.get("tick_delay", 0))
            for name, s in scenario["inputs"].items()]
        self.monitors = [
            Monitor(dut, name, _layout(CONFIG["outputs"][name]), len(s["expected"]),
                    stall_pattern(s["stall"], rng))
            for name, s in scenario["outputs"].items()]

    def mismatch(self, monitor):
        s = self.scenario["outputs"][monitor.name]
        return monitor.mismatch(s["expected"], s.get("ordered", False))


@cocotb.test()
@cocotb.parametrize(scenario=[cocotb.Param(value=s, name=s["name"])
                              for s in CONFIG["scenarios"]])
async def stream_block(dut, scenario):
    """Drive the scenario's inputs, check every port's protocol and outputs vs golden."""
    tb = TB(dut, scenario, CONFIG["seed"])
    await tb.reset()
    tb.check(await tb.run())
