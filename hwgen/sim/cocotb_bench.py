"""cocotb testbench of a generated network top (run by :mod:`hwgen.sim.cosim`).

It drives the top's input stream with the events of every inference, applies random
valid/ready stalls on both top streams, runs the stream protocol checker
(:mod:`hwgen.sim.stream_checker`) on every stream of the design and records the spike
events of every layer by watching each core's output stream inside the design. Events are
packed and unpacked through :mod:`hwgen.aer` layouts built from each stream's definition
(address count, largest value). The configuration comes as JSON in the file named by
the variable :data:`hwgen.sim.runner.CONFIG_ENV`; the recorded spikes go to the ``.npz``
it names.
"""

import json
import os
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwgen.aer import event_layout, pack
from hwgen.sim.runner import CONFIG_ENV
from hwgen.sim.stream_checker import StreamChecker


def _resolve(dut, path):
    handle = dut
    for part in path.split("."):
        handle = getattr(handle, part)
    return handle


def _int_reader(handle):
    """A function returning the signal's value as an ``int``.

    ``int(handle.value)`` builds a cocotb ``Logic``/``LogicArray`` object on every read,
    and with a watch on every stream of the design those reads dominated the loop (about
    3x slower than reading the top ports only). This reads through the GPI handle
    directly (cocotb 2.1's ``_handle``; the version is pinned). X/Z bits read as 0, which
    cannot fake a handshake: valid is 0 then.
    """
    raw = handle._handle
    if len(handle) < 32:
        return raw.get_signal_val_long
    return lambda: int(raw.get_signal_val_binstr().replace("x", "0").replace("z", "0"), 2)


class StreamWatch:
    """Watches one stream of the design every cycle: runs the protocol checker on it and,
    for a layer's spike stream, records the spikes it carries."""

    def __init__(self, dut, path, layout, ticks, spikes_shape=None):
        *inst, port = path.split(".")
        base = _resolve(dut, ".".join(inst)) if inst else dut
        self.valid = _int_reader(getattr(base, f"{port}__valid"))
        self.ready = _int_reader(getattr(base, f"{port}__ready"))
        self.payload = _int_reader(getattr(base, f"{port}__payload"))
        self.checker = StreamChecker(path, layout, ticks)
        self.spikes = None if spikes_shape is None else np.zeros(spikes_shape, np.int64)
        self.tick_cycles = []
        self.n = self.t = 0

    @property
    def done(self):
        return self.checker.ticks >= self.checker.expected_ticks

    def sample(self, cycle):
        valid = self.valid()
        if not valid and self.checker.idle:
            return                      # the common case, kept cheap: nothing to read
        ready = self.ready()
        payload = self.payload() if valid else 0
        event = self.checker.sample(cycle, valid, ready, payload)
        if event is None or self.spikes is None:
            return
        if event.tick:
            self.tick_cycles.append(cycle)
            self.t += 1
            if self.t == self.spikes.shape[1]:
                self.t, self.n = 0, self.n + 1
        elif self.n >= self.spikes.shape[0]:
            return                      # after the last tick: the checker reported it
        elif event.addr >= self.spikes.shape[2]:
            self.checker.fail(cycle, f"address {event.addr} out of range at t={self.t}")
        else:
            self.spikes[self.n, self.t, event.addr] += event.value


def input_events(x, rng, junk=0.0, addr_limit=0):
    """The event list of every inference: nonzero inputs in random order, then a tick.

    With ``junk`` > 0, events whose address is out of range (``size .. addr_limit - 1``,
    where the address field has room for them) are mixed in: the design must drop them.
    """
    events = []
    size = x.shape[-1]
    for sample in x:
        for step in sample:
            nz = [(int(j), int(step[j]), 0) for j in np.flatnonzero(step)]
            if junk and addr_limit > size:
                nz += [(rng.randrange(size, addr_limit), 1, 0)
                       for _ in range(int(junk * size))]
            rng.shuffle(nz)
            events.extend(nz)
            events.append((0, 0, 1))
    return events


class TB:
    def __init__(self, dut, cfg):
        self.dut = dut
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.x = np.load(cfg["inputs"])
        n, t = self.x.shape[:2]
        ticks = n * t

        def layout(stream):
            return event_layout(stream["addr_count"], stream["max_value"])

        self.input_layout = layout(cfg["input"])
        # Every stream of the design, checked; the layers' spike streams and the top output
        # also recorded.
        recorded = {*cfg["spike_probes"].values(), "o_events"}
        self.watches = {}
        for stream in cfg["streams"]:
            shape = (n, t, stream["addr_count"]) if stream["path"] in recorded else None
            self.watches[stream["path"]] = StreamWatch(dut, stream["path"], layout(stream),
                                                       ticks, shape)
        self.probes = {layer: self.watches[path]
                       for layer, path in cfg["spike_probes"].items()}
        self.out_probe = self.watches["o_events"]

    async def reset(self):
        self.dut.rst.value = 1
        self.dut.i_events__valid.value = 0
        self.dut.i_events__payload.value = 0
        self.dut.o_events__ready.value = 0
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def run(self):
        dut, cfg = self.dut, self.cfg
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        await self.reset()
        addr_limit = 1 << self.input_layout["addr"].width
        events = input_events(self.x, self.rng, cfg.get("junk", 0.0), addr_limit)
        words = [pack(self.input_layout, *event) for event in events]
        p_in, p_out = cfg["stall_in"], cfg["stall_out"]
        watches = list(self.watches.values())
        index, presenting, cycle = 0, False, 0
        in_ticks = []            # cycles at which the top input took a tick
        limit = cfg["max_cycles"]
        start = time.perf_counter()
        while not all(w.done for w in watches):
            # Drive right after the rising edge: a held event stays valid until taken.
            if not presenting and index < len(events) and self.rng.random() >= p_in:
                dut.i_events__payload.value = words[index]
                dut.i_events__valid.value = 1
                presenting = True
            dut.o_events__ready.value = int(self.rng.random() >= p_out)
            await FallingEdge(dut.clk)
            for w in watches:
                w.sample(cycle)
            if presenting and int(dut.i_events__ready.value):
                if events[index][2]:
                    in_ticks.append(cycle)
                index += 1
                presenting = False
            await RisingEdge(dut.clk)
            if not presenting:
                dut.i_events__valid.value = 0
            cycle += 1
            if cycle > limit:
                break
        seconds = time.perf_counter() - start
        # One more cycle: an event after the last tick shows up here.
        await FallingEdge(dut.clk)
        for w in watches:
            w.sample(cycle)
            w.checker.finish(cycle)
        errors = {path: w.checker.error for path, w in self.watches.items() if w.checker.error}
        np.savez(cfg["results"], cycles=cycle, seconds=seconds, in_ticks=np.array(in_ticks),
                 finished=all(w.done for w in watches),
                 out_spikes=self.out_probe.spikes,
                 **{f"spikes_{k}": p.spikes for k, p in self.probes.items()},
                 **{f"ticks_{k}": np.array(p.tick_cycles) for k, p in self.probes.items()},
                 errors=json.dumps(errors))


@cocotb.test()
async def cosim(dut):
    """Run every inference through the design and record the spikes of every layer."""
    with open(os.environ[CONFIG_ENV]) as f:
        cfg = json.load(f)
    await TB(dut, cfg).run()
