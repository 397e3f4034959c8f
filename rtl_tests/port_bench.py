"""What the cocotb benches of single blocks share (``stream_blocks_bench``,
``router_bench``): the scenario file, stall patterns, and the loop that resets the block,
drives every input and samples every output, cycle by cycle."""

import itertools
import json
import os
import random
from collections import deque

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwgen.sim.runner import CONFIG_ENV
from hwgen.sim.stream_checker import StreamChecker

__all__ = ["IDLE_LIMIT", "Port", "PortBench", "QueueDriver", "load_config",
           "stall_pattern"]


def load_config():
    with open(os.environ[CONFIG_ENV]) as f:
        return json.load(f)


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


class Port:
    """valid / ready / payload of the stream ``name`` and its protocol checker, which
    expects ``ticks`` ticks in all."""

    def __init__(self, dut, name, layout, ticks):
        self.name = name
        self.layout = layout
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.checker = StreamChecker(name, layout, ticks=ticks)
        self.bits = None            # the payload of the last handshake

    def _read(self, handle, what, cycle):
        value = handle.value
        if not value.is_resolvable:
            raise AssertionError(f"stream '{self.name}', cycle {cycle}: {what} is {value} "
                                 "(X or Z)")
        return int(value)

    def sample(self, cycle):
        """Check this cycle's handshake; the event taken (its bits in ``bits``), or
        ``None``."""
        valid = self._read(self.valid, "valid", cycle)
        ready = self._read(self.ready, "ready", cycle)
        # The payload only means something while valid: an unwritten FIFO RAM reads as X.
        payload = self._read(self.payload, "the payload", cycle) if valid else 0
        event = self.checker.sample(cycle, valid, ready, payload)
        if event is not None:
            self.bits = payload
        return event


class QueueDriver(Port):
    """Offers ``items`` — ``(payload bits, is a tick)`` — in order, under the stall
    pattern ``stall``. ``tick_delay`` idle cycles before each tick make this input's ticks
    arrive late relative to the other inputs'."""

    def __init__(self, dut, name, layout, items, stall, tick_delay=0):
        super().__init__(dut, name, layout, sum(tick for _, tick in items))
        self.stall = stall
        self.tick_delay = tick_delay
        self.queue = deque(items)
        self.presenting = False
        self.waited = 0

    @property
    def done(self):
        return not self.queue

    def drive(self):
        """After the rising edge: offer the next item unless stalled (or held)."""
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
            bits, _ = self.queue.popleft()
            if self.bits != bits:
                raise AssertionError(f"input '{self.name}', cycle {cycle}: the bench "
                                     f"offered {bits:#x} and read back {self.bits:#x}")
            self.presenting = False
        return event


class PortBench:
    """A block with a driver on each input (``drivers``) and a monitor on each output
    (``monitors``), which the bench's subclass creates. A port has ``drive()``,
    ``sample(cycle)`` (the handshake's payload or ``None``), ``done`` and, for the reset,
    ``valid``/``payload`` (drivers) or ``ready`` (monitors). The subclass also says how
    an output differs from golden (:meth:`mismatch`)."""

    def __init__(self, dut, scenario, seed):
        self.dut = dut
        self.scenario = scenario
        self.stopped = None             # why run() ended early, if it did
        self.drivers, self.monitors = [], []
        # One generator per scenario: a failing scenario replays alone with the same seed.
        self.rng = random.Random(f"{seed}/{scenario['name']}")

    def mismatch(self, monitor):
        """The first difference of ``monitor``'s output from golden, described, or None."""
        raise NotImplementedError

    def check(self, cycles):
        """Fail on the first protocol error, else the first difference from golden, else
        on a run that ended early."""
        stopped = f" ({self.stopped})" if self.stopped else ""
        for p in [*self.drivers, *self.monitors]:
            error = p.checker.finish(cycles)
            if error is not None:
                raise AssertionError(f"{error}{stopped}")
        for m in self.monitors:
            error = self.mismatch(m)
            if error is not None:
                raise AssertionError(f"{error}{stopped}")
        if self.stopped:
            raise AssertionError(self.stopped)

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

