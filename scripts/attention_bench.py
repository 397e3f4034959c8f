"""Benchmarks of the spike-driven attention unit (``hwgen/core/attention_core.py``), the
``attention`` section of ``scripts/bench.py``:

1. Cycles per timestep against the cycle model, both variants, tokens in {4, 16, 64} and
   dim in {16, 64} (2 heads, lanes 4, random Q/K/V spikes at 25% density), the unit alone
   in Amaranth's simulator with no back-pressure; its output checked against golden.
2. Resources of the unit alone from yosys (``synth_ice40`` for the UP5K, ``synth_ecp5`` for
   the ECP5-85F; no place and route): LUT, FF, block RAM, DSP, for both variants, against
   each device's capacity.
"""

import sys
from pathlib import Path

import numpy as np

from hwgen.build import synth_resources
from hwgen.core.attention_core import CYCLE_MODEL, AttentionCore, attention_params, cycle_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rtl_tests"))
from attention_unit_bench import attention_layer, golden_unit, random_spikes, run_unit  # noqa: E402

HEADS, LANES, DENSITY, STEPS = 2, 4, 0.25, 2
SHAPES = [(t, d) for t in (4, 16, 64) for d in (16, 64)]
SIZE_SHAPES = [(4, 16), (16, 64), (64, 64)]
CAPACITY = {"ice40": {"device": "iCE40UP5K", "LUT": 5280, "BRAM": 30, "DSP": 8},
            "ecp5": {"device": "LFE5U-85F", "LUT": 83640, "BRAM": 208, "DSP": 156}}


def cycles(log):
    runs = []
    rng = np.random.default_rng(0)
    for variant in ("linear", "hadamard"):
        for tokens, dim in SHAPES:
            layer = attention_layer(variant, tokens, dim, HEADS)
            x = random_spikes(layer, STEPS, DENSITY, rng)
            out, measured = run_unit(layer, x, lanes=LANES)
            assert np.array_equal(out, golden_unit(layer, x)), (variant, tokens, dim)
            td = tokens * dim
            model = [cycle_model(layer, LANES, int(s[:td].sum()), int(s[td:2 * td].sum()),
                                 int(s[2 * td:].sum())) for s in x]
            prm = attention_params(layer, LANES)
            runs.append({"variant": variant, "tokens": tokens, "dim": dim,
                         "lanes": prm["lanes"], "rows_per_event": prm["rows_per_event"],
                         "events": [int(s.sum()) for s in x], "measured": measured,
                         "model": model,
                         "max_rel_error": max(abs(a - b) / b for a, b in zip(measured, model,
                                                                              strict=True))})
            log(f"attention: {variant} {tokens}x{dim}: {measured} cycles (model {model})")
    return {"formula": CYCLE_MODEL,
            "workload": f"the unit alone, {HEADS} heads, lanes {LANES}, Q/K/V spikes at "
                        f"{int(DENSITY * 100)}% density, {STEPS} timesteps, no back-pressure; "
                        "output equal to golden", "runs": runs}


def size(log):
    runs = []
    for variant in ("linear", "hadamard"):
        for tokens, dim in SIZE_SHAPES:
            layer = attention_layer(variant, tokens, dim, HEADS)
            core = AttentionCore(layer, timesteps=4, lanes=LANES)
            mem_bits = sum(m["width"] * m["depth"] for m in core.params["memories"].values())
            for family in ("ice40", "ecp5"):
                res = synth_resources(core, "attention", family)
                cap = CAPACITY[family]
                runs.append({"variant": variant, "tokens": tokens, "dim": dim,
                             "family": family, "device": cap["device"], **res,
                             "memory_bits": mem_bits,
                             "fits": res["LUT"] <= cap["LUT"] and res["BRAM"] <= cap["BRAM"]})
                log(f"attention: {variant} {tokens}x{dim} on {family}: {res}")
    return {"workload": f"the unit alone ({HEADS} heads, lanes {LANES}, IF neurons, "
                        "v_bits 10); yosys synth_ice40 / synth_ecp5, no place and route",
            "capacity": CAPACITY, "runs": runs}


def bench_attention(log):
    return {"cycles": cycles(log), "size": size(log)}


def attention_markdown(att, table):
    """The attention unit's section of docs/benchmarks.md (``table`` formats rows)."""
    cy = att["cycles"]
    lines = ["", "## Spike-driven attention unit", "",
             "How the unit works: [attention.md](attention.md).", "",
             "### Cycles per timestep against the cycle model", "",
             (f"Formulas: linear `{cy['formula']['linear']}`; hadamard "
              f"`{cy['formula']['hadamard']}`. Workload: {cy['workload']}."), ""]
    lines += table(["variant", "tokens", "dim", "P", "R", "events", "measured", "model",
                    "max error"],
                   [[r["variant"], r["tokens"], r["dim"], r["lanes"], r["rows_per_event"],
                     ", ".join(map(str, r["events"])), ", ".join(map(str, r["measured"])),
                     ", ".join(map(str, r["model"])), f"{100 * r['max_rel_error']:.1f}%"]
                    for r in cy["runs"]])
    sz = att["size"]
    lines += ["", "### Resources of the unit", "", f"Workload: {sz['workload']}.", ""]
    lines += table(["variant", "tokens", "dim", "device", "LUT", "FF", "BRAM", "DSP",
                    "memory bits", "fits"],
                   [[r["variant"], r["tokens"], r["dim"], r["device"], r["LUT"], r["FF"],
                     r["BRAM"], r["DSP"], r["memory_bits"], "yes" if r["fits"] else "no"]
                    for r in sz["runs"]])
    return lines
