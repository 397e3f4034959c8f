"""cocotb testbench of a generated network top (run by :mod:`hwgen.sim.cosim`).

The reference engine: the fast engine (``fast_harness.cpp``) runs the same bench in C++.
It drives the top's input stream with the event words of a file, applies random
valid/ready stalls on both top streams, runs the stream protocol checker
(:mod:`hwgen.sim.stream_checker`) on every stream of the design and records every
handshake of the recorded streams (the top input, each layer's spike stream inside the
design, the top output) as ``uint64`` (stream index, cycle, payload) rows. The
configuration comes as JSON in the file named by the variable
:data:`hwgen.sim.runner.CONFIG_ENV` (written by :func:`hwgen.sim.cosim.run_rtl`).
"""

import json
import os
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from hwgen.aer import event_layout
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
    for a recorded stream, appends each handshake to ``records``."""

    def __init__(self, dut, stream, ticks, records):
        *inst, port = stream["path"].split(".")
        base = _resolve(dut, ".".join(inst)) if inst else dut
        self.valid = _int_reader(getattr(base, f"{port}__valid"))
        self.ready = _int_reader(getattr(base, f"{port}__ready"))
        self.payload = _int_reader(getattr(base, f"{port}__payload"))
        layout = event_layout(stream["addr_count"], stream["max_value"])
        self.checker = StreamChecker(stream["path"], layout, ticks,
                                     stream["addr_count"] if stream["in_range"] else None)
        self.record = stream["record"]
        self.records = records

    @property
    def done(self):
        return self.checker.ticks >= self.checker.expected_ticks

    def sample(self, cycle):
        """Returns whether an event crossed this cycle."""
        valid = self.valid()
        if not valid and self.checker.idle:
            return False                # the common case, kept cheap: nothing to read
        ready = self.ready()
        payload = self.payload() if valid else 0
        if self.checker.sample(cycle, valid, ready, payload) is None:
            return False
        if self.record >= 0:
            self.records.append((self.record, cycle, payload))
        return True


class TB:
    def __init__(self, dut, cfg):
        self.dut = dut
        self.cfg = cfg
        self.rng = random.Random(cfg["seed"])
        self.words = [int(w) for w in np.fromfile(cfg["words"], dtype=np.uint64)]
        self.records = []
        self.watches = [StreamWatch(dut, stream, cfg["ticks"], self.records)
                        for stream in cfg["streams"]]
        self.output = next(w for w, stream in zip(self.watches, cfg["streams"], strict=True)
                           if stream["path"] == "o_events")
        self.done = -1          # inferences that left the top output (none reported yet)

    def report_progress(self):
        """Append the count of finished inferences to the progress file (cosim reads it)."""
        done = self.output.checker.ticks // self.cfg["timesteps"]
        if done != self.done and "progress" in self.cfg:
            self.done = done
            with open(self.cfg["progress"], "a") as f:
                f.write(f"{done}\n")

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
        self.report_progress()              # 0: the simulation starts (the build is done)
        words = self.words
        p_in, p_out = cfg["stall_in"], cfg["stall_out"]
        watches = self.watches
        index, presenting, cycle, last_move, idle = 0, False, 0, 0, False
        start = time.perf_counter()
        while not all(w.done for w in watches):
            # Drive right after the rising edge: a held event stays valid until taken.
            if not presenting and index < len(words) and self.rng.random() >= p_in:
                dut.i_events__payload.value = words[index]
                dut.i_events__valid.value = 1
                presenting = True
            dut.o_events__ready.value = int(self.rng.random() >= p_out)
            await FallingEdge(dut.clk)
            for w in watches:
                if w.sample(cycle):
                    last_move = cycle
            self.report_progress()
            if presenting and int(dut.i_events__ready.value):
                index += 1
                presenting = False
            await RisingEdge(dut.clk)
            if not presenting:
                dut.i_events__valid.value = 0
            cycle += 1
            if cycle > cfg["max_cycles"]:
                break
            if cycle - last_move > cfg["idle_cycles"]:
                idle = True
                break
        seconds = time.perf_counter() - start
        finished = all(w.done for w in watches)
        # One more cycle: an event after the last tick shows up here.
        await FallingEdge(dut.clk)
        for w in watches:
            w.sample(cycle)
            w.checker.finish(cycle)
        np.array(self.records, dtype=np.uint64).reshape(-1, 3).tofile(cfg["events"])
        errors = {w.checker.name: w.checker.error for w in watches if w.checker.error}
        with open(cfg["summary"], "w") as f:
            json.dump({"cycles": cycle, "seconds": seconds, "finished": finished,
                       "idle": idle, "errors": errors}, f)


@cocotb.test()
async def cosim(dut):
    """Run every inference through the design and record the handshakes."""
    with open(os.environ[CONFIG_ENV]) as f:
        cfg = json.load(f)
    await TB(dut, cfg).run()
