"""Benchmarks of the host link (``hwgen/host_link/``, docs/protocol.md), the ``host_link``
section of ``scripts/bench.py``: the driver (``hwgen.host``) against the simulated board
(the link top in Amaranth's simulator, its UART pins driven and decoded bit by bit at
3 Mbaud, a 12 MHz clock as on the iCEBreaker).

1. Throughput: one inference of the bundled synthetic model with every input nonzero,
   input event frames per second against the line-rate bound (3 Mbaud / bits per frame).
2. Latency per image of the digits model (digits_d4, lanes 4) over the link, on the first
   test images, against the network's own cycles (the fast Verilator engine, no stalls).
"""

import time

import numpy as np

import golden
from hwgen.host import Board
from hwgen.host_link.protocol import LinkFormat
from hwgen.host_link.sim_transport import SimulatedTransport
from hwgen.host_link.top import DEFAULT_BAUD
from hwgen.model import load_model
from hwgen.network import GenerateOptions
from hwgen.sim.cosim import run_rtl

IMAGES = 3


def _over_link(model, x, options):
    """``(output spikes, simulated seconds, link clock Hz)`` of ``x`` through the link."""
    transport = SimulatedTransport(model, options)
    board = Board(transport, model, options, timeout=1.0)
    board.connect()
    start = transport.cycles
    out = board.run(x)
    assert np.array_equal(out, golden.run(model, x)[model.output]), model.name
    return (transport.cycles - start) / transport.clk_freq_hz, transport.clk_freq_hz


def throughput(root, log):
    model = load_model(root / "examples" / "synthetic" / "synthetic.yaml")
    options = GenerateOptions()
    x = np.full((1, model.timesteps, model.input_size), model.input_max, np.int64)
    start = time.monotonic()
    seconds, clk = _over_link(model, x, options)
    frames = model.timesteps * (model.input_size + 1)            # events and ticks
    bits = LinkFormat.from_model(model, options).frame_bits(host=True)
    row = {"model": model.name, "frame_bits": bits, "frames": frames,
           "events": int(x.size), "seconds": seconds,
           "frames_per_second": round(frames / seconds),
           "line_bound_frames_per_second": round(DEFAULT_BAUD / bits),
           "fraction_of_bound": round(frames / seconds / (DEFAULT_BAUD / bits), 4),
           "wall_seconds": round(time.monotonic() - start, 1)}
    log(f"host link: {row['frames_per_second']} frames/s of {row['line_bound_frames_per_second']}")
    return {"workload": f"one inference of {model.name} with every input nonzero "
                        f"({x.size} events), {DEFAULT_BAUD} baud, {clk / 1e6:g} MHz clock; "
                        "output equal to golden", "runs": [row]}


def digits_latency(root, build_dir, log):
    model = load_model(root / "examples" / "digits" / "digits_d4.yaml")
    split = np.load(root / "examples" / "digits" / "test_split.npz")
    x = np.broadcast_to(split["inputs"][:IMAGES, None, :].astype(np.int64),
                        (IMAGES, model.timesteps, model.input_size)).copy()
    options = GenerateOptions(lanes=4)
    seconds, clk = _over_link(model, x, options)
    _, info = run_rtl(model, x, sim="verilator", options=options,
                      build_dir=build_dir / "link_digits", stall_in=0.0, stall_out=0.0)
    network_cycles = info["cycles"] / IMAGES
    row = {"model": model.name, "images": IMAGES, "lanes": 4,
           "events_per_image": float((x > 0).sum() / IMAGES),
           "link_ms_per_image": round(1e3 * seconds / IMAGES, 3),
           "network_cycles_per_image": network_cycles,
           "network_ms_per_image": round(1e3 * network_cycles / clk, 3)}
    log(f"host link: digits {row['link_ms_per_image']} ms per image over the link, "
        f"{row['network_ms_per_image']} ms of the network's own cycles")
    return {"workload": f"the first {IMAGES} test images of {model.name}, {DEFAULT_BAUD} "
                        f"baud, {clk / 1e6:g} MHz clock; output equal to golden",
            "runs": [row]}


def bench_host_link(root, build_dir, log):
    return {"throughput": throughput(root, log),
            "digits": digits_latency(root, build_dir, log)}


def host_link_markdown(link, table):
    """The host link's section of docs/benchmarks.md (``table`` formats rows)."""
    tp, dg = link["throughput"], link["digits"]
    lines = ["", "## Host link", "", "The protocol: [protocol.md](protocol.md).", "",
             f"Throughput. Workload: {tp['workload']}.", ""]
    lines += table(["model", "bits per event frame", "frames", "frames / s",
                    "line bound (frames / s)", "of the bound"],
                   [[r["model"], r["frame_bits"], r["frames"], r["frames_per_second"],
                     r["line_bound_frames_per_second"], f"{100 * r['fraction_of_bound']:.1f}%"]
                    for r in tp["runs"]])
    lines += ["", f"Latency per image. Workload: {dg['workload']}.", ""]
    lines += table(["model", "input events / image", "over the link (ms / image)",
                    "the network's own cycles / image", "(ms at the same clock)"],
                   [[r["model"], r["events_per_image"], r["link_ms_per_image"],
                     r["network_cycles_per_image"], r["network_ms_per_image"]]
                    for r in dg["runs"]])
    lines += ["", ("The line is the bound: each input event is a frame on a 3 Mbaud line, "
              "while the network takes a few cycles per event.")]
    return lines
