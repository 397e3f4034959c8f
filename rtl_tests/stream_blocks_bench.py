"""cocotb testbench of one stream block (merge, broadcast, FIFO, or a wrapper of them).

Generic over the block: a :class:`Driver` per input stream, a :class:`Monitor` per output
stream, a :class:`~hwgen.sim.stream_checker.StreamChecker` on every port. The JSON file
named by ``HWGEN_TEST_CONFIG`` (written by ``test_stream_blocks.py`` through
:func:`hwgen.sim.runner.run_cocotb`) gives the ports, and a list of scenarios: each the
events of every input per timestep, the golden events of every output, and the stall
pattern of every port. Each scenario is its own cocotb test, after a reset.
"""

import itertools
import json
import os
import random
from collections import Counter, deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwgen.aer import event_layout, pack
from hwgen.sim.runner import CONFIG_ENV
from hwgen.sim.stream_checker import StreamChecker


def _load_config():
    with open(os.environ[CONFIG_ENV]) as f:
        return json.load(f)


CONFIG = _load_config()

# Cycles without a handshake on any port after which a block counts as hung: well above
# the longest stall burst (30) or tick delay (60) the scenarios use.
IDLE_LIMIT = 500


def stall_pattern(spec, rng):
    """An endless iterator of ``True`` (stall this cycle) / ``False``.

    ``spec`` is a probability of a stall per cycle, or a list of 1 (go) / 0 (stall)
    repeated forever (e.g. ``[1, 1, 0]``), or ``{"burst": p, "length": n}``: with
    probability ``p`` per cycle a stall of ``n`` cycles begins (long stalls let queues fill).
    """
    if isinstance(spec, list):
        return (not go for go in itertools.cycle(spec))
    if isinstance(spec, dict):
        def bursts():
            while True:
                if rng.random() < spec["burst"]:
                    yield from [True] * spec["length"]
                else:
                    yield False
        return bursts()
    return iter(lambda: rng.random() < spec, None)


def _layout(port):
    return event_layout(port["addr_count"], port["max_value"])


class _Port:
    """valid / ready / payload handles of the stream ``name`` and its protocol checker."""

    def __init__(self, dut, name, layout, timesteps):
        self.name = name
        self.layout = layout
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.checker = StreamChecker(name, layout, ticks=timesteps)

    def _read(self, handle, what, cycle):
        value = handle.value
        if not value.is_resolvable:
            raise AssertionError(f"stream '{self.name}', cycle {cycle}: {what} is {value} "
                                 "(X or Z)")
        return int(value)

    def sample(self, cycle):
        """Check this cycle's handshake; the event taken, or ``None``."""
        valid = self._read(self.valid, "valid", cycle)
        ready = self._read(self.ready, "ready", cycle)
        # The payload only means something while valid: an unwritten FIFO RAM reads as X.
        payload = self._read(self.payload, "the payload", cycle) if valid else 0
        return self.checker.sample(cycle, valid, ready, payload)


class Driver(_Port):
    """Feeds the events of every timestep, each followed by a tick, into an input stream.

    A tick carries random ``addr`` / ``value`` bits (they are "ignored", so the block must
    ignore them). ``tick_delay`` idle cycles before each tick make this input's ticks
    arrive late relative to the other inputs'.
    """

    def __init__(self, dut, name, layout, steps, stall, rng, tick_delay=0):
        super().__init__(dut, name, layout, len(steps))
        self.stall = stall
        self.tick_delay = tick_delay
        widths = {f: layout[f].width for f in ("addr", "value")}
        self.queue = deque()
        for step in steps:
            self.queue.extend((pack(layout, addr, value), False) for addr, value in step)
            self.queue.append((pack(layout, rng.randrange(1 << widths["addr"]),
                                    rng.randrange(1 << widths["value"]), 1), True))
        self.presenting = False
        self.waited = 0

    @property
    def done(self):
        return not self.queue

    def drive(self):
        """After the rising edge: offer the next event unless stalled (or held)."""
        stalled = next(self.stall)
        if not self.presenting and self.queue:
            if self.queue[0][1] and self.waited < self.tick_delay:
                self.waited += 1
            elif not stalled:
                self.payload.value = self.queue[0][0]
                self.valid.value = 1
                self.presenting = True
                self.waited = 0
        if not self.presenting:
            self.valid.value = 0

    def sample(self, cycle):
        event = super().sample(cycle)
        if event is not None:
            self.queue.popleft()
            self.presenting = False
        return event


class Monitor(_Port):
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


class TB:
    """The block under test with a driver on each input and a monitor on each output."""

    def __init__(self, dut, scenario, seed):
        self.dut = dut
        self.scenario = scenario
        self.stopped = None             # why run() ended early, if it did
        # One generator per scenario: a failing scenario replays alone with the same seed.
        rng = random.Random(f"{seed}/{scenario['name']}")
        self.drivers = [
            Driver(dut, name, _layout(CONFIG["inputs"][name]), s["events"],
                   stall_pattern(s["stall"], rng), rng, s.get("tick_delay", 0))
            for name, s in scenario["inputs"].items()]
        self.monitors = [
            Monitor(dut, name, _layout(CONFIG["outputs"][name]), len(s["expected"]),
                    stall_pattern(s["stall"], rng))
            for name, s in scenario["outputs"].items()]

    async def reset(self):
        """Start the clock and hold ``rst`` for 3 cycles with every stream idle."""
        Clock(self.dut.clk, 10, unit="ns").start()
        self.dut.rst.value = 1
        for d in self.drivers:
            d.valid.value = 0
            d.payload.value = 0
        for m in self.monitors:
            m.ready.value = 0
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def run(self):
        """Run until every tick came out (or ``max_cycles``), then a little longer.

        One loop drives and samples every port, rather than a coroutine per port: two
        triggers per cycle keep the simulation fast, and the random draws come in a fixed
        order, so the run reproduces from the seed. Inputs are driven just after the
        rising edge and every handshake is sampled at the falling edge, once the block's
        combinational paths (a merge or broadcast has no register) have settled.
        """
        ports = [*self.drivers, *self.monitors]
        limit = self.scenario["max_cycles"]
        cycle, drain, moved = 0, None, 0
        while cycle < limit and (drain is None or drain > 0):
            for p in ports:
                p.drive()
            await FallingEdge(self.dut.clk)
            for p in ports:
                if p.sample(cycle) is not None:
                    moved = cycle
            await RisingEdge(self.dut.clk)
            cycle += 1
            if cycle - moved > IDLE_LIMIT:
                # Nothing crossed any port for far longer than any stall or tick delay of a
                # scenario: the block hangs (e.g. lost a tick); fail now, not at max_cycles.
                self.stopped = f"nothing moved on any port for {IDLE_LIMIT} cycles"
                break
            if drain is None and all(p.done for p in ports):
                # Keep watching a while: an event duplicated after the last tick shows here.
                drain = 32
            elif drain is not None:
                drain -= 1
        if cycle >= limit:
            self.stopped = f"stopped after {cycle} cycles"
        return cycle

    def check(self, cycles):
        """Fail on the first protocol error, else the first difference from golden."""
        for p in [*self.drivers, *self.monitors]:
            error = p.checker.finish(cycles)
            if error is not None:
                stopped = f" ({self.stopped})" if self.stopped else ""
                raise AssertionError(f"{error}{stopped}")
        for m in self.monitors:
            s = self.scenario["outputs"][m.name]
            error = m.mismatch(s["expected"], s.get("ordered", False))
            if error is not None:
                raise AssertionError(error)


@cocotb.test()
@cocotb.parametrize(scenario=[cocotb.Param(value=s, name=s["name"])
                              for s in CONFIG["scenarios"]])
async def stream_block(dut, scenario):
    """Drive the scenario's inputs, check every port's protocol and outputs vs golden."""
    tb = TB(dut, scenario, CONFIG["seed"])
    await tb.reset()
    tb.check(await tb.run())
