"""Run a generated design in Verilator or Icarus under cocotb; return every layer's spikes."""

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..generate import build_manifest, generate_verilog
from ..network import GenerateOptions
from ..tools import ToolError, verilator_env

__all__ = ["SimError", "run_rtl", "SIMULATORS"]

SIMULATORS = ("verilator", "icarus")


class SimError(HwgenError):
    """The simulation did not complete (not a mismatch: the design never finished)."""


def _prepare_env(sim):
    if sim == "verilator":
        os.environ.update(verilator_env())
        # Verilator's make uses OBJCACHE: with ccache its runtime library, the bulk of
        # every build, is compiled once for all designs.
        if "OBJCACHE" not in os.environ and shutil.which("ccache"):
            os.environ["OBJCACHE"] = "ccache"
    elif shutil.which("iverilog") is None:
        raise ToolError("'iverilog' (Icarus Verilog) was not found on PATH; install it "
                        "(apt-get install iverilog) or use --sim verilator")


def run_rtl(model, inputs, *, sim="verilator", options=None, build_dir="sim_build/cosim",
            seed=0, stall_in=0.3, stall_out=0.3, junk=0.0, max_cycles=None):
    """Co-simulate ``inputs`` (``[T, size]`` or ``[N, T, size]``) through the RTL.

    ``junk`` mixes out-of-range input addresses in (they must be dropped).
    Returns ``(spikes, info)``: ``spikes`` is ``{layer: int64 [.., T, size]}`` shaped like
    :func:`golden.run`'s answer, ``info`` holds the cycle count and each layer's tick cycles.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    _prepare_env(sim)
    from cocotb_tools.runner import get_results, get_runner

    options = options or GenerateOptions()
    x = np.asarray(inputs, dtype=np.int64)
    batched = x.ndim == 3
    if not batched:
        x = x[None]
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    text, top = generate_verilog(model, options)
    manifest = build_manifest(model, top, options)
    vfile = build_dir / f"{model.name}.v"
    if not vfile.exists() or vfile.read_text() != text:   # unchanged Verilog: no rebuild
        vfile.write_text(text)
    np.save(build_dir / "inputs.npy", x)
    results = build_dir / "results.npz"
    results.unlink(missing_ok=True)
    events = int(np.count_nonzero(x)) + x.shape[0] * x.shape[1]
    neurons = sum(layer.size for layer in model.layers)
    synops = sum(layer.fan_in * layer.size for layer in model.layers)
    cfg = {
        "inputs": str(build_dir / "inputs.npy"),
        "results": str(results),
        "seed": seed,
        "stall_in": stall_in,
        "stall_out": stall_out,
        # Out-of-range input events per timestep, as a fraction of input.size.
        "junk": junk,
        # Generous bound so a hung design ends instead of running forever.
        "max_cycles": max_cycles or 1000 + 20 * x.shape[0] * x.shape[1] * (neurons + synops)
        + 20 * events,
        "input_layout": manifest["ports"]["i_events"]["layout"],
        "output": {"layout": manifest["ports"]["o_events"]["layout"],
                   "size": model.layer(model.output).size},
        "layers": {name: {"probe": info["probe"], "layout": info["event_layout"],
                          "size": info["size"]}
                   for name, info in manifest["layers"].items()},
    }
    (build_dir / "cosim.json").write_text(json.dumps(cfg, indent=1))

    runner = get_runner(sim)
    build_args = (["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O2"]
                  if sim == "verilator" else [])
    log = build_dir / "sim.log"
    # cocotb's runner raises a bare RuntimeError when a command fails; the log says why.
    try:
        runner.build(sources=[vfile], hdl_toplevel=model.name, build_dir=build_dir / sim,
                     always=(sim == "icarus"),   # Icarus builds are cheap; mtimes can tie
                     build_args=build_args, timescale=("1ns", "1ps"), log_file=log)
    except RuntimeError:
        raise SimError(f"the {sim} build of '{model.name}' failed; see {log}") from None
    try:
        xml = runner.test(test_module="hwgen.sim.cocotb_bench", hdl_toplevel=model.name,
                          build_dir=build_dir / sim, test_dir=build_dir,
                          extra_env={"HWGEN_COSIM_CONFIG": str(build_dir / "cosim.json")},
                          timescale=("1ns", "1ps"), log_file=log)
    except RuntimeError:
        raise SimError(f"the {sim} simulation of '{model.name}' did not run; "
                       f"see {log}") from None
    total, failed = get_results(xml)
    if failed or not results.exists():
        raise SimError(f"the {sim} simulation failed; see {log}")
    with np.load(results) as r:
        errors = json.loads(str(r["errors"]))
        if errors:
            layer, msg = next(iter(errors.items()))
            raise SimError(f"layer '{layer}': protocol error: {msg}")
        if not bool(r["finished"]):
            raise SimError(f"the design did not finish within {cfg['max_cycles']} cycles "
                           f"(stalled or lost a tick); see {log}")
        spikes = {layer.name: r[f"spikes_{layer.name}"] for layer in model.layers}
        info = {"cycles": int(r["cycles"]), "out_spikes": r["out_spikes"],
                "seconds": float(r["seconds"]), "in_tick_cycles": r["in_ticks"],
                "tick_cycles": {layer.name: r[f"ticks_{layer.name}"] for layer in model.layers}}
    if not batched:
        spikes = {k: v[0] for k, v in spikes.items()}
        info["out_spikes"] = info["out_spikes"][0]
    return spikes, info
