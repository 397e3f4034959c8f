"""hwgen against the NIR paper's platforms on its single-LIF example.

Imports ``examples/nir-paper-lif/lif_norse.nir`` (the graph every platform of the NIR paper
imported; dt = 1e-4), runs the recorded input through the golden model and the RTL
(Verilator), and compares spike steps and the voltage trace with the exact solution and
with every platform's recorded trace. Writes ``docs/nir-paper-lif.{md,json,png}``.

    .venv/bin/python scripts/nir_paper_lif.py [--data DIR] [--weight-bits 8] [--no-rtl]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import golden  # noqa: E402
from hwgen.nir_import import import_nir  # noqa: E402

DEFAULT_DATA = ROOT / "examples" / "nir-paper-lif"
PLATFORMS = ["norse", "snntorch", "nengo", "spinnaker2", "lava_cpu_float", "lava_cpu_fixed",
             "lava_loihi_fixed", "spyx", "rockpool", "sinabs"]


def load_trace(data, platform):
    """``(input, voltage, spike steps)`` of one recorded CSV."""
    d = np.loadtxt(data / f"lif_{platform}.csv", delimiter=",")
    return d[:, 0], d[:, 1], np.flatnonzero(d[:, 2])


def hwgen_trace(result, x):
    """Spike steps and the membrane (after reset, in the graph's volts) from the golden model."""
    layer = result.model.layers[0]
    v = np.zeros(1, dtype=np.int64)
    spikes, volts = [], []
    for t in range(x.shape[0]):
        current = layer.weights @ x[t] + layer.bias
        s, v = golden.neuron_step(layer.neuron, v, current)
        spikes.append(int(s[0]))
        volts.append(int(v[0]))
    scale = result.report["layers"][0]["scale"]
    return np.flatnonzero(spikes), np.array(volts) / scale


def rtl_spikes(result, x, build_dir):
    from hwgen.network import GenerateOptions
    from hwgen.sim.cosim import run_rtl
    spikes, info = run_rtl(result.model, x, sim="verilator", options=GenerateOptions(),
                           build_dir=build_dir, seed=0, stall_in=0.3, stall_out=0.3)
    return np.flatnonzero(spikes[result.model.output][:, 0]), info


def compare(steps, exact):
    """Spikes at exactly the exact solution's steps, and the largest offset of a nearest pair."""
    hits = len(set(steps.tolist()) & set(exact.tolist()))
    offsets = [int(np.min(np.abs(steps - e))) if steps.size else None for e in exact]
    worst = max(o for o in offsets if o is not None) if steps.size else None
    return hits, worst


def fitted_rmse(v, exact_v):
    """RMSE to the exact trace after the best scale factor (platforms record in own units)."""
    a = float(v @ exact_v / (v @ v)) if np.any(v) else 0.0
    return a, float(np.sqrt(np.mean((a * v - exact_v) ** 2)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--weight-bits", type=int, default=8)
    p.add_argument("--no-rtl", action="store_true", help="skip the Verilator run")
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    args = p.parse_args(argv)

    x_in, exact_v, exact_steps = load_trace(args.data, "exact")
    x = x_in.astype(np.int64)[:, None]
    result = import_nir(args.data / "lif_norse.nir", timesteps=len(x),
                        weight_bits=args.weight_bits, dt=1e-4)
    steps, volts = hwgen_trace(result, x)
    rows = [{"platform": "exact solution", "spikes": exact_steps.tolist(), "hits": 4,
             "worst_offset": 0, "scale": 1.0, "rmse": 0.0}]
    a, rmse = fitted_rmse(volts, exact_v)
    hits, worst = compare(steps, exact_steps)
    rows.append({"platform": f"hwgen golden ({args.weight_bits}-bit)", "spikes": steps.tolist(),
                 "hits": hits, "worst_offset": worst, "scale": a, "rmse": rmse})
    if not args.no_rtl:
        rtl_steps, info = rtl_spikes(result, x, ROOT / "sim_build" / "nir_paper_lif")
        hits, worst = compare(rtl_steps, exact_steps)
        rows.append({"platform": "hwgen RTL (Verilator)", "spikes": rtl_steps.tolist(),
                     "hits": hits, "worst_offset": worst, "scale": None, "rmse": None,
                     "cycles": info["cycles"]})
    traces = {}
    for platform in PLATFORMS:
        _, v, s = load_trace(args.data, platform)
        traces[platform] = v
        hits, worst = compare(s, exact_steps)
        a, rmse = fitted_rmse(v, exact_v)
        rows.append({"platform": platform, "spikes": s.tolist(), "hits": hits,
                     "worst_offset": worst, "scale": a, "rmse": rmse})

    sweep = []
    for bits in range(4, 17):
        r = import_nir(args.data / "lif_norse.nir", timesteps=len(x), weight_bits=bits, dt=1e-4)
        b_steps, b_volts = hwgen_trace(r, x)
        hits, worst = compare(b_steps, exact_steps)
        sweep.append({"weight_bits": bits, "weight": int(r.model.layers[0].weights[0, 0]),
                      "threshold": r.model.layers[0].neuron.threshold,
                      "v_bits": r.model.layers[0].neuron.v_bits, "spikes": b_steps.tolist(),
                      "hits": hits, "worst_offset": worst,
                      "rmse": float(np.sqrt(np.mean((b_volts - exact_v) ** 2)))})
    neuron = result.model.layers[0].neuron
    summary = {
        "graph": "lif_norse.nir (Affine w=1 -> LIF tau=2.5 ms, r=1, v_threshold=0.1), "
                 "dt=1e-4, 1000 steps",
        "weight_bits": args.weight_bits, "weight": int(result.model.layers[0].weights[0, 0]),
        "threshold": neuron.threshold, "leak": result.report["layers"][0]["leak"]["hwgen"],
        "v_bits": neuron.v_bits, "scale": result.report["layers"][0]["scale"], "rows": rows,
        "weight_bits_sweep": sweep}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nir-paper-lif.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_markdown(args.out / "nir-paper-lif.md", summary)
    plot(args.out / "nir-paper-lif.png", x_in, exact_v, exact_steps, volts, steps, traces)
    for row in rows:
        print(f"{row['platform']:>24}: {row['hits']}/4 at the exact steps  {row['spikes']}")
    return 0


def write_markdown(path, s):
    lines = [
        "# hwgen on the NIR paper's single-LIF example",
        "",
        ("Made by `.venv/bin/python scripts/nir_paper_lif.py` (kept as a test in "
        "`tests/test_nir_paper.py` and `rtl_tests/test_nir_rtl.py`)."),
        "",
        (f"Graph: {s['graph']}. The recorded input (34 input spikes) goes through "
        "`hwgen import-nir lif_norse.nir --timesteps 1000 --weight-bits "
        f"{s['weight_bits']}`, which gives weight {s['weight']}, threshold {s['threshold']} "
        f"(scale {s['scale']:.6g}: `v > 0.1` becomes `u >= {s['threshold']}`), leak "
        f"`{s['leak']}` and a {s['v_bits']}-bit membrane."),
        "",
        ("Spikes: how many land on the exact solution's steps (460, 510, 710, 760), and the "
        "largest distance from an exact spike to the nearest platform spike. Voltage: RMSE "
        "to the exact trace after the best scale factor (several platforms record in their "
        "own units; the factor is shown)."),
        "",
        ("| platform | spikes at exact steps | worst offset (steps) | spike steps "
        "| voltage scale | voltage RMSE |"),
        "|---|---|---|---|---|---|",
    ]
    for r in s["rows"]:
        scale = "" if r["scale"] is None else f"{r['scale']:.4g}"
        rmse = "" if r["rmse"] is None else f"{r['rmse']:.2e}"
        lines.append(f"| {r['platform']} | {r['hits']}/4 | {r['worst_offset']} | "
                     f"{', '.join(map(str, r['spikes']))} | {scale} | {rmse} |")
    lines += [
        "",
        ("Weight width (golden model; the membrane width is chosen by the importer). The "
        "voltage RMSE here is against the exact trace without any fitted factor; Norse's "
        "own forward-Euler trace has 9.3e-04. Below 8 bits the spikes move; from 11 bits on "
        "the error is that of forward Euler itself, and the floored leak product no longer "
        "shows."),
        "",
        ("| weight bits | weight | threshold | v_bits | spikes at exact steps | spike steps "
        "| voltage RMSE |"),
        "|---|---|---|---|---|---|---|",
    ]
    for r in s["weight_bits_sweep"]:
        lines.append(f"| {r['weight_bits']} | {r['weight']} | {r['threshold']} | {r['v_bits']} "
                     f"| {r['hits']}/4 | {', '.join(map(str, r['spikes'])) or 'none'} "
                     f"| {r['rmse']:.2e} |")
    lines += ["", "![voltage traces](nir-paper-lif.png)", ""]
    path.write_text("\n".join(lines))


def plot(path, x, exact_v, exact_steps, volts, steps, traces):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = np.arange(len(x))
    fig, (ax_v, ax_s) = plt.subplots(2, 1, figsize=(9, 5), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1]})
    ax_v.plot(t, exact_v, "k-", lw=1.5, label="exact")
    ax_v.plot(t, volts, "C3--", lw=1, label="hwgen 8-bit (golden; RTL spikes identical)")
    for name, color in (("norse", "C0"), ("lava_loihi_fixed", "C2")):
        a, _ = fitted_rmse(traces[name], exact_v)
        ax_v.plot(t, a * traces[name], color=color, lw=0.8, alpha=0.7,
                  label=f"{name} (x{a:.3g})")
    ax_v.axhline(0.1, color="grey", lw=0.5, ls=":")
    ax_v.set_ylabel("membrane (V)")
    ax_v.legend(loc="upper left", fontsize=8)
    ax_s.eventplot([exact_steps, steps, np.flatnonzero(x)], colors=["k", "C3", "grey"],
                   lineoffsets=[2, 1, 0], linelengths=0.8)
    ax_s.set_yticks([2, 1, 0], ["exact", "hwgen", "input"])
    ax_s.set_xlabel("timestep (dt = 0.1 ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
