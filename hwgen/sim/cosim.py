"""Run a generated design in Verilator or Icarus under cocotb; return every layer's spikes."""

import json
from pathlib import Path

import numpy as np

from ..generate import generate_verilog
from ..network import GenerateOptions
from .runner import SIMULATORS, SimError, run_cocotb

__all__ = ["SimError", "run_rtl", "SIMULATORS"]


def _stream_def(stream):
    return {"path": stream.path, "addr_count": stream.addr_count,
            "max_value": stream.max_value}


def run_rtl(model, inputs, *, sim="verilator", options=None, build_dir="sim_build/cosim",
            seed=0, stall_in=0.3, stall_out=0.3, junk=0.0, max_cycles=None):
    """Co-simulate ``inputs`` (``[T, size]`` or ``[N, T, size]``) through the RTL.

    ``junk`` mixes out-of-range input addresses in (they must be dropped). Every stream
    of the design runs the protocol checker (:mod:`hwgen.sim.stream_checker`); a broken
    rule raises :class:`SimError` naming the stream and the cycle.
    Returns ``(spikes, info)``: ``spikes`` is ``{layer: int64 [.., T, size]}`` shaped like
    :func:`golden.run`'s answer, ``info`` holds the cycle count and each layer's tick cycles.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    options = options or GenerateOptions()
    x = np.asarray(inputs, dtype=np.int64)
    batched = x.ndim == 3
    if not batched:
        x = x[None]
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    text, top = generate_verilog(model, options)
    graph = top.graph
    np.save(build_dir / "inputs.npy", x)
    results = build_dir / "results.npz"
    results.unlink(missing_ok=True)
    events = int(np.count_nonzero(x)) + x.shape[0] * x.shape[1]
    streams = graph.streams()
    cfg = {
        "inputs": str(build_dir / "inputs.npy"),
        "results": str(results),
        "seed": seed,
        "stall_in": stall_in,
        "stall_out": stall_out,
        # Out-of-range input events per timestep, as a fraction of input.size.
        "junk": junk,
        # Generous bound so a hung design ends instead of running forever.
        "max_cycles": max_cycles or 1000 + 20 * x.shape[0] * x.shape[1]
        * (graph.neurons + graph.synapses) + 20 * events,
        "input": next(_stream_def(s) for s in streams if s.path == "i_events"),
        "streams": [_stream_def(s) for s in streams],
        "spike_probes": {node.name: graph.spike_probe(node.name) for node in graph.layers},
    }
    run_cocotb(text, model.name, "hwgen.sim.cocotb_bench", build_dir, sim=sim, config=cfg)
    log = build_dir / "sim.log"
    if not results.exists():
        raise SimError(f"the {sim} simulation left no results; see {log}")
    with np.load(results) as r:
        errors = list(json.loads(str(r["errors"])).values())
        if not bool(r["finished"]):
            # A hang also leaves streams short of ticks; the first such stream says where.
            where = f": {errors[0]}" if errors else ""
            raise SimError(f"the design did not finish within {cfg['max_cycles']} cycles "
                           f"(stalled or lost a tick){where}; see {log}")
        if errors:
            raise SimError(f"protocol error: {errors[0]}")
        spikes = {node.name: r[f"spikes_{node.name}"] for node in graph.layers}
        info = {"cycles": int(r["cycles"]), "out_spikes": r["out_spikes"],
                "seconds": float(r["seconds"]), "in_tick_cycles": r["in_ticks"],
                "tick_cycles": {node.name: r[f"ticks_{node.name}"] for node in graph.layers}}
    if not batched:
        spikes = {k: v[0] for k, v in spikes.items()}
        info["out_spikes"] = info["out_spikes"][0]
    return spikes, info
