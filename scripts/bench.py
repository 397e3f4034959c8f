"""Benchmarks of hwgen (DESIGN.md section 7), written to docs/benchmarks.{json,md}.

Workloads (all seeded, so every run measures the same thing):

1. Cycle model: one core alone (64 inputs, 32 neurons, graded input values 0..15, no
   back-pressure), measured cycles of every timestep against ``cycle_model``.
2. Synaptic throughput: the same core with every input active (dense activity) for
   P = 1, 2, 4, 8 lanes: synaptic operations per cycle during integration (the
   accumulate phase) and over whole timesteps, against P and against the block-RAM
   bandwidth bound of the UP5K and the ECP5-85F.
3. Co-simulation speed: cycles per second of the fast engine (compiled C++ bench) and
   the cocotb engine on the same designs in the same run (the synthetic example, the
   digits model, a 784-128-10 model), builds timed apart.
4. Resources and Fmax: the bundled example's self-test top on iCEBreaker (UP5K) and
   ULX3S (ECP5-85F), from yosys and nextpnr.
5. Router fabric (``scripts/fabric_bench.py``): the speed-up of splitting a 784 -> 128
   layer over 1, 2, 4, 8 cores; router throughput at saturation; latency through 1, 2, 4
   hops; router size per port on iCE40 and ECP5 against Hoplite.
6. Spike-driven attention unit (``scripts/attention_bench.py``): cycles per timestep
   against its cycle model for tokens in {4, 16, 64} and dim in {16, 64}, both variants;
   LUT/FF/BRAM/DSP of the unit on the UP5K and the ECP5-85F.
7. Convolution core (``scripts/conv_bench.py``): cycles per timestep against its cycle
   model and cycles per input event against the receptive field, for the conv layers of
   the NIR paper CNN's shape; that whole CNN on the UP5K (yosys) and the ULX3S-85F (full
   build, Fmax).
8. Host link (``scripts/link_bench.py``): throughput at 3 Mbaud against the line-rate
   bound, and the digits model's latency per image over the link against its own cycles.
9. MNIST 784-128-10 (``scripts/mnist_bench.py``): latency per image and first-layer
   synaptic operations per cycle against the memory-bandwidth bound, with the lanes the
   memory plan gives the iCEBreaker and the ULX3S-85F, at the clocks their builds reached.

Usage: .venv/bin/python scripts/bench.py [--skip-builds] [--only SECTION ...] [--out docs/]
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import golden
from hwgen.core.neuron_core import CYCLE_MODEL, core_params, cycle_model
from hwgen.graph import NetworkGraph
from hwgen.inputs import random_inputs
from hwgen.model import load_model, model_from_dict
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import run_rtl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from random_models import dense_mlp  # noqa: E402  (the tests' model generators)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_bench import attention_markdown, bench_attention  # noqa: E402
from conv_bench import bench_conv, conv_markdown  # noqa: E402
from fabric_bench import bench_fabric  # noqa: E402
from link_bench import bench_host_link, host_link_markdown  # noqa: E402
from mnist_bench import bench_mnist, mnist_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "synthetic" / "synthetic.yaml"
DIGITS = ROOT / "examples" / "digits" / "digits_d4.yaml"
BUILD = ROOT / "sim_build" / "bench"

# Block RAM of each device: count and the widest read port of one block (bits). A core
# reads one weight row (P * weight_bits) and one accumulator row (P * acc_bits) per
# cycle, so P cannot exceed the device's total read width divided by the bits per lane.
DEVICES = {"iCE40UP5K": {"brams": 30, "port_bits": 16},
           "LFE5U-85F": {"brams": 208, "port_bits": 36}}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def core_model(fan_in=64, size=32, timesteps=6, seed=7):
    rng = np.random.default_rng(seed)
    return model_from_dict({
        "format": "hwgen-model/1", "name": "core", "timesteps": timesteps,
        "input": {"size": fan_in, "max_value": 15},
        "layers": [{"name": "layer", "type": "dense", "size": size, "weight_bits": 8,
                    "weights": rng.integers(-40, 41, (size, fan_in)).tolist(),
                    "neuron": {"model": "lif", "leak": {"shift": 3}, "threshold": 600,
                               "reset": "soft", "v_bits": 16, "max_spikes": 1}}],
        "output": "layer"})


def measure_core(model, x, lanes):
    """Per-timestep cycles of a lone core with no stalls: (measured, model, integration)."""
    spikes, info = run_rtl(model, x, options=GenerateOptions(lanes=lanes, fifo_depth=0),
                           build_dir=BUILD / f"core_p{lanes}", stall_in=0.0, stall_out=0.0)
    out_ticks = info["tick_cycles"]["layer"]
    in_ticks = info["in_tick_cycles"]
    events = np.count_nonzero(x.reshape(-1, x.shape[-1]), axis=1)
    n = model.layers[0].size
    rows = []
    # Timestep k starts when the core has sent tick k-1 (the first one has reset/INIT).
    for k in range(1, len(out_ticks)):
        measured = int(out_ticks[k] - out_ticks[k - 1])
        integration = int(in_ticks[k] - out_ticks[k - 1])
        rows.append({"events": int(events[k]), "measured": measured,
                     "model": cycle_model(int(events[k]), n, lanes),
                     "integration_cycles": integration,
                     "synops": int(events[k]) * n})
    return rows, spikes


def bench_cycle_model():
    model = core_model()
    x = random_inputs(model, samples=2, seed=11, density=0.4)
    results = []
    for lanes in (1, 4):
        rows, _ = measure_core(model, x, lanes)
        exact = sum(r["measured"] == r["model"] for r in rows)
        log(f"cycle model P={lanes}: {exact}/{len(rows)} timesteps exact")
        results.append({"lanes": lanes, "timesteps": rows,
                        "exact": exact, "count": len(rows),
                        "max_abs_error": max(abs(r["measured"] - r["model"]) for r in rows)})
    return {"formula": CYCLE_MODEL, "workload": "64 inputs (density 0.4, values 1..15) -> "
            "32 LIF neurons, 2 inferences x 6 timesteps, no stalls", "runs": results}


def bench_synops():
    model = core_model()
    x = random_inputs(model, samples=1, seed=12, density=1.0)     # every input active
    layer = model.layers[0]
    runs = []
    for lanes in (1, 2, 4, 8):
        rows, _ = measure_core(model, x, lanes)
        synops = sum(r["synops"] for r in rows)
        integ = sum(r["integration_cycles"] for r in rows)
        total = sum(r["measured"] for r in rows)
        runs.append({"lanes": lanes, "synops": synops, "integration_cycles": integ,
                     "timestep_cycles": total,
                     "synops_per_cycle_integration": round(synops / integ, 3),
                     "synops_per_cycle_timestep": round(synops / total, 3),
                     "fraction_of_P_integration": round(synops / integ / lanes, 3)})
        log(f"synops P={lanes}: {synops / integ:.2f}/cycle integrating, "
            f"{synops / total:.2f}/cycle per timestep")
    xmax = NetworkGraph(model, GenerateOptions()).axon_max(layer.name)
    bounds = {}
    for device, d in DEVICES.items():
        p = core_params(layer, xmax, 1)
        bits_per_lane = p["weight_bits"] + p["acc_bits"]
        bounds[device] = {"read_bits_per_cycle": d["brams"] * d["port_bits"],
                          "bits_per_lane": bits_per_lane,
                          "max_synops_per_cycle": d["brams"] * d["port_bits"] // bits_per_lane}
    return {"workload": "64 inputs all active (values 1..15) -> 32 neurons, 6 timesteps, "
            "no stalls", "runs": runs, "bram_bound": bounds}


def sim_workloads():
    """(name, model, inputs, lanes, inferences the cocotb engine runs) of each design."""
    synthetic = load_model(EXAMPLE)
    digits = load_model(DIGITS)
    split = np.load(DIGITS.parent / "test_split.npz")
    images = split["inputs"].astype(np.int64)
    # The most common SNN benchmark shape (8-bit random weights, binary spikes, T = 4),
    # the same generator as the tests' 784-128-10 case.
    mlp = dense_mlp((784, 128, 10), seed=784)
    return [
        ("synthetic example (64-32-10)", synthetic,
         random_inputs(synthetic, samples=200, seed=13), 1, 8),
        ("digits D=4 (64-64-10, whole test split)", digits,
         np.repeat(images[:, None, :], digits.timesteps, axis=1), 4, 16),
        ("784-128-10 (random, density 0.2)", mlp,
         random_inputs(mlp, samples=100, seed=14, density=0.2), 4, 2),
    ]


def bench_sim_speed():
    """Cycles per second of both engines on the same designs, build and run apart.

    The fast engine runs every inference; the cocotb engine the first few (its rate does
    not depend on how many). Builds are timed without ccache, as on a fresh machine.
    """
    import os
    import shutil
    rows = []
    for name, model, x, lanes, cocotb_samples in sim_workloads():
        options = GenerateOptions(lanes=lanes)
        start = time.perf_counter()
        repeats = 5
        for _ in range(repeats):
            golden.run(model, x)
        row = {"design": name, "lanes": lanes,
               "golden_inferences_per_second": round(
                   repeats * x.shape[0] / (time.perf_counter() - start), 1)}
        runs = [("fast", "verilator", x), ("cocotb", "verilator", x[:cocotb_samples])]
        if shutil.which("iverilog"):
            runs.append(("cocotb", "icarus", x[:cocotb_samples]))
        for engine, sim, inputs in runs:
            build = BUILD / f"speed_{model.name}_{engine}_{sim}"
            shutil.rmtree(build, ignore_errors=True)
            os.environ["OBJCACHE"] = ""          # a cold build: no ccache
            try:
                _, info = run_rtl(model, inputs, sim=sim, engine=engine, options=options,
                                  build_dir=build)
            finally:
                del os.environ["OBJCACHE"]
            key = f"{engine}_{sim}"
            row[key] = {"inferences": int(inputs.shape[0]), "cycles": info["cycles"],
                        "run_seconds": round(info["seconds"], 3),
                        "build_seconds": round(info["build_seconds"], 1),
                        "cycles_per_second": round(info["cycles"] / info["seconds"])}
            log(f"{name}, {engine} on {sim}: {row[key]['cycles_per_second']} cycles/s, "
                f"built in {row[key]['build_seconds']} s")
        row["fast_over_cocotb"] = round(row["fast_verilator"]["cycles_per_second"]
                                        / row["cocotb_verilator"]["cycles_per_second"], 1)
        rows.append(row)
    return {"workload": "each design's inputs with the default random stalls (30% on both "
            "top streams), every stream protocol-checked; builds without ccache",
            "runs": rows}


def bench_builds():
    from hwgen.build import build_board
    model = load_model(EXAMPLE)
    runs = []
    for board in ("icebreaker", "ulx3s-85f"):
        for lanes in (1, 4):
            log(f"building {board}, P={lanes} (minutes)")
            report = build_board(model, board, BUILD / f"build_{board}_p{lanes}",
                                 options=GenerateOptions(lanes=lanes), progress=log,
                                 top="self-test")
            runs.append({"board": board, "device": report["device"], "lanes": lanes,
                         **report["resources"], "fmax_mhz": report["fmax_mhz"],
                         "clock_mhz": round(report["clock_mhz"], 1),
                         "timing_met": report["timing_met"],
                         "build_seconds": report["build_seconds"]})
    return {"workload": f"{EXAMPLE.relative_to(ROOT)} self-test top (network + stimulus "
            "and expected-output ROMs)", "runs": runs}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def markdown(res):
    measured_on = f"Measured by `scripts/bench.py` on {res['machine']} ({res['date']})."
    lines = ["# Benchmarks", "", measured_on,
             "Regenerate with `.venv/bin/python scripts/bench.py`.", ""]
    cm = res["cycle_model"]
    lines += ["## Cycles per timestep against the cycle model", "",
              f"Formula: `{cm['formula']}`. Workload: {cm['workload']}.", ""]
    lines += _table(
        ["P", "timesteps", "exact", "max abs error (cycles)", "measured (first 5)",
         "model (first 5)"],
        [[r["lanes"], r["count"], r["exact"], r["max_abs_error"],
          ", ".join(str(t["measured"]) for t in r["timesteps"][:5]),
          ", ".join(str(t["model"]) for t in r["timesteps"][:5])] for r in cm["runs"]])
    sy = res["synops"]
    lines += ["", "## Synaptic operations per cycle (dense activity)", "",
              f"Workload: {sy['workload']}.", ""]
    lines += _table(
        ["P", "synops/cycle, integration", "fraction of P", "synops/cycle, whole timestep"],
        [[r["lanes"], r["synops_per_cycle_integration"], r["fraction_of_P_integration"],
          r["synops_per_cycle_timestep"]] for r in sy["runs"]])
    bound = "Block-RAM bandwidth bound (one weight row and one accumulator row per cycle):"
    lines += ["", bound, ""]
    lines += _table(["device", "read bits/cycle", "bits per lane", "max synops/cycle"],
                    [[dev, b["read_bits_per_cycle"], b["bits_per_lane"],
                      b["max_synops_per_cycle"]] for dev, b in sy["bram_bound"].items()])
    sp = res["sim_speed"]
    lines += ["", "## Co-simulation speed: the fast engine against cocotb", "",
              (f"Workload: {sp['workload']}. Cycles per second of simulation (the run alone); "
              "the build is timed apart (Verilog generation excluded). `fast` is the "
              "compiled C++ bench (`--engine fast`, Verilator's default), `cocotb` the "
              "Python reference bench."), ""]
    engines = [k for k in ("fast_verilator", "cocotb_verilator", "cocotb_icarus")
               if any(k in r for r in sp["runs"])]

    def cell(r, key, field):
        return r[key][field] if key in r else "-"

    lines += _table(
        ["design", "P", "golden inferences/s",
         *[f"{k.replace('_', ' on ')}: cycles/s (build s)" for k in engines],
         "fast / cocotb (Verilator)"],
        [[r["design"], r["lanes"], r["golden_inferences_per_second"],
          *[f"{cell(r, k, 'cycles_per_second'):,} ({cell(r, k, 'build_seconds')})"
            if k in r else "-" for k in engines],
          f"{r['fast_over_cocotb']}x"] for r in sp["runs"]])
    lines += ["", "Cycles simulated per design (fast engine, every inference): "
              + "; ".join(f"{r['design']}: {r['fast_verilator']['inferences']} inferences, "
                          f"{r['fast_verilator']['cycles']:,} cycles in "
                          f"{r['fast_verilator']['run_seconds']} s" for r in sp["runs"])
              + "."]
    if res.get("builds"):
        b = res["builds"]
        lines += ["", "## Resources and Fmax", "", f"Workload: {b['workload']}.", ""]
        lines += _table(
            ["board", "device", "P", "LUT", "FF", "BRAM", "DSP", "Fmax (MHz)",
             "clock (MHz)", "timing met"],
            [[r["board"], r["device"], r["lanes"], r["LUT"], r["FF"], r["BRAM"], r["DSP"],
              r["fmax_mhz"], r["clock_mhz"], "yes" if r["timing_met"] else "no"]
             for r in b["runs"]])
    if res.get("fabric"):
        lines += fabric_markdown(res["fabric"])
    if res.get("attention"):
        lines += attention_markdown(res["attention"], _table)
    if res.get("conv"):
        lines += conv_markdown(res["conv"], _table)
    if res.get("host_link"):
        lines += host_link_markdown(res["host_link"], _table)
    if res.get("mnist"):
        lines += mnist_markdown(res["mnist"], _table)
    return "\n".join(lines) + "\n"


def fabric_markdown(fab):
    """The router fabric's section (docs/fabric.md explains the design)."""
    sp = fab["split"]
    lines = ["", "## Router fabric", "", "How the fabric works: [fabric.md](fabric.md).", "",
             "### Splitting a wide layer over cores", "", f"Workload: {sp['workload']}.", ""]
    lines += _table(["topology", "cores", "cycles per timestep",
                     "speed-up (vs crossbar, 1 core)"],
                    [[r["topology"], r["cores"], r["cycles_per_timestep"], f"{r['speedup']}x"]
                     for r in sp["runs"]])
    th = fab["throughput"]
    lines += ["", "### Router throughput at saturation", "", f"Workload: {th['workload']}.", ""]
    lines += _table(["traffic", "input FIFO", "packets out per output",
                     "packets/cycle/used port"],
                    [[r["traffic"], r["input_fifo"], ", ".join(map(str, r["packets_out"])),
                      r["per_used_output_per_cycle"]] for r in th["runs"]])
    la = fab["latency"]
    lines += ["", "### Latency through hops", "", f"Workload: {la['workload']}.", ""]
    lines += _table(["hops", "cycles"], [[r["hops"], r["cycles"]] for r in la["runs"]])
    sz = fab["size"]
    h = sz["hoplite"]
    lines += ["", "### Router size", "", f"Workload: {sz['workload']}.", ""]
    lines += _table(["sources", "family", "input FIFO", "LUT", "FF", "BRAM", "LUT/port",
                     "FF/port"],
                    [[r["sources"], r["family"], r["input_fifo"], r["LUT"], r["FF"], r["BRAM"],
                      r["LUT_per_port"], r["FF_per_port"]] for r in sz["runs"]])
    hoplite = (f"Hoplite for comparison: {h['LUT']} LUTs + {h['FF']} FFs per router "
               f"({h['payload_bits']}-bit payload; {h['source']}); its figures, its device.")
    lines += ["", hoplite]
    return lines


def _fabric():
    return bench_fabric(BUILD, log)


def _attention():
    return bench_attention(log)


def _conv():
    return bench_conv(log, BUILD)


def _host_link():
    return bench_host_link(ROOT, BUILD, log)


def _mnist():
    return bench_mnist(log, BUILD)


SECTIONS = {"cycle_model": bench_cycle_model, "synops": bench_synops,
            "sim_speed": bench_sim_speed, "builds": bench_builds, "fabric": _fabric,
            "attention": _attention, "conv": _conv, "host_link": _host_link,
            "mnist": _mnist}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-builds", action="store_true", help="no FPGA builds")
    ap.add_argument("--only", nargs="+", choices=sorted(SECTIONS), metavar="SECTION",
                    help="measure only these sections and keep the others from the "
                    f"existing benchmarks.json ({', '.join(SECTIONS)})")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    previous = args.out / "benchmarks.json"
    res = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    res.update({"date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {platform.python_implementation()} "
                           f"{platform.python_version()}"})
    for name, bench in SECTIONS.items():
        if (args.only and name not in args.only) or (name == "builds" and args.skip_builds):
            continue
        res[name] = bench()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.out / "benchmarks.md").write_text(markdown(res))
    log(f"wrote {args.out / 'benchmarks.json'} and {args.out / 'benchmarks.md'}")


if __name__ == "__main__":
    main()
