"""Run a generated design in an RTL simulator; return every layer's spikes.

Two engines run the same bench (DESIGN.md section 5 on every stream, random stalls on
both top streams, the same input words):

- ``fast`` (Verilator only, the default there): a C++ testbench compiled with the design
  (:mod:`hwgen.sim.fast`), no Python in the per-cycle loop;
- ``cocotb`` (Verilator or Icarus): the Python testbench :mod:`hwgen.sim.cocotb_bench`,
  the reference.

Both record every handshake of the top input, of each layer's spike stream and of the
top output, and leave a summary (cycles, protocol errors); this module turns the
handshakes into ``{layer: [N, T, size]}`` spikes, the same way for both.

A synthesized netlist (:mod:`hwgen.sim.gate_level`) runs on the same benches: only the
top's two streams exist there, so only they are checked and recorded.
"""

import json
import threading
from pathlib import Path

import numpy as np

from ..aer import event_layout, layout_fields
from ..generate import generate_verilog
from ..network import GenerateOptions
from .fast import build_harness, read_handshakes, run_harness
from .runner import SIMULATORS, SimError, run_cocotb
from .stimulus import input_words

__all__ = ["ENGINES", "SIMULATORS", "SimError", "run_rtl"]

ENGINES = ("fast", "cocotb")


def default_engine(sim):
    """The fast engine where it runs (Verilator); cocotb elsewhere."""
    return "fast" if sim == "verilator" else "cocotb"


def run_rtl(model, inputs, *, sim="verilator", engine=None, options=None,
            build_dir="sim_build/cosim", seed=0, stall_in=0.3, stall_out=0.3, junk=0.0,
            max_cycles=None, waves=None, progress=None, netlist=None):
    """Co-simulate ``inputs`` (``[T, size]`` or ``[N, T, size]``) through the RTL.

    Parameters
    ----------
    sim : {"verilator", "icarus"}
    engine : {"fast", "cocotb"}, optional
        Default: ``fast`` for Verilator, ``cocotb`` for Icarus.
    seed : int
        Seeds the event order and the stalls.
    stall_in, stall_out : float
        Probability of a stall cycle on the top input (valid low) and output (ready low).
    junk : float
        Mixes out-of-range input addresses in (they must be dropped).
    max_cycles : int, optional
        Stop a run that has not finished by then (default: a generous bound).
    waves : path, optional
        Record a waveform (FST) of the whole run there.
    progress : callable, optional
        ``progress(n)`` with 0 when the simulation starts, then as inferences leave the
        design (the cocotb engine reports a few times a second).
    netlist : hwgen.sim.gate_level.Netlist, optional
        Simulate this gate-level netlist of the design (with its cell models) instead of
        the generated Verilog: only the top's streams exist there, so the returned
        ``spikes`` is empty and ``info["out_spikes"]`` holds the output layer's spikes.

    Every stream of the design runs the protocol checker (:mod:`hwgen.sim.stream_checker`);
    a broken rule raises :class:`SimError` naming the stream and the cycle, as does a
    design that stops moving or does not finish.

    Returns ``(spikes, info)``: ``spikes`` is ``{layer: int64 [.., T, size]}`` shaped like
    :func:`golden.run`'s answer, ``info`` holds the cycle count, the simulation and build
    seconds and each layer's tick cycles.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    engine = engine or default_engine(sim)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "fast" and sim != "verilator":
        raise ValueError("the fast engine runs on Verilator only; use engine='cocotb'")
    options = options or GenerateOptions()
    x = np.asarray(inputs, dtype=np.int64)
    batched = x.ndim == 3
    if not batched:
        x = x[None]
    n, t = x.shape[:2]
    # NumPy's and the C++ bench's generators take seeds in [0, 2^64): fold any int there.
    seed = int(seed) % 2**64
    build_dir = Path(build_dir).resolve()
    if any(c.isspace() for c in str(build_dir)):
        # Verilator's makefiles and the bench's configuration split paths at spaces.
        raise SimError(f"the build folder '{build_dir}' has a space in its path; choose "
                       "another (--build-dir)")
    build_dir.mkdir(parents=True, exist_ok=True)
    text, top = generate_verilog(model, options)
    graph = top.graph
    streams = graph.streams()
    probes = {node.name: graph.spike_probes(node.name) for node in graph.layers}
    if netlist is not None:
        # A flattened netlist keeps its ports only: no block's stream can be observed.
        text = netlist.text
        streams = [s for s in streams if s.path in ("i_events", "o_events")]
        probes = {}
    recorded = ["i_events", *(path for layer in probes.values() for path, _ in layer),
                "o_events"]
    words = input_words(x, event_layout(model.input_size, model.input_max), seed, junk)
    words.tofile(build_dir / "words.bin")
    files = {name: build_dir / f"{name}.{ext}"
             for name, ext in (("events", "bin"), ("summary", "json"))}
    for f in files.values():
        f.unlink(missing_ok=True)
    work = graph.neurons + graph.synapses
    run = {
        "top": model.name, "seed": seed, "stall_in": stall_in, "stall_out": stall_out,
        "ticks": n * t, "timesteps": t,
        # Generous bounds, so that a hung design ends instead of running forever: in all,
        # and without any event moving (one timestep of every axon firing, 10x over).
        "max_cycles": max_cycles or 1000 + 20 * n * t * work + 20 * len(words),
        "idle_cycles": 1000 + 10 * work,
        "words": str(build_dir / "words.bin"),
        "events": str(files["events"]), "summary": str(files["summary"]),
        "streams": [{**_stream_def(s), "record": recorded.index(s.path)
                     if s.path in recorded else -1} for s in streams],
    }
    if waves is not None:
        waves = Path(waves).resolve()
        if any(c.isspace() for c in str(waves)):
            raise SimError(f"the waveform path '{waves}' has a space in it; choose another")
        try:
            waves.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SimError(f"cannot create the folder of the waveform {waves}: "
                           f"{exc.strerror}") from None
        run["waves"] = str(waves)
    if engine == "fast":
        summary, build_seconds = _run_fast(text, model.name, build_dir, run, progress,
                                           netlist)
    else:
        summary, build_seconds = _run_cocotb(text, model.name, build_dir, run, sim, progress,
                                             netlist)
    log = build_dir / "sim.log"
    errors = list(summary["errors"].values())
    if not summary["finished"]:
        # A hang also leaves streams short of ticks; the first such stream says where.
        where = f": {errors[0]}" if errors else ""
        if summary.get("idle"):
            why = (f"stopped moving: no event crossed any stream for {run['idle_cycles']} "
                   "cycles (stalled or lost a tick)")
        else:
            why = f"did not finish within {run['max_cycles']} cycles (stalled or lost a tick)"
        raise SimError(f"the design {why}{where}; see {log}")
    if errors:
        raise SimError(f"protocol error: {errors[0]} ({sim}, {engine} bench)")

    handshakes = read_handshakes(files["events"])
    decoded = {s["path"]: _decode(handshakes, s, n, t) for s in run["streams"]
               if s["record"] >= 0}
    # A layer split over several cores: its slices side by side; it has finished a
    # timestep when its last core has.
    spikes = {name: np.concatenate([decoded[path][0] for path, _ in layer], axis=-1)
              for name, layer in probes.items()}
    tick_cycles = {name: np.max([decoded[path][1] for path, _ in layer], axis=0)
                   for name, layer in probes.items()}
    info = {"cycles": int(summary["cycles"]), "seconds": float(summary["seconds"]),
            "build_seconds": build_seconds, "engine": engine,
            "out_spikes": decoded["o_events"][0],
            "in_tick_cycles": decoded["i_events"][1],
            "tick_cycles": tick_cycles}
    if not batched:
        spikes = {k: v[0] for k, v in spikes.items()}
        info["out_spikes"] = info["out_spikes"][0]
    return spikes, info


def _stream_def(stream):
    fields = layout_fields(event_layout(stream.addr_count, stream.max_value))
    return {"path": stream.path, "addr_count": stream.addr_count,
            "max_value": stream.max_value, "in_range": stream.in_range, "fields": fields}


def _run_fast(text, toplevel, build_dir, run, progress, netlist=None):
    sub = "fast-waves" if "waves" in run else "fast"
    extra = {} if netlist is None else {"sources": netlist.sim_sources("verilator"),
                                        "args": netlist.sim_args("verilator")}
    binary, seconds = build_harness(text, toplevel, build_dir / sub, waves="waves" in run,
                                    **extra)
    lines = [f"{key} {run[key]}" for key in
             ("top", "seed", "stall_in", "stall_out", "max_cycles", "idle_cycles", "ticks",
              "timesteps", "words", "events", "summary", "waves") if key in run]
    for s in run["streams"]:
        f = s["fields"]
        lines.append(f"stream {s['path']} {f['addr']['offset']} {f['addr']['width']} "
                     f"{f['value']['offset']} {f['value']['width']} {f['tick']['offset']} "
                     f"{s['addr_count']} {int(s['in_range'])} {s['record']}")
    return run_harness(binary, lines, build_dir, toplevel, progress), seconds


def _run_cocotb(text, toplevel, build_dir, run, sim, progress, netlist=None):
    timings = {}
    extra = {} if netlist is None else {"sources": netlist.sim_sources(sim),
                                        "build_args": netlist.sim_args(sim)}
    with _ProgressFile(build_dir / "progress.txt", progress) as path:
        if path is not None:
            run = {**run, "progress": str(path)}
        run_cocotb(text, toplevel, "hwgen.sim.cocotb_bench", build_dir, sim=sim, config=run,
                   waves_file=run.get("waves"), timings=timings, **extra)
    summary = Path(run["summary"])
    if not summary.exists():
        raise SimError(f"the {sim} simulation left no results; see {build_dir / 'sim.log'}")
    return json.loads(summary.read_text()), timings["build_seconds"]


class _ProgressFile:
    """Relays the cocotb bench's progress: it appends the count of finished inferences to
    a file, which a thread here polls while the simulator runs."""

    POLL_SECONDS = 0.25

    def __init__(self, path, progress):
        self.path, self.progress = path, progress
        self.stop = threading.Event()
        self.thread = None
        self.relayed = 0            # lines of the file passed on so far

    def __enter__(self):
        if self.progress is None:
            return None
        self.path.unlink(missing_ok=True)
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self.path

    def __exit__(self, *exc):
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self._relay()               # the last count written before the end

    def _poll(self):
        while not self.stop.wait(self.POLL_SECONDS):
            self._relay()

    def _relay(self):
        """Pass on every count written since the last poll, in order (0 first)."""
        try:
            lines = self.path.read_text().split("\n")[:-1]     # complete lines only
        except OSError:
            return
        for line in lines[self.relayed:]:
            self.progress(int(line))
        self.relayed = len(lines)


def _decode(handshakes, stream, n, t):
    """Spikes ``[n, t, addr_count]`` and tick cycles of a recorded stream (its
    definition as the benches got it: ``record`` index, ``fields``, ``addr_count``)."""
    rows = handshakes[handshakes[:, 0] == stream["record"]]
    cycles, payload = rows[:, 1].astype(np.int64), rows[:, 2]
    size = stream["addr_count"]

    def field(name):
        f = stream["fields"][name]
        mask = np.uint64((1 << f["width"]) - 1)
        return ((payload >> np.uint64(f["offset"])) & mask).astype(np.int64)

    tick, addr, value = field("tick"), field("addr"), field("value")
    step = np.cumsum(tick) - tick           # the timestep each handshake belongs to
    # Out-of-range addresses and events after the last tick were protocol errors, or
    # junk the design dropped (the top input).
    keep = (tick == 0) & (step < n * t) & (addr < size)
    spikes = np.zeros((n * t, size), np.int64)
    np.add.at(spikes, (step[keep], addr[keep]), value[keep])
    return spikes.reshape(n, t, size), cycles[tick == 1]
