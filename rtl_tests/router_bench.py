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

from collections import Counter

import cocotb
from port_bench import Port, PortBench, QueueDriver, load_config, stall_pattern

from hwgen.aer import packet_layout

CONFIG = load_config()
LAYOUT = packet_layout(**CONFIG["layout"])

def pack(src, addr, value, tick):
    return LAYOUT.const({"src": src, "addr": addr, "value": value,
                         "tick": tick}).as_bits()


def unpack(bits):
    view = LAYOUT.from_bits(bits)
    return (int(view.src), int(view.addr), int(view.value), int(view.tick))


class Driver(QueueDriver):
    """Feeds an input port its packets ``(src, addr, value, tick)`` in order."""

    def __init__(self, dut, name, packets, stall, tick_delay=0):
        super().__init__(dut, name, LAYOUT, [(pack(*p), p[3]) for p in packets], stall,
                         tick_delay)
        self.sent = [tuple(p) for p in packets]


class Monitor(Port):
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
        super().__init__(dut, name, LAYOUT, ticks)
        self.cycles = []
        self.stall = stall
        self.per_src = {}
        self.steps = [Counter()]

    @property
    def done(self):
        return self.checker.ticks >= self.checker.expected_ticks

    def drive(self):
        self.ready.value = int(not next(self.stall))

    def sample(self, cycle):
        if super().sample(cycle) is None:
            return None
        self.cycles.append(cycle)
        packet = unpack(self.bits)
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


class TB(PortBench):
    """The router with a driver on each input and a monitor on each output."""

    def __init__(self, dut, scenario, seed):
        super().__init__(dut, scenario, seed)
        rng = self.rng
        self.drivers = [
            Driver(dut, f"i_{k}", s["packets"], stall_pattern(s["stall"], rng),
                   s.get("tick_delay", 0))
            for k, s in enumerate(scenario["inputs"])]
        self.monitors = [
            Monitor(dut, f"o_{j}", s["expected"], stall_pattern(s["stall"], rng))
            for j, s in enumerate(scenario["outputs"])]

    def mismatch(self, monitor):
        return monitor.mismatch()

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
