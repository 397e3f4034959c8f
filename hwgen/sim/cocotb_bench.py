"""cocotb testbench of a generated network top (run by :mod:`hwgen.sim.cosim`).

It drives the top's input stream with the events of every inference, applies random
valid/ready stalls on both top streams, and records the spike events of every layer by
watching each core's output stream inside the design. The configuration comes as JSON in
the file named by ``HWGEN_COSIM_CONFIG``; the recorded spikes go to the ``.npz`` it names.
"""

import json
import os
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge


def _field_reader(layout):
    fields = [(layout[n]["offset"], (1 << layout[n]["width"]) - 1)
              for n in ("addr", "value", "tick")]

    def read(bits):
        return tuple((bits >> off) & mask for off, mask in fields)
    return read


def _field_writer(layout):
    def write(addr, value, tick):
        return ((addr << layout["addr"]["offset"]) | (value << layout["value"]["offset"])
                | (tick << layout["tick"]["offset"]))
    return write


def _resolve(dut, path):
    handle = dut
    for part in path.split("."):
        handle = getattr(handle, part)
    return handle


class StreamProbe:
    """Records the events that cross one stream (sampled between clock edges)."""

    def __init__(self, valid, ready, payload, layout, shape):
        self.valid, self.ready, self.payload = valid, ready, payload
        self.read = _field_reader(layout)
        self.spikes = np.zeros(shape, dtype=np.int64)    # [N, T, size]
        self.n = self.t = 0
        self.tick_cycles = []
        self.error = None

    @property
    def done(self):
        return self.n >= self.spikes.shape[0]

    def sample(self, cycle):
        if not (int(self.valid.value) and int(self.ready.value)):
            return
        addr, value, tick = self.read(int(self.payload.value))
        if self.done:
            self.error = self.error or f"event after the last tick (addr {addr}, tick {tick})"
            return
        if tick:
            self.tick_cycles.append(cycle)
            self.t += 1
            if self.t == self.spikes.shape[1]:
                self.t, self.n = 0, self.n + 1
        elif addr >= self.spikes.shape[2]:
            self.error = self.error or f"address {addr} out of range at t={self.t}"
        else:
            self.spikes[self.n, self.t, addr] += value


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
        self.probes = {}
        for name, info in cfg["layers"].items():
            base = _resolve(dut, info["probe"].rsplit(".", 1)[0])
            stream = info["probe"].rsplit(".", 1)[1]
            self.probes[name] = StreamProbe(
                getattr(base, f"{stream}__valid"), getattr(base, f"{stream}__ready"),
                getattr(base, f"{stream}__payload"), info["layout"], (n, t, info["size"]))
        out = cfg["output"]
        self.out_probe = StreamProbe(dut.o_events__valid, dut.o_events__ready,
                                     dut.o_events__payload, out["layout"],
                                     (n, t, out["size"]))

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
        write = _field_writer(cfg["input_layout"])
        addr_limit = 1 << cfg["input_layout"]["addr"]["width"]
        events = input_events(self.x, self.rng, cfg.get("junk", 0.0), addr_limit)
        p_in, p_out = cfg["stall_in"], cfg["stall_out"]
        probes = [*self.probes.values(), self.out_probe]
        index, presenting, cycle = 0, False, 0
        in_ticks = []            # cycles at which the top input took a tick
        limit = cfg["max_cycles"]
        start = time.perf_counter()
        while not all(p.done for p in probes):
            # Drive right after the rising edge: a held event stays valid until taken.
            if not presenting and index < len(events) and self.rng.random() >= p_in:
                dut.i_events__payload.value = write(*events[index])
                dut.i_events__valid.value = 1
                presenting = True
            dut.o_events__ready.value = int(self.rng.random() >= p_out)
            await FallingEdge(dut.clk)
            for p in probes:
                p.sample(cycle)
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
        errors = {name: p.error for name, p in self.probes.items() if p.error}
        if self.out_probe.error:
            errors["<top output>"] = self.out_probe.error
        np.savez(cfg["results"], cycles=cycle, seconds=seconds, in_ticks=np.array(in_ticks),
                 finished=all(p.done for p in probes),
                 out_spikes=self.out_probe.spikes,
                 **{f"spikes_{k}": p.spikes for k, p in self.probes.items()},
                 **{f"ticks_{k}": np.array(p.tick_cycles) for k, p in self.probes.items()},
                 errors=json.dumps(errors))


@cocotb.test()
async def cosim(dut):
    """Run every inference through the design and record the spikes of every layer."""
    with open(os.environ["HWGEN_COSIM_CONFIG"]) as f:
        cfg = json.load(f)
    await TB(dut, cfg).run()
