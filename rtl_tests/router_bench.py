"""cocotb testbench of one multicast AER router (:class:`hwgen.core.router.Router`) alone.

The JSON file named by ``HWGEN_TEST_CONFIG`` (written by ``test_router.py`` through
:func:`hwgen.sim.runner.run_cocotb`) gives the packet layout, the router's shape (inputs,
output kinds, routing table) and a list of scenarios: the packets of every input port in
order, the stall pattern of every port, and the golden outputs of
:func:`golden.routing.router_outputs`. Each scenario is its own cocotb test, after a reset.

The scoreboard:

- a ``LINK`` output must carry, per source, exactly the golden sequence of packets (ticks
  included, their ``addr``/``value`` bits unchanged), and nothing of any other source;
- a delivery output must carry, per timestep, exactly the golden multiset of
  ``(src, addr, value)`` followed by one tick, and exactly as many ticks as timesteps;
- every port follows the stream rule (payload held while ``valid & ~ready``) and no
  packet crosses an output after its last tick (a :class:`StreamChecker` on every port,
  configured with the total ticks the port carries);
- a throughput scenario (no stalls, a permutation table) also measures, per output port,
  the packets it moved per cycle between its first and last move.
"""

import itertools
import json
import os
import random
from collections import Counter, deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwgen.aer import packet_layout
from hwgen.sim.runner import CONFIG_ENV
from hwgen.sim.stream_checker import StreamChecker


def _load_config():
    with open(os.environ[CONFIG_ENV]) as f:
        return json.load(f)


CONFIG = _load_config()
LAYOUT = packet_layout(**CONFIG["layout"])

# Cycles without a handshake on any port after which the router counts as hung: well
# above the longest stall burst or tick delay the scenarios use.
IDLE_LIMIT = 500


def stall_pattern(spec, rng):
    """An endless iterator of ``True`` (stall this cycle) / ``False``.

    ``spec`` is a probability of a stall per cycle, or a list of 1 (go) / 0 (stall)
    repeated forever, or ``{"burst": p, "length": n}``: with probability ``p`` per cycle
    a stall of ``n`` cycles begins (as ``stream_blocks_bench.stall_pattern``).
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


def pack(src, addr, value, tick):
    return LAYOUT.const({"src": src, "addr": addr, "value": value,
                         "tick": tick}).as_bits()


def unpack(bits):
    view = LAYOUT.from_bits(bits)
    return (int(view.src), int(view.addr), int(view.value), int(view.tick))


class _Port:
    """valid / ready / payload of the stream ``name``, its protocol checker, and the
    cycles of its handshakes."""

    def __init__(self, dut, name, ticks):
        self.name = name
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.checker = StreamChecker(name, LAYOUT, ticks=ticks)
        self.cycles = []

    def _read(self, handle, what, cycle):
        value = handle.value
        if not value.is_resolvable:
            raise AssertionError(f"stream '{self.name}', cycle {cycle}: {what} is {value} "
                                 "(X or Z)")
        return int(value)

    def sample(self, cycle):
        """Check this cycle's handshake; the packet ``(src, addr, value, tick)`` taken,
        or ``None``."""
        valid = self._read(self.valid, "valid", cycle)
        ready = self._read(self.ready, "ready", cycle)
        payload = self._read(self.payload, "the payload", cycle) if valid else 0
        if self.checker.sample(cycle, valid, ready, payload) is None:
            return None
        self.cycles.append(cycle)
        return unpack(payload)


class Driver(_Port):
    """Feeds an input port its packets in order. ``tick_delay`` idle cycles before each
    tick make this port's ticks arrive late relative to the other ports'."""

    def __init__(self, dut, name, packets, stall, tick_delay=0):
        super().__init__(dut, name, sum(p[3] for p in packets))
        self.stall = stall
        self.tick_delay = tick_delay
        self.sent = [tuple(p) for p in packets]
        self.queue = deque(self.sent)
        self.presenting = False
        self.waited = 0

    @property
    def done(self):
        return not self.queue

    def drive(self):
        """After the rising edge: offer the next packet unless stalled (or held)."""
        stalled = next(self.stall)
        if not self.presenting and self.queue:
            if self.queue[0][3] and self.waited < self.tick_delay:
                self.waited += 1
            elif not stalled:
                self.payload.value = pack(*self.queue[0])
                self.valid.value = 1
                self.presenting = True
                self.waited = 0
        if not self.presenting:
            self.valid.value = 0

    def sample(self, cycle):
        packet = super().sample(cycle)
        if packet is not None:
            sent = self.queue.popleft()
            if packet != sent:
                raise AssertionError(f"input '{self.name}', cycle {cycle}: the bench "
                                     f"offered {sent} and read back {packet}")
            self.presenting = False
        return packet


class Monitor(_Port):
    """Takes an output's packets under a stall pattern and records them: per source
    (a link) or split at ticks (a delivery port)."""

    def __init__(self, dut, name, expected, stall):
        self.kind = expected["kind"]
        if self.kind == "link":
            self.expected = {int(s): [tuple(p) for p in seq]
                             for s, seq in expected["per_src"].items()}
            ticks = sum(p[3] for seq in self.expected.values() for p in seq)
        else:
            self.expected = [Counter({(s, a, v): n for s, a, v, n in step})
                             for step in expected["steps"]]
            ticks = len(self.expected)
        super().__init__(dut, name, ticks)
        self.stall = stall
        self.per_src = {}
        self.steps = [Counter()]

    @property
    def done(self):
        return self.checker.ticks >= self.checker.expected_ticks

    def drive(self):
        self.ready.value = int(not next(self.stall))

    def sample(self, cycle):
        packet = super().sample(cycle)
        if packet is None:
            return None
        src, addr, value, tick = packet
        self.per_src.setdefault(src, []).append(packet)
        if tick:
            self.steps.append(Counter())
        else:
            self.steps[-1][(src, addr, value)] += 1
        return packet

    def mismatch(self):
        """The first difference from golden, described, or ``None``."""
        if self.kind == "link":
            for src in sorted(set(self.per_src) | set(self.expected)):
                got, want = self.per_src.get(src, []), self.expected.get(src, [])
                if got == want:
                    continue
                if src not in self.expected:
                    return (f"link output '{self.name}': {len(got)} packet(s) of source "
                            f"{src}, which is not routed here (first {got[0]})")
                n = next((i for i, (g, w) in enumerate(zip(got, want, strict=False))
                          if g != w), min(len(got), len(want)))
                return (f"link output '{self.name}', source {src}: packet {n} of "
                        f"{len(want)} differs: got {got[n:n + 3]}, golden "
                        f"{want[n:n + 3]} (got {len(got)} packets in all)")
            return None
        for t, want in enumerate(self.expected):
            got = self.steps[t] if t < len(self.steps) else Counter()
            missing, extra = want - got, got - want
            if missing or extra:
                return (f"delivery output '{self.name}', timestep {t}: missing (src, addr, "
                        f"value) {sorted(missing.elements())}, unexpected "
                        f"{sorted(extra.elements())}")
        leftover = sum(sum(step.values()) for step in self.steps[len(self.expected):])
        if leftover:
            return (f"delivery output '{self.name}': {leftover} event(s) after timestep "
                    f"{len(self.expected) - 1}")
        return None


class TB:
    """The router with a driver on each input and a monitor on each output."""

    def __init__(self, dut, scenario, seed):
        self.dut = dut
        self.scenario = scenario
        self.stopped = None
        # One generator per scenario: a failing scenario replays alone with the same seed.
        rng = random.Random(f"{seed}/{scenario['name']}")
        self.drivers = [
            Driver(dut, f"i_{k}", s["packets"], stall_pattern(s["stall"], rng),
                   s.get("tick_delay", 0))
            for k, s in enumerate(scenario["inputs"])]
        self.monitors = [
            Monitor(dut, f"o_{j}", s["expected"], stall_pattern(s["stall"], rng))
            for j, s in enumerate(scenario["outputs"])]

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
        """Run until every port is done (or ``max_cycles``), then 32 cycles more, so that
        a packet duplicated after the last tick shows. Inputs are driven after the rising
        edge, every handshake is sampled at the falling edge."""
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
                self.stopped = f"nothing moved on any port for {IDLE_LIMIT} cycles"
                break
            if drain is None and all(p.done for p in ports):
                drain = 32
            elif drain is not None:
                drain -= 1
        if cycle >= limit:
            self.stopped = f"stopped after {cycle} cycles"
        return cycle

    def check(self, cycles):
        """Fail on the first protocol error, else the first difference from golden."""
        stopped = f" ({self.stopped})" if self.stopped else ""
        for p in [*self.drivers, *self.monitors]:
            error = p.checker.finish(cycles)
            if error is not None:
                raise AssertionError(f"{error}{stopped}")
        for m in self.monitors:
            error = m.mismatch()
            if error is not None:
                raise AssertionError(f"{error}{stopped}")
        if self.stopped:
            raise AssertionError(self.stopped)

    def check_throughput(self, spec):
        """Per output port: packets moved per cycle, from its first handshake to its last.

        A delivery port also moves the ticks of the inputs feeding it (``spec["feeds"]``):
        it absorbs each in a cycle of its own, between the port's first handshake (an
        event: the scenario's timesteps are never empty) and its last (the merged tick),
        and then sends the merged tick in another cycle. A link moves its handshakes.
        """
        ratios = {}
        for j, feeds in spec["feeds"].items():
            m = self.monitors[int(j)]
            if not m.cycles:
                raise AssertionError(f"throughput: output '{m.name}' moved nothing")
            moves = len(m.cycles)
            if m.kind != "link":
                moves += sum(p[3] for k in feeds for p in self.drivers[k].sent)
            ratios[m.name] = moves / (m.cycles[-1] - m.cycles[0] + 1)
        self.dut._log.info("packets per cycle per output: " + ", ".join(
            f"{name} {r:.3f}" for name, r in ratios.items()))
        slow = {name: r for name, r in ratios.items() if r < spec["min_ratio"]}
        if slow:
            raise AssertionError(
                "throughput below " + str(spec["min_ratio"]) + " packet(s) per cycle: "
                + ", ".join(f"'{name}' {r:.3f}" for name, r in slow.items())
                + " (packets moved / cycles from the port's first move to its last)")


@cocotb.test()
@cocotb.parametrize(scenario=[cocotb.Param(value=s, name=s["name"])
                              for s in CONFIG["scenarios"]])
async def router(dut, scenario):
    """Drive the scenario's inputs; check every port's protocol and outputs vs golden."""
    tb = TB(dut, scenario, CONFIG["seed"])
    await tb.reset()
    tb.check(await tb.run())
    if scenario.get("throughput"):
        tb.check_throughput(scenario["throughput"])
