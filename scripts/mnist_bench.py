"""MNIST 784-128-10 on boards (issue 13), the ``mnist`` section of ``scripts/bench.py``:
latency per image and first-layer throughput from co-simulated cycles, converted at the
clock each board's build achieved.

1. ``build``: ``hwgen build`` of the committed model for the iCEBreaker (UP5K: the first
   layer's weights in SPRAM) and the ULX3S-85F, ``--lanes auto --clock max`` (the PLL at
   90% of the Fmax measured at the board's clock), host-link top; the reports go to
   ``docs/mnist_builds.json``. Minutes; run it when the hardware changes.
2. ``measure`` (what bench.py runs): for each board, the lanes its memory plan gives, the
   held-out images through the network in Verilator (fast engine, no back-pressure, output
   = golden in every spike), and per image:

   - latency in cycles: from the acceptance of the previous image's last input tick
     (before which none of this image's events can enter; cycle 0 for the first) to the
     output layer's last tick of this image. An upper bound of the time from the image's
     first event to its last output: it includes the first layer's last update of the
     previous image. Converted to microseconds at the build's clock.
   - first-layer synaptic operations per cycle: input events times the layer's 128
     neurons, over the cycles from the same start to that layer's last tick (and over its
     integration phases alone: the cycles it spends taking events, the part of a
     timestep that reads weights), against the bound the device's memory bandwidth sets:
     the weight bits one cycle can read where the planner put the weights (SPRAM: 16
     bits per tile; block RAM: the widest port of every block), over the weight width,
     and never more than the layer's neurons (one event per cycle).

The host link's UART is not in these figures: each input event and tick is a 5-byte frame
(docs/protocol.md), 2.5 ms for 250 of them at 3 Mbaud; the page says what the builds' line
rates make of it.

Usage: .venv/bin/python scripts/mnist_bench.py build|measure [--model M.yaml] [--images N]
       [--board icebreaker|ulx3s-85f]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import boards
import golden
from hwgen.inputs import load_test_split
from hwgen.memory_plan import Budget, plan_design
from hwgen.model import load_model
from hwgen.sim.cosim import run_rtl

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "mnist" / "mnist_d4.yaml"
BUILDS = ROOT / "docs" / "mnist_builds.json"
BOARDS = ("icebreaker", "ulx3s-85f")
# The widest read port of one block RAM (bits): iCE40 SB_RAM40_4K 256x16, ECP5 DP16KD
# 512x36; an SPRAM tile reads 16 bits.
BRAM_PORT_BITS = {"ice40": 16, "ecp5": 36}
SPRAM_PORT_BITS = 16


def log(msg):
    print(f"mnist_bench: {msg}", file=sys.stderr, flush=True)


def board_options(model, board_name):
    """The options a board build uses (``--lanes auto``), weights in ordinary memories
    for simulation, and the plan."""
    from hwgen.network import GenerateOptions
    options, plan = plan_design(model, GenerateOptions(lanes="auto"),
                                boards.get_board(board_name))
    return options.replace(spram_weights=()), plan


def bandwidth_bound(model, board_name, plan):
    """Synaptic operations per cycle the device's memory lets the first layer reach."""
    layer = model.layers[0]
    budget = Budget.of_board(boards.get_board(board_name))
    if layer.name in plan.spram_layers:
        bits = budget.spram * SPRAM_PORT_BITS
    else:
        bits = budget.bram * BRAM_PORT_BITS[budget.family]
    return min(layer.size, bits // layer.weight_bits)


def measure_board(model, x, board_name, build_dir, seed=0):
    """Latency and first-layer throughput of ``model`` on ``x`` with the board's lanes."""
    options, plan = board_options(model, board_name)
    log(f"{board_name}: lanes {options.lanes}; {len(x)} images in Verilator")
    spikes, info = run_rtl(model, x, options=options, build_dir=build_dir, seed=seed,
                           stall_in=0.0, stall_out=0.0)
    expected = golden.run(model, x)
    exact = all(np.array_equal(spikes[name], expected[name]) for name in expected)
    first = model.layers[0]
    n, steps = x.shape[:2]

    def last_ticks(cycles):                         # each image's last tick
        return np.asarray(cycles).reshape(n, steps)[:, -1]
    start = np.concatenate([[0], last_ticks(info["in_tick_cycles"])[:-1]])
    latency = last_ticks(info["tick_cycles"][model.output]) - start
    first_cycles = last_ticks(info["tick_cycles"][first.name]) - start
    synops = (x != 0).sum(axis=(1, 2)) * first.size
    # The integration (accumulate) phase of each timestep, the part that reads weights:
    # from the first layer's previous tick (it is back taking events) to the acceptance
    # of this timestep's input tick (its last event's rows are issued).
    in_flat = np.asarray(info["in_tick_cycles"])
    first_flat = np.asarray(info["tick_cycles"][first.name])
    integration = in_flat - np.concatenate([[0], first_flat[:-1]])
    events = (x != 0).sum(axis=(1, 2))
    bound = bandwidth_bound(model, board_name, plan)
    rate = float(synops.sum() / first_cycles.sum())
    rate_integration = float(synops.sum() / integration.sum())
    return {
        "lanes": options.lanes, "memory_plan": plan.summary(), "rtl_equals_golden": exact,
        "images": int(len(x)), "input_events_mean": round(float(events.mean()), 1),
        "latency_cycles": {"mean": round(float(latency.mean()), 1),
                           "worst": int(latency.max()), "best": int(latency.min())},
        "first_layer": {"synops_per_cycle": round(rate, 2), "bound": bound,
                        "share_of_bound": round(rate / bound, 3),
                        "cycles_mean": round(float(first_cycles.mean()), 1),
                        "integration_synops_per_cycle": round(rate_integration, 2),
                        "integration_share_of_bound": round(rate_integration / bound, 3)},
        "sim_seconds": round(info["seconds"], 1), "cycles": info["cycles"],
    }


def with_clock(row, build):
    """``row`` with its latency in microseconds at ``build``'s clock."""
    if build is None:
        return row
    mhz = build["clock_mhz"]
    lat = row["latency_cycles"]
    row["latency_us"] = {"clock_mhz": mhz, "mean": round(lat["mean"] / mhz, 1),
                         "worst": round(lat["worst"] / mhz, 1)}
    return row


def held_out(model_path, images):
    """The held-out images the MNIST example reports on (test_split.npz next to the
    model, written by scripts/train_mnist.py)."""
    x, y = load_test_split(load_model(model_path))
    return x[:images], y[:images]


def bench_mnist(log_=log, build_root=ROOT / "sim_build" / "bench", model_path=MODEL,
                images=1000):
    """The ``mnist`` section: every board's row (builds read from docs/mnist_builds.json)."""
    model = load_model(model_path)
    x, _ = held_out(model_path, images)
    builds = json.loads(BUILDS.read_text()) if BUILDS.exists() else {}
    rows = {}
    for name in BOARDS:
        row = measure_board(model, x, name, build_root / f"mnist-{name}")
        rows[name] = with_clock(row, builds.get(name))
        log_(f"{name}: {json.dumps(rows[name])}")
    from hwgen.host_link.protocol import LinkFormat
    frame = 3 + LinkFormat.from_model(model).in_bytes         # SYNC, type, payload, CRC
    return {"model": str(Path(model_path).relative_to(ROOT)), "timesteps": model.timesteps,
            "link_frame_bytes": frame, "boards": rows, "builds": builds}


# Other generators' published figures, on their devices (not measured here).
PEERS = [
    {"name": "Spiker+", "device": "Xilinx Artix-7", "network": "784-128-10",
     "logic": "7,612 logic cells", "memory": "18 BRAM", "latency_us": 780,
     "accuracy": "93.85% (MNIST test set, 60k training images)"},
    {"name": "Flexi-NeurA", "device": "(its paper's FPGA)", "network": "256-128-10",
     "logic": "1,623 LCs", "memory": "-", "latency_us": 1100, "accuracy": "-"},
]


def mnist_markdown(res, table):
    """The ``mnist`` section of docs/benchmarks.md."""
    lines = ["", "## MNIST 784-128-10 on boards", "",
             (f"Model `{res['model']}` (docs/mnist.md), `--lanes auto`, the held-out images "
             "in Verilator without back-pressure; latency from the previous image's last "
             "input tick to this image's last output tick (an upper bound), converted at "
             "the build's clock; first-layer synaptic operations per cycle against the "
             "bound the device's memory bandwidth sets (`scripts/mnist_bench.py`)."), ""]
    rows = []
    for name, r in res["boards"].items():
        us = r.get("latency_us", {})
        fl = r["first_layer"]
        rows.append([name, ", ".join(f"{k}={v}" for k, v in r["lanes"].items()),
                     r["images"], r["rtl_equals_golden"], r["input_events_mean"],
                     f"{r['latency_cycles']['mean']:,} / {r['latency_cycles']['worst']:,}",
                     us.get("clock_mhz", "-"),
                     f"{us.get('mean', '-')} / {us.get('worst', '-')}",
                     f"{fl['synops_per_cycle']} of {fl['bound']} ({fl['share_of_bound']:.0%})",
                     (f"{fl['integration_synops_per_cycle']} "
                     f"({fl['integration_share_of_bound']:.0%})")])
    lines += table(["board", "lanes", "images", "RTL = golden", "input events / image",
                    "latency cycles mean / worst", "clock (MHz)", "latency µs mean / worst",
                    "first layer synops/cycle (of bound)",
                    "same, integration phase only"], rows)
    if res.get("builds"):
        lines += ["", "Builds (`scripts/mnist_bench.py build`: host-link top, `--clock max`):",
                  ""]
        lines += table(
            ["board", "device", "LUT", "FF", "BRAM", "SPRAM", "DSP", "Fmax (MHz)",
             "clock (MHz, PLL)", "timing met"],
            [[name, b["device"], b["resources"]["LUT"], b["resources"]["FF"],
              b["resources"]["BRAM"], b["resources"].get("SPRAM", 0), b["resources"]["DSP"],
              b["fmax_mhz"], b["clock_mhz"], "yes" if b["timing_met"] else "no"]
             for name, b in res["builds"].items()])
    lines += ["", "Other generators, their own published figures on their own devices:", ""]
    lines += table(["generator", "device", "network", "logic", "memory", "latency (µs)",
                    "accuracy"],
                   [[p["name"], p["device"], p["network"], p["logic"], p["memory"],
                     p["latency_us"], p["accuracy"]] for p in PEERS])
    return lines


def transfer_ms(res, name):
    """Milliseconds the host link needs to send one image's input events and ticks."""
    frames = res["boards"][name]["input_events_mean"] + res["timesteps"]
    return frames * res["link_frame_bytes"] * 10 / res["builds"][name]["host_link_baud"] * 1e3


def write_page(path, res):
    """docs/mnist-boards.md: the builds, the latency, the peers."""
    from bench import _table  # the benchmarks' tables (bench.py imports this module)
    lines = ["# MNIST 784-128-10 on a $70 board", "",
             ("The MNIST example ([mnist.md](mnist.md): trained on 4,000 images, 95.6% on the "
             "1,000 held-out ones, RTL = golden in every spike) built for the iCEBreaker "
             "(iCE40 UP5K) and the ULX3S-85F (ECP5), with the memory plan and the lanes of "
             "[memory-plan.md](memory-plan.md). Made by `scripts/mnist_bench.py build` "
             "(both bitstreams, minutes) and `scripts/mnist_bench.py measure` (this page; "
             "also the `mnist` section of `scripts/bench.py`)."), ""]
    lines += mnist_markdown(res, _table)[3:]
    lines += ["", "## Reading the figures", "",
              ("- **Latency** is counted in co-simulated clock cycles of the generated Verilog "
              "(Verilator, every held-out image, no back-pressure) and converted at the clock "
              "the build met timing at, from the PLL (`--clock max`: 90% of the Fmax "
              "measured at the board's oscillator). It is the network's own time. Over the "
              "host link each input event and tick is one frame of "
              f"{res['link_frame_bytes']} bytes (docs/protocol.md), 10 bits a byte on the "
              "line: " + "; ".join(
                  f"{name} at {b['host_link_baud']:,} baud sends an image's "
                  f"{res['boards'][name]['input_events_mean']:.0f} events and "
                  f"{res['timesteps']} ticks in "
                  f"{transfer_ms(res, name):.1f} ms" for name, b in res["builds"].items())
              + ": on the board the UART, not the network, limits the images per second."),
              ("- **The UP5K's first layer** has its 100,352 weights in the four SPRAMs, 8 "
              "lanes of 8-bit weights: 64 bits per cycle, all four tiles side by side, so 8 "
              "synaptic operations per cycle is the most its memory allows; an input event "
              "costs 16 cycles, and the neuron update 128 cycles per timestep."),
              ("- **The ECP5's first layer** has 128 lanes (one cycle per input event, the "
              "weights in 57 block RAMs); its bound is the layer's 128 neurons per cycle. "
              "There the neuron update (one neuron per cycle, 128 cycles per timestep) costs "
              "as much as the accumulation of an image's ~124 events per timestep, so the "
              "layer cannot pass E / (E + N + 5) of the bound, 48% here, and measures "
              f"{res['boards']['ulx3s-85f']['first_layer']['share_of_bound']:.0%}: below half. "
              "While it integrates it reads the memory at "
              f"{res['boards']['ulx3s-85f']['first_layer']['integration_share_of_bound']:.0%} "
              "of the bound: the update, not the memory, is the limit. Updating several "
              "neurons per cycle, or updating timestep t while integrating t + 1 (two "
              "accumulator banks), is what would raise it. Its 128 lane "
              "multipliers (8-bit weight times 2-bit input) went to the ECP5's 18x18 DSPs "
              "(the DSP column)."),
              ("- **The host link's line rate** follows the clock: the fastest of 3M, 2M, "
               "1M... baud the clock divides to within 2%; a `--clock` that is a multiple of 3 MHz "
               "(e.g. 36 MHz) gives 3 Mbaud."),
              ("- **Spiker+ and Flexi-NeurA** are their papers' figures on their devices "
              "(not rebuilt here); Spiker+'s accuracy is on MNIST's 10,000 test images "
              "after training on 60,000, ours on 1,000 held-out images after 4,000 "
              "([mnist.md](mnist.md) discusses the difference).")]
    path.write_text("\n".join(lines) + "\n")


def build_all(model_path=MODEL, out_root=Path("/tmp/hwgen-mnist-builds"), boards_=BOARDS):
    """Build the model for ``boards_``; their reports (abridged) to docs/mnist_builds.json
    (other boards' entries kept)."""
    from hwgen.build import build_board
    from hwgen.network import GenerateOptions
    model = load_model(model_path)
    builds = json.loads(BUILDS.read_text()) if BUILDS.exists() else {}
    for name in boards_:
        start = time.monotonic()
        report = build_board(model, name, out_root / name,
                             options=GenerateOptions(lanes="auto"), clock="max",
                             progress=lambda msg, n=name: log(f"{n}: {msg}"))
        builds[name] = {key: report[key] for key in (
            "device", "resources", "fmax_mhz", "clock_mhz", "timing_met", "clock_source",
            "pll", "options", "tools")}
        builds[name]["memory_plan"] = {k: report["memory_plan"][k]
                                       for k in ("bram", "spram", "logic_bits")}
        builds[name]["host_link_baud"] = report["host_link"]["baud"]
        builds[name]["wall_seconds"] = round(time.monotonic() - start)
        log(f"{name}: {builds[name]}")
    BUILDS.write_text(json.dumps(builds, indent=2) + "\n")
    log(f"wrote {BUILDS}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("build", "measure"))
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--board", choices=BOARDS, action="append",
                    help="build only this board (repeatable; default both)")
    args = ap.parse_args()
    if args.what == "build":
        build_all(args.model, boards_=args.board or BOARDS)
    else:
        res = bench_mnist(model_path=args.model, images=args.images)
        (ROOT / "docs" / "mnist_boards.json").write_text(json.dumps(res, indent=2) + "\n")
        write_page(ROOT / "docs" / "mnist-boards.md", res)
        log("wrote docs/mnist_boards.json and docs/mnist-boards.md")


if __name__ == "__main__":
    main()
