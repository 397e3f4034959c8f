"""The board self-test in Amaranth's simulator: it passes on the golden expectation, fails
on a corrupted one, and its comparison ignores the order of a timestep's events and the
addr/value bits of a tick (DESIGN.md section 5)."""

import random

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from conftest import SEED

import golden
from hwgen.aer import pack
from hwgen.board.event_compare import EventCompare, count_words
from hwgen.board.rom_stream import RomStream
from hwgen.board.self_test import SelfTest
from hwgen.inputs import random_inputs
from hwgen.model import model_from_dict
from hwgen.network import GenerateOptions

HOLD = 100          # cycles a result must hold once reached
CYCLES = 3000       # cycles of an EventCompare run
# Weights and inputs of the self-test model: a fixed draw in which output counts 0 .. D
# all occur, and vary between timesteps (most draws of so small a model are silent or
# saturated); HWGEN_SEED varies the event order and stalls of the EventCompare tests.
MODEL_SEED = 3


def _model(max_spikes):
    """6 inputs -> 5 -> 3 neurons, T = 3."""
    rng = np.random.default_rng(MODEL_SEED)

    def dense(name, size, fan_in, inputs, threshold):
        return {"name": name, "type": "dense", "size": size, "input": inputs,
                "weight_bits": 5, "weights": rng.integers(-8, 12, (size, fan_in)).tolist(),
                "neuron": {"model": "if", "threshold": threshold, "reset": "soft",
                           "v_bits": 10, "max_spikes": max_spikes}}

    return model_from_dict({"format": "hwgen-model/1", "name": "st", "timesteps": 3,
                            "input": {"size": 6, "max_value": 3},
                            "layers": [dense("a", 5, 6, "input", 10),
                                       dense("b", 3, 5, "a", 8)],
                            "output": "b"})


def _simulate(dut, limit):
    """Run until ``failed`` rises, or ``passed`` has held HOLD cycles, or ``limit`` cycles;
    returns ``(passed ever, failed ever, cycles)``."""
    result = {"passed": False, "failed": False, "cycles": 0}

    async def bench(ctx):
        held = 0
        for cycle in range(limit):
            await ctx.tick()
            result["passed"] |= bool(ctx.get(dut.passed))
            result["failed"] |= bool(ctx.get(dut.failed))
            held = held + 1 if ctx.get(dut.passed) else 0
            result["cycles"] = cycle
            if result["failed"] or held == HOLD:
                return

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return result["passed"], result["failed"], result["cycles"]


CASES = {"binary": (1, GenerateOptions()),
         "graded": (3, GenerateOptions()),
         "burst": (3, GenerateOptions(burst=True)),
         "lanes2-burst": (3, GenerateOptions(lanes=2, burst=True))}


def _self_test(case, corrupt=None):
    max_spikes, options = CASES[case]
    model = _model(max_spikes)
    x = random_inputs(model, samples=2, seed=MODEL_SEED, density=0.7)
    spikes = golden.run(model, x)["b"]
    words = None
    if corrupt:
        words = corrupt(spikes.reshape(-1, 3).copy(), max_spikes)
    return SelfTest(model, options, x, expected_words=words), spikes


@pytest.mark.parametrize("case", CASES)
def test_passes_on_golden(case):
    dut, spikes = _self_test(case)
    assert spikes.sum() > 0 and (spikes == 0).any()      # both kinds of check are reached
    if case != "binary":
        assert set(spikes.ravel()) == {0, 1, 2, 3}       # every graded count is reached
    passed, failed, cycles = _simulate(dut, 20_000)
    assert passed and not failed, f"passed={passed} failed={failed} after {cycles} cycles"


# Corruptions of the expected spike counts ([timesteps, 3]): each returns the expected words.

def _first(counts, cond):
    return next(ix for ix in np.ndindex(counts.shape) if cond(counts[ix]))


def _change_count(counts, d):
    ix = _first(counts, lambda c: c > 0)
    counts[ix] += 1 if counts[ix] < d else -1            # binary: 1 -> 0, a missing spike
    return count_words(3, d, counts)


def _remove_spike(counts, d):
    counts[_first(counts, lambda c: c > 0)] = 0
    return count_words(3, d, counts)


def _extra_spike(counts, d):
    counts[_first(counts, lambda c: c == 0)] = 1
    return count_words(3, d, counts)


def _move_spike(counts, d):
    """The spikes of one neuron expected on a silent neuron of the same timestep: the
    counts match, the addresses do not."""
    t = next(t for t, row in enumerate(counts) if row.any() and not row.all())
    i, j = np.flatnonzero(counts[t])[0], np.flatnonzero(counts[t] == 0)[0]
    counts[t, [i, j]] = counts[t, [j, i]]
    return count_words(3, d, counts)


def _extra_tick(counts, d):
    words = count_words(3, d, counts)
    return words + [words[-1]]                           # a timestep the network never runs


@pytest.mark.parametrize("corrupt", [_change_count, _remove_spike, _extra_spike, _move_spike,
                                     _extra_tick])
@pytest.mark.parametrize("case", ["binary", "burst"])
def test_fails_on_corrupted_expectation(case, corrupt):
    dut, _ = _self_test(case, corrupt)
    passed, failed, cycles = _simulate(dut, 20_000)
    assert failed and not passed, f"passed={passed} failed={failed} after {cycles} cycles"


# --- EventCompare alone ------------------------------------------------------------------

def _compare(counts, events, event_max, spike_max, size=5, expected=None):
    """EventCompare fed ``events`` (lists of (addr, value) per timestep, each followed by a
    tick whose addr/value bits are set), against ``counts`` ([T, size])."""
    steps = len(counts)
    cmp = EventCompare(size, event_max, spike_max, steps, timeout=2000)
    m = Module()
    m.submodules.cmp = cmp
    m.submodules.rom = rom = RomStream(expected or count_words(size, spike_max, counts),
                                       cmp.i_expected.payload.shape())
    wiring.connect(m, rom.o_words, cmp.i_expected)
    layout = cmp.i_events.payload.shape()
    words = []
    for step in events:
        words += [pack(layout, a, v) for a, v in step]
        words.append(pack(layout, (1 << layout["addr"].width) - 1,
                          (1 << layout["value"].width) - 1, tick=1))
    stalls = random.Random(SEED)

    async def driver(ctx):
        port = cmp.i_events
        for word in words:
            for _ in range(stalls.choice([0, 0, 1, 3])):
                await ctx.tick()
            ctx.set(port.payload.as_value(), word)
            ctx.set(port.valid, 1)
            for _ in range(CYCLES):          # bounded: a failed compare may stop taking
                ready = ctx.get(port.ready)
                await ctx.tick()
                if ready:
                    break
            ctx.set(port.valid, 0)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(driver)
    outcome = {}

    async def monitor(ctx):
        passed = failed = False
        for _ in range(CYCLES):
            await ctx.tick()
            passed |= bool(ctx.get(cmp.passed))
            failed |= bool(ctx.get(cmp.failed))
        outcome.update(passed=passed, failed=failed, final=bool(ctx.get(cmp.passed)))

    sim.add_testbench(monitor)
    sim.run()
    return outcome


def _shuffled(counts, burst, rng):
    """Each timestep's spikes as events in a random (not ascending) order."""
    out = []
    for step in counts:
        ev = [(i, 1) for i in range(len(step)) for _ in range(step[i])] if burst else \
             [(i, int(step[i])) for i in np.flatnonzero(step)]
        while len(ev) > 1 and ev == sorted(ev):
            rng.shuffle(ev)
        out.append(ev)
    return out


COUNTS = np.array([[2, 0, 3, 1, 0], [0, 0, 0, 0, 0], [1, 3, 0, 0, 2]])


@pytest.mark.parametrize("burst", [False, True])
def test_compare_ignores_event_order_and_tick_bits(burst):
    events = _shuffled(COUNTS, burst, random.Random(SEED))
    res = _compare(COUNTS, events, event_max=1 if burst else 3, spike_max=3)
    assert res == {"passed": True, "failed": False, "final": True}


@pytest.mark.parametrize("burst", [False, True])
def test_compare_fails_on_wrong_count(burst):
    wrong = COUNTS.copy()
    wrong[2, 4] = 1                        # expected 1, the events say 2
    events = _shuffled(COUNTS, burst, random.Random(SEED))
    res = _compare(COUNTS, events, event_max=1 if burst else 3, spike_max=3,
                   expected=count_words(5, 3, wrong))
    assert res["failed"] and not res["passed"]


@pytest.mark.parametrize("extra", [[(6, 1)], [(1, 3), (1, 1)]], ids=["addr", "overflow"])
def test_compare_fails_on_bad_event(extra):
    """An address beyond size, or more than D spikes of one neuron in a timestep."""
    events = _shuffled(COUNTS, False, random.Random(SEED))
    events[1] = extra
    res = _compare(COUNTS, events, event_max=3, spike_max=3)
    assert res["failed"] and not res["passed"]


def test_compare_fails_on_event_after_last_tick():
    events = _shuffled(COUNTS, False, random.Random(SEED)) + [[(0, 1)]]
    res = _compare(COUNTS, events, event_max=3, spike_max=3)
    assert res["failed"] and not res["final"]
