"""Benchmarks of the convolution core (``hwgen/core/conv_core.py``), the ``conv`` section of
``scripts/bench.py``:

1. Cycles per timestep against the cycle model for the three conv layers of the NIR paper
   CNN's shape (2x34x34 -> 16 (5x5, stride 2) -> 16 (3x3) -> pool -> 8 (3x3)), lanes
   P in {1, 4, 16}, random binary input events at 10% density: the core alone in
   Amaranth's simulator, no back-pressure, its output checked against golden. From the
   same runs: cycles per input event (the accumulate part, cycles - N' - 8, over E)
   against the rows the events reach (``max(1, r(e) * G)``) and the receptive field inside
   the map, ``ceil(kh/sy) * ceil(kw/sx) * ceil(C_out / P)``.
2. The whole network of that shape (8,970 neurons, random weights): yosys ``synth_ice40``
   for the UP5K (no place and route: it does not fit, the figures say by how much) and
   a full ULX3S-85F self-test build (yosys + nextpnr-ecp5: LUT, FF, BRAM, DSP, Fmax,
   timing met).
"""

import sys
from pathlib import Path

import numpy as np

from hwgen.core.conv_core import CONV_CYCLE_MODEL, FIXED_CYCLES, conv_cycle_model, conv_params

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "rtl_tests"))
from core_bench import golden_unit  # noqa: E402
from random_models import nir_paper_cnn  # noqa: E402
from test_conv_core import run_conv  # noqa: E402

DENSITY, STEPS = 0.1, 3
LANES = (1, 4, 16)
CAPACITY = {"ice40": {"device": "iCE40UP5K", "LUT": 5280, "BRAM": 30, "DSP": 8},
            "ecp5": {"device": "LFE5U-85F", "LUT": 83640, "BRAM": 208, "DSP": 156}}


def cycles(log):
    model = nir_paper_cnn(timesteps=STEPS)
    rng = np.random.default_rng(0)
    runs = []
    for layer in (layer for layer in model.layers if layer.type == "conv2d"):
        fan_in = int(np.prod(layer.window.in_shape))
        x = (rng.random((STEPS, fan_in)) < DENSITY).astype(np.int64)
        for lanes in LANES:
            out, measured, stim = run_conv(layer, x, input_max=1, event_max=1, lanes=lanes)
            assert np.array_equal(out, golden_unit(layer, x)), (layer.name, lanes)
            prm = conv_params(layer, 1, lanes)
            neurons = prm["positions"] * prm["rows_per_position"] * prm["lanes"]
            (kh, kw), (sy, sx) = layer.window.kernel, layer.window.stride
            field = -(-kh // sy) * -(-kw // sx) * prm["rows_per_position"]
            reached = [max(1, layer.window.positions_reached(a) * prm["rows_per_position"])
                       for s in stim[1:] for a, _ in s]
            # The first timestep also holds the zeroing pass after reset: not compared.
            model_cycles = [conv_cycle_model(layer, [a for a, _ in s], lanes)
                            for s in stim[1:]]
            events = [len(s) for s in stim[1:]]
            per_event = [(m - neurons - FIXED_CYCLES) / e
                         for m, e in zip(measured[1:], events, strict=True)]
            runs.append({"layer": layer.name, "in_shape": list(layer.window.in_shape),
                         "out_channels": layer.out_channels, "kernel": list(layer.window.kernel),
                         "stride": list(layer.window.stride), "lanes": prm["lanes"],
                         "events": events, "measured": measured[1:], "model": model_cycles,
                         "exact": measured[1:] == model_cycles,
                         "cycles_per_event": round(float(np.mean(per_event)), 2),
                         "receptive_field_rows": field,
                         "mean_reached_rows": round(float(np.mean(reached)), 2)})
            log(f"conv: {layer.name} P={lanes}: {measured[1:]} cycles (model "
                f"{model_cycles}), {runs[-1]['cycles_per_event']} per event, field {field} "
                f"(events reach {runs[-1]['mean_reached_rows']} rows on average)")
    return {"formula": CONV_CYCLE_MODEL,
            "workload": f"the conv layers of the NIR paper CNN's shape, each core alone, binary "
                        f"input events at {int(DENSITY * 100)}% density, timesteps 2-{STEPS} "
                        "(the first also zeroes the state after reset), no back-pressure; "
                        "output equal to golden", "runs": runs}


def network_size(log, build_dir):
    from hwgen.build import build_board, synth_resources
    from hwgen.network import GenerateOptions, NetworkTop
    model = nir_paper_cnn(timesteps=4)
    options = GenerateOptions(lanes=4)
    top = NetworkTop(model, options)
    mem_bits = {node.name: sum(m["width"] * m["depth"]
                               for m in node.layer.memories(top.cores[node.name]).values())
                for node in top.graph.layers}
    log("conv: yosys synth_ice40 of the NIR paper CNN's shape (minutes)")
    up5k = synth_resources(top, "nir_cnn", "ice40")
    cap = CAPACITY["ice40"]
    up5k.update(device=cap["device"], fits=all(up5k[k] <= cap[k] for k in ("LUT", "BRAM",
                                                                           "DSP")))
    log(f"conv: UP5K {up5k}")
    log("conv: ULX3S-85F self-test build of the NIR paper CNN's shape (minutes)")
    report = build_board(model, "ulx3s-85f", build_dir / "conv_nir_cnn_ulx3s", options=options,
                         progress=log, top="self-test")
    ecp5 = {**report["resources"], "device": report["device"], "fmax_mhz": report["fmax_mhz"],
            "clock_mhz": report["clock_mhz"], "timing_met": report["timing_met"],
            "build_seconds": report["build_seconds"]}
    log(f"conv: ECP5 {ecp5}")
    return {"workload": "the NIR paper CNN's shape (2x34x34 -> conv 16 5x5/2 -> conv 16 3x3 "
                        "-> sum pool 2 -> conv 8 3x3 -> sum pool 2 -> flatten -> 256 -> 10, "
                        "8,970 IF neurons, random 5-bit weights), lanes 4; UP5K: yosys only "
                        "(the network alone); ULX3S-85F: the self-test build (network, "
                        "stimulus and expected-output ROMs), yosys + nextpnr",
            "neurons": sum(node.size for node in top.graph.layers
                           if node.layer.type in ("conv2d", "dense")),
            "memory_bits": mem_bits, "capacity": CAPACITY, "up5k": up5k, "ecp5_85f": ecp5}


def bench_conv(log, build_dir):
    return {"cycles": cycles(log), "network": network_size(log, build_dir)}


def conv_markdown(conv, table):
    """The conv core's section of docs/benchmarks.md (``table`` formats rows)."""
    cy = conv["cycles"]
    lines = ["", "## Convolution core", "", "How it works: [conv.md](conv.md).", "",
             "### Cycles per timestep against the cycle model", "",
             f"Formula: `{cy['formula']}`. Workload: {cy['workload']}.", ""]
    lines += table(["layer", "input", "C_out", "kernel", "stride", "P", "events",
                    "measured", "model", "exact", "cycles / event",
                    "rows reached / event (mean)", "receptive field rows (inside)"],
                   [[r["layer"], "x".join(map(str, r["in_shape"])), r["out_channels"],
                     "x".join(map(str, r["kernel"])), "x".join(map(str, r["stride"])),
                     r["lanes"], ", ".join(map(str, r["events"])),
                     ", ".join(map(str, r["measured"])), ", ".join(map(str, r["model"])),
                     "yes" if r["exact"] else "no", r["cycles_per_event"],
                     r["mean_reached_rows"], r["receptive_field_rows"]] for r in cy["runs"]])
    lines += ["", ("Rows reached: `max(1, r(e) * G)` per event, where `r(e)` counts the "
                   "output positions the event reaches (fewer at the border); inside the map "
                   "`r = ceil(kh/sy) * ceil(kw/sx)`. Cycles per event are measured: "
                   "(cycles - N' - 8) / E.")]
    net = conv["network"]
    up, ec = net["up5k"], net["ecp5_85f"]
    cap = net["capacity"]
    lines += ["", "### The NIR paper CNN's shape on the UP5K and the ECP5-85F", "",
              f"Workload: {net['workload']}. {net['neurons']:,} neurons; memory bits per "
              "layer: " + ", ".join(f"{k} {v:,}" for k, v in net["memory_bits"].items())
              + ".", ""]
    lines += table(["device", "LUT", "FF", "BRAM", "DSP", "Fmax (MHz)", "timing met",
                    "fits"],
                   [[up["device"], f"{up['LUT']} / {cap['ice40']['LUT']}", up["FF"],
                     f"{up['BRAM']} / {cap['ice40']['BRAM']}",
                     f"{up['DSP']} / {cap['ice40']['DSP']}", "-", "-",
                     "yes" if up["fits"] else "no"],
                    [ec["device"], f"{ec['LUT']} / {cap['ecp5']['LUT']}", ec["FF"],
                     f"{ec['BRAM']} / {cap['ecp5']['BRAM']}",
                     f"{ec['DSP']} / {cap['ecp5']['DSP']}",
                     f"{ec['fmax_mhz']} (clock {ec['clock_mhz']})",
                     "yes" if ec["timing_met"] else "no", "yes"]])
    return lines
