"""The ``hwgen`` command line (DESIGN.md section 1). Every command is also a Python API."""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from boards import BOARDS

from . import __version__
from .errors import HwgenError

__all__ = ["main"]


def _progress(msg):
    print(f"hwgen: {msg}", file=sys.stderr, flush=True)


def _options(args, model, plan=True):
    """The generator options of ``args`` for ``model``. With ``--board`` (or ``--lanes
    auto``, which needs it) the lanes come from the memory planner for that board's FPGA
    (``plan=False``: left to the caller, ``hwgen build``)."""
    from .network import GenerateOptions
    lanes = args.lanes
    if isinstance(lanes, list):         # one count per layer, in the model's order
        names = [layer.name for layer in model.layers]
        if len(lanes) != len(model.layers):
            raise HwgenError(f"--lanes gives {len(lanes)} counts for the {len(model.layers)} "
                             f"layers of '{model.name}' ({', '.join(names)})")
        lanes = dict(zip(names, lanes, strict=True))
    try:
        options = GenerateOptions(lanes=lanes, burst=args.burst, fifo_depth=args.fifo_depth,
                                  topology=args.topology,
                                  max_neurons_per_core=args.max_neurons_per_core,
                                  splits=dict(args.split or ()))
    except ValueError as exc:
        args.parser.error(str(exc))
    board = getattr(args, "plan_board", None)
    if not plan:
        return options
    if board is None:
        if lanes == "auto":
            args.parser.error("--lanes auto balances the layers within an FPGA's memory: "
                              "name it with --board")
        return options
    import boards

    from .memory_plan import plan_design
    options, memory_plan = plan_design(model, options, boards.get_board(board))
    _progress(f"memory plan for {board}: lanes {_lanes_text(options.lanes)}; "
              f"{memory_plan.summary()}")
    # Simulation and generated Verilog keep the weights in ordinary memories: SPRAM
    # needs a boot loader and a flash, which only a board build has. The plan goes into
    # generate's manifest.
    args.memory_plan = memory_plan
    return options.replace(spram_weights=())


def _lanes_text(lanes):
    return ", ".join(f"{k}={v}" for k, v in lanes.items()) if isinstance(lanes, dict) \
        else str(lanes)


def _clock(text):
    if text == "max":
        return text
    try:
        mhz = float(text)
    except ValueError:
        mhz = 0.0
    if not mhz > 0:
        raise argparse.ArgumentTypeError(f"must be a frequency in MHz or 'max', got {text!r}")
    return mhz


def _add_generator_options(p, plan_board=True):
    g = p.add_argument_group("generator options")
    if plan_board:
        g.add_argument("--board", dest="plan_board", choices=sorted(BOARDS), default=None,
                       metavar="BOARD", help="plan the lanes for BOARD's FPGA as 'hwgen "
                       "build' does (needed by --lanes auto; the weights stay in ordinary "
                       "memories here, SPRAM is for board builds)")
    g.add_argument("--lanes", type=_lanes, default=1, metavar="P|P1,P2,..|auto",
                   help="synapses updated per cycle: one count for every core, a count per "
                   "layer in the model's order (or LAYER=P,...; layers not named get 1), "
                   "or 'auto': balanced within the memory of the board's FPGA (default 1)")
    g.add_argument("--burst", action="store_true",
                   help="send graded spikes as bursts of binary events")
    g.add_argument("--fifo-depth", type=_non_negative, default=16, metavar="N",
                   help="FIFO entries after each core, 0 for none (default 16)")
    g.add_argument("--topology", choices=("p2p", "crossbar", "mesh"), default=None,
                   help="how cores are connected: point to point (one core per layer), "
                   "a crossbar router, or a 2D mesh of routers (default p2p, or crossbar "
                   "when a layer is split)")
    g.add_argument("--max-neurons-per-core", type=_count, default=None, metavar="N",
                   help="split every layer larger than N neurons over several cores")
    g.add_argument("--split", type=_layer_split, action="append", metavar="LAYER=K",
                   help="split LAYER over K cores (repeatable; wins over "
                   "--max-neurons-per-core for that layer)")


def _add_sim_options(p, default_sim, simulators=("golden", "verilator", "icarus")):
    p.add_argument("--sim", choices=simulators, default=default_sim,
                   help=f"simulator (default {default_sim})")
    p.add_argument("--engine", choices=("fast", "cocotb"), default=None,
                   help="RTL bench: 'fast' (a compiled C++ bench, Verilator only) or "
                   "'cocotb' (the Python reference bench); default fast for verilator, "
                   "cocotb for icarus")
    p.add_argument("--waves", type=Path, default=None, metavar="FILE.fst",
                   help="record a waveform of the RTL simulation (FST, for GTKWave or "
                   "Surfer)")
    p.add_argument("--seed", type=_non_negative, default=0,
                   help="seed of event order and stalls (and of check's random inputs; "
                   "default 0)")
    p.add_argument("--stall", type=_probability, default=0.3, metavar="P",
                   help="probability of a stall cycle on each top stream (default 0.3)")
    p.add_argument("--build-dir", type=Path, default=None,
                   help="simulator build folder (default sim_build/<model name>)")


def cmd_generate(args):
    from .generate import write_outputs
    from .model import load_model
    model = load_model(args.model)
    _progress(f"generating Verilog for '{model.name}' ({len(model.layers)} layers)")
    options = _options(args, model)
    vfile, manifest = write_outputs(model, args.output, options,
                                    memory_plan=getattr(args, "memory_plan", None))
    print(f"wrote {vfile}\nwrote {manifest}")


def _check_engine(args):
    """The bench to run: usage errors (exit 2) for choices that cannot work."""
    from .sim.cosim import default_engine
    if args.sim == "golden":
        for option in ("engine", "waves"):
            if getattr(args, option) is not None:
                args.parser.error(f"--{option} needs an RTL simulator (--sim verilator or "
                                  "icarus)")
        return None
    engine = args.engine or default_engine(args.sim)
    if engine == "fast" and args.sim != "verilator":
        args.parser.error("--engine fast runs on Verilator only; use --engine cocotb "
                          f"with --sim {args.sim}")
    return engine


def _simulate(model, x, args):
    """``(spikes of every layer, output port spikes)``, batched ``[N, T, size]``."""
    import golden
    if args.sim == "golden":
        spikes = golden.run(model, x)
        return spikes, spikes[model.output]
    from .progress import ProgressBar
    from .sim.cosim import SimError, run_rtl
    build_dir = args.build_dir or Path("sim_build") / model.name
    engine = args.engine
    _progress(f"building and running the {args.sim} simulation ({engine} bench) of "
              f"{x.shape[0]} inference(s) x {x.shape[1]} timesteps in {build_dir}/")
    start = time.monotonic()
    bar = ProgressBar(f"{args.sim}", x.shape[0], "inferences")
    try:
        spikes, info = run_rtl(model, x, sim=args.sim, engine=engine,
                               options=_options(args, model),
                               build_dir=build_dir, seed=args.seed, stall_in=args.stall,
                               stall_out=args.stall, waves=args.waves,
                               progress=bar.update)
    except SimError as exc:
        if args.waves is None:
            hint = "to record a waveform, run again with --waves FILE.fst"
            raise SimError(f"{exc} ({hint})") from None
        raise
    finally:
        bar.close()
    built = "" if not info["build_seconds"] else f", built in {info['build_seconds']:.1f} s"
    _progress(f"{args.sim}: {info['cycles']} cycles in {info['seconds']:.2f} s of simulation "
              f"({time.monotonic() - start:.1f} s in all{built})")
    if args.waves is not None:
        _progress(f"wrote the waveform {args.waves} (open it in GTKWave or Surfer)")
    return spikes, info["out_spikes"]


def cmd_simulate(args):
    from .inputs import load_inputs
    from .model import load_model
    args.engine = _check_engine(args)
    model = load_model(args.model)
    x = load_inputs(args.inputs, model)
    batched = x.ndim == 3
    spikes, _ = _simulate(model, x if batched else x[None], args)
    if not batched:
        spikes = {k: v[0] for k, v in spikes.items()}
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.npz")   # renamed only once complete
    np.savez(partial, **spikes)
    partial.replace(out)
    print(f"wrote {out} (layers: {', '.join(spikes)})")


def _check_gate(model, x, expected, labels, args):
    """``check --gate BOARD``: the synthesized netlist against golden on the top output."""
    from .progress import ProgressBar
    from .sim.gate_level import check, family_of_board
    family = family_of_board(args.gate)
    build_dir = args.build_dir or Path("sim_build") / f"{model.name}-gate-{family}"
    _progress(f"synthesizing '{model.name}' for {args.gate} ({family}) and running the "
              f"{args.sim} simulation ({args.engine} bench) of its netlist in {build_dir}/")
    start = time.monotonic()
    bar = ProgressBar(f"{args.sim} {family} netlist", x.shape[0], "inferences")
    try:
        result = check(model, x, family, options=_options(args, model), build_dir=build_dir,
                       sim=args.sim, engine=args.engine, seed=args.seed, stall_in=args.stall,
                       stall_out=args.stall, expected=expected[model.output],
                       progress=bar.update, waves=args.waves)
    finally:
        bar.close()
    info = result.info
    _progress(f"synthesis {result.netlist.seconds:.1f} s, simulator build "
              f"{info['build_seconds']:.1f} s, {info['cycles']} cycles in "
              f"{info['seconds']:.2f} s ({time.monotonic() - start:.1f} s in all)")
    if labels is not None:
        print(f"accuracy on {len(labels)} labelled inference(s): golden "
              f"{_accuracy(model, expected, labels):.2%}, {family} netlist "
              f"{_accuracy(model, {model.output: result.actual}, labels):.2%}")
    print(f"{'PASS' if result.ok else 'FAIL'}: {result.message}")
    return 0 if result.ok else 1


def cmd_check(args):
    import golden

    from .compare import describe_mismatch, first_mismatch
    from .inputs import load_inputs, load_labels, load_test_split, random_inputs
    from .model import load_model
    args.engine = _check_engine(args)
    if args.labels is not None and args.inputs is None:
        args.parser.error("--labels needs --inputs (or use --samples all)")
    model = load_model(args.model)
    labels = None
    if args.inputs:
        x = load_inputs(args.inputs, model)
        x = x if x.ndim == 3 else x[None]
        if args.labels is not None:
            labels = load_labels(args.labels, x.shape[0])
    elif args.samples == "all":
        x, labels = load_test_split(model)
    else:
        x = random_inputs(model, args.samples, seed=args.seed)
    _progress(f"golden model: {x.shape[0]} inference(s)")
    expected = golden.run(model, x)
    if args.gate is not None:
        return _check_gate(model, x, expected, labels, args)
    actual, out_port = _simulate(model, x, args)
    if labels is not None:
        print(f"accuracy on {len(labels)} labelled inference(s): golden "
              f"{_accuracy(model, expected, labels):.2%}, {args.sim} "
              f"{_accuracy(model, actual, labels):.2%}")
    hint = "" if args.waves else " (to see why, run again with --waves FILE.fst)"
    mismatch = first_mismatch(model, expected, actual)
    if mismatch is not None:
        print(f"FAIL: {describe_mismatch(mismatch, 'golden', args.sim)}{hint}")
        return 1
    if not np.array_equal(out_port, expected[model.output]):
        n, t, i = np.argwhere(out_port != expected[model.output])[0]
        print(f"FAIL: the top output port differs from layer '{model.output}': sample {n}, "
              f"timestep {t}, neuron {i}{hint}")
        return 1
    counts = ", ".join(f"{name} {int(s.sum())}" for name, s in expected.items())
    print(f"PASS: {args.sim} is bit-exact against golden for every layer and the output "
          f"port ({x.shape[0]} inference(s) x {model.timesteps} timesteps; spikes: {counts})")
    return 0


def cmd_build(args):
    from .build import build_board
    from .model import load_model
    model = load_model(args.model)
    report = build_board(model, args.board, args.output,
                         options=_options(args, model, plan=False),
                         samples=args.samples, seed=args.seed, progress=_progress,
                         clock=args.clock, top=args.top, baud=args.baud)
    r = report["resources"]
    timing = "met" if report["timing_met"] else "NOT met"
    spram = f", {r['SPRAM']} SPRAMs" if r.get("SPRAM") else ""
    print(f"{args.board}: {r['LUT']} LUTs, {r['FF']} FFs, {r['BRAM']} BRAMs{spram}, "
          f"{r['DSP']} DSPs; "
          f"Fmax {report['fmax_mhz']:.1f} MHz for a {report['clock_mhz']:.1f} MHz clock "
          f"(timing {timing})")
    if "host_link" in report:
        link = report["host_link"]
        print(f"host link: {link['baud']} baud on {link['uart']}; model id {link['model_id']}")
    print(f"wrote {report['bitstream']}")
    if "weights_image" in report:
        image = report["weights_image"]
        print(f"wrote {image['file']} ({image['bytes']:,} bytes of weights for the SPRAM, "
              f"read from the flash at 0x{image['flash_offset']:x} at boot: 'hwgen flash' "
              "writes it)")
    print(f"wrote {Path(args.output) / 'report.json'}")
    return 0 if report["timing_met"] else 1


def cmd_boards(args):
    import json

    import boards
    if args.json:
        print(json.dumps([b.to_dict() for b in BOARDS.values()], indent=2))
    else:
        print(boards.table())


def cmd_flash(args):
    import shutil

    from .flash import flash
    plan = flash(args.output, args.board, programmer=args.programmer, dry_run=args.dry_run)
    if args.dry_run:
        if plan.programmer.dfu_id:
            _progress(f"would first write {plan.image}: {plan.bitstream} with a DFU suffix")
        if shutil.which(plan.programmer.tool) is None:
            _progress(f"note: {plan.programmer.tool} is not on PATH")
        print(plan.command_line())
    else:
        print(f"flashed {plan.image} onto {plan.board.name} with {plan.programmer.tool}")


def cmd_run(args):
    import golden

    from .host import DEFAULT_TIMEOUT, Board, SerialTransport
    from .host_link.top import DEFAULT_BAUD
    from .inputs import load_inputs
    from .model import load_model
    from .progress import ProgressBar
    model = load_model(args.model)
    x = load_inputs(args.inputs, model)
    batched = x.ndim == 3
    x = x if batched else x[None]
    options = _options(args, model)
    baud = args.baud or DEFAULT_BAUD
    if args.port == "sim":
        from .host_link.sim_transport import SimulatedTransport
        _progress(f"simulating the board (Amaranth's simulator, {baud} baud): small models "
                  "only")
        transport = SimulatedTransport(model, options, baud=baud)
        # Simulated seconds: a hung simulation ends after 10 ms of simulated time.
        timeout = args.timeout or 0.01
    else:
        transport = SerialTransport(args.port, baud)
        timeout = args.timeout or DEFAULT_TIMEOUT
    start = time.monotonic()
    with Board(transport, model, options, timeout=timeout) as board:
        board.connect()
        _progress(f"{args.port}: the board carries '{model.name}' (id 0x{board.ident:08x}); "
                  f"running {x.shape[0]} inference(s)")
        bar = ProgressBar("board", x.shape[0], "inferences")
        try:
            spikes = board.run(x, progress=bar.update)
        finally:
            bar.close()
    retried = f", {board.stats['retries']} retried after link errors" \
        if board.stats["retries"] else ""
    simulated = (f" ({transport.seconds * 1e3:.2f} ms of simulated time)"
                 if args.port == "sim" else "")
    _progress(f"{x.shape[0]} inference(s) in {time.monotonic() - start:.2f} s{simulated}"
              f"{retried}")
    predictions = golden.predict(model, {model.output: spikes})
    if not batched:
        spikes, predictions = spikes[0], predictions[0]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.npz")   # renamed only once complete
    np.savez(partial, **{model.output: spikes, "predictions": predictions})
    partial.replace(out)
    print(f"wrote {out} (output spikes '{model.output}' and predictions)")


def _write_quantized(result, args):
    from .quantize import format_report, write_report
    print(format_report(result.report))
    yaml_path, npz_path = result.write(args.output)
    print(f"wrote {yaml_path}\nwrote {npz_path}")
    if args.report:
        write_report(result.report, args.report)
        print(f"wrote {args.report}")


def cmd_import_nir(args):
    from .nir_import import import_nir
    _progress(f"importing {args.graph}")
    result = import_nir(args.graph, timesteps=args.timesteps, weight_bits=args.weight_bits,
                        dt=args.dt, reset=args.reset, max_spikes=args.max_spikes,
                        input_max=args.input_max, decay_bits=args.decay_bits,
                        v_bits=args.v_bits, name=args.name or _name_from(args.output),
                        type_check=args.type_check)
    _write_quantized(result, args)


def cmd_quantize(args):
    from .quantize import load_float_npz, quantize
    layers = load_float_npz(args.floats)
    result = quantize(layers, name=args.name or _name_from(args.output),
                      timesteps=args.timesteps, input_size=layers[0].weight.shape[1],
                      input_max=args.input_max, weight_bits=args.weight_bits,
                      decay_bits=args.decay_bits, v_bits=args.v_bits, source=str(args.floats))
    _write_quantized(result, args)


def _name_from(path):
    """A model name from the output file name ('my-net.yaml' -> 'my_net')."""
    from .nir_import import legal_name
    return legal_name(Path(path).stem, set())


def _add_quantize_options(p):
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL.yaml",
                   help="the model to write; its tensors go to MODEL.npz next to it")
    p.add_argument("--timesteps", type=_count, required=True, metavar="T",
                   help="timesteps per inference")
    p.add_argument("--weight-bits", type=_count, default=8, metavar="B",
                   help="signed weight width (default 8)")
    p.add_argument("--input-max", type=_count, default=1, metavar="N",
                   help="largest network input value (default 1: binary spikes)")
    p.add_argument("--decay-bits", type=_non_negative, default=16, metavar="F",
                   help="fraction bits of a leak that is not a shift (default 16)")
    p.add_argument("--v-bits", type=_count, default=None, metavar="N",
                   help="membrane width (default: the smallest that never clamps)")
    p.add_argument("--name", default=None, help="model name (default: from MODEL.yaml)")
    p.add_argument("--report", type=Path, default=None, metavar="REPORT.json",
                   help="also write the report as JSON")


def _parser():
    p = argparse.ArgumentParser(
        prog="hwgen", description="Quantized SNN models to bit-exact Verilog for open FPGAs.")
    p.add_argument("--version", action="version", version=f"hwgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("generate", help="write OUT/<name>.v and OUT/manifest.json")
    g.add_argument("model", type=Path, metavar="MODEL.yaml")
    g.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    _add_generator_options(g)
    g.set_defaults(func=cmd_generate, parser=g)

    s = sub.add_parser("simulate", help="spikes of every layer for the given inputs")
    s.add_argument("model", type=Path, metavar="MODEL.yaml")
    s.add_argument("--inputs", type=Path, required=True, metavar="X.npy",
                   help="integers [T, input.size] or [N, T, input.size]")
    s.add_argument("-o", "--output", type=Path, required=True, metavar="Y.npz")
    _add_sim_options(s, "golden")
    _add_generator_options(s)
    s.set_defaults(func=cmd_simulate, parser=s)

    c = sub.add_parser("check", help="co-simulate the RTL against the golden model")
    c.add_argument("model", type=Path, metavar="MODEL.yaml")
    what = c.add_mutually_exclusive_group()
    what.add_argument("--samples", type=_count_or_all, default=8, metavar="{N,all}",
                      help="random inferences to check (default 8), or 'all': the "
                      "model's test split (test_split.npz next to the model file)")
    what.add_argument("--inputs", type=Path, metavar="X.npy",
                      help="check these inputs instead of random ones")
    c.add_argument("--labels", type=Path, metavar="Y.npy",
                   help="with --inputs: the class of each inference; reports accuracy")
    # Golden against golden proves nothing: check compares an RTL simulator with it.
    _add_sim_options(c, "verilator", simulators=("verilator", "icarus"))
    c.add_argument("--gate", choices=sorted(BOARDS), default=None, metavar="BOARD",
                   help="check the gate-level netlist yosys synthesizes for BOARD's FPGA "
                   "(simulated with the YoWASP cell models; compares the top output) "
                   f"instead of the RTL; one of {', '.join(sorted(BOARDS))}")
    _add_generator_options(c)
    c.set_defaults(func=cmd_check, parser=c)

    b = sub.add_parser("build", help="bitstream and OUT/report.json for a board")
    b.add_argument("model", type=Path, metavar="MODEL.yaml")
    b.add_argument("--board", required=True, choices=sorted(BOARDS))
    b.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    b.add_argument("--top", choices=("host-link", "self-test"), default="host-link",
                   help="the network behind the UART host link that 'hwgen run' talks to "
                   "(default), or the built-in self-test (inputs and golden outputs in ROM, "
                   "two LEDs)")
    b.add_argument("--baud", type=_count, default=None,
                   help="host-link line rate (default: the fastest of 3M, 2M, 1M, 921600, "
                   "... baud the clock makes within 2%%)")
    b.add_argument("--samples", type=_count, default=4,
                   help="inferences held in the self-test ROM (default 4)")
    b.add_argument("--seed", type=_non_negative, default=0,
                   help="seed of the self-test inputs")
    b.add_argument("--clock", type=_clock, default=None, metavar="MHZ|max",
                   help="run the design from the FPGA's PLL at MHZ (the closest it makes at "
                   "or below), or 'max': measure Fmax at the board's clock, then build at "
                   "90%% of it (default: the board's oscillator)")
    _add_generator_options(b, plan_board=False)
    b.set_defaults(func=cmd_build, parser=b)

    bl = sub.add_parser("boards", help="the boards: device, clock, capacity, UART, programmer")
    bl.add_argument("--json", action="store_true", help="as JSON")
    bl.set_defaults(func=cmd_boards)

    f = sub.add_parser("flash", help="program OUT/'s bitstream onto a board")
    f.add_argument("output", type=Path, metavar="OUT", help="the folder 'hwgen build' wrote")
    f.add_argument("--board", required=True, choices=sorted(BOARDS), metavar="BOARD",
                   help="the board OUT/ was built for: " + ", ".join(BOARDS))
    f.add_argument("--programmer", default=None, metavar="NAME",
                   help="another of the board's programmers (hwgen boards lists them)")
    f.add_argument("--dry-run", action="store_true",
                   help="print the command that would program the board, run nothing")
    f.set_defaults(func=cmd_flash)

    r = sub.add_parser("run", help="inferences on a board through the host link")
    r.add_argument("model", type=Path, metavar="MODEL.yaml",
                   help="the model the board was built with")
    r.add_argument("--port", required=True, metavar="DEV",
                   help="the board's serial port (e.g. /dev/ttyUSB1, COM3), or 'sim': the "
                   "simulated board (small models)")
    r.add_argument("--inputs", type=Path, required=True, metavar="X.npy",
                   help="integers [T, input.size] or [N, T, input.size]")
    r.add_argument("-o", "--output", type=Path, required=True, metavar="Y.npz",
                   help="output spikes (key: the output layer) and predictions")
    r.add_argument("--baud", type=_count, default=None,
                   help="line rate the board was built with (default 3000000)")
    r.add_argument("--timeout", type=_positive_float, default=None, metavar="S",
                   help="seconds to wait for any answer of the board (default 2; with "
                   "--port sim, 0.01 simulated)")
    _add_generator_options(r)
    r.set_defaults(func=cmd_run, parser=r)

    n = sub.add_parser("import-nir", help="a quantized model from a NIR graph")
    n.add_argument("graph", type=Path, metavar="GRAPH.nir")
    _add_quantize_options(n)
    n.add_argument("--dt", type=_positive_float, default=1e-4,
                   help="time step in seconds for tau (default 1e-4, snnTorch's export)")
    n.add_argument("--reset", choices=("hard", "soft", "none"), default="hard",
                   help="hard = NIR's reset to v_reset (default); soft subtracts the threshold")
    n.add_argument("--max-spikes", type=_count, default=1, metavar="D",
                   help="graded spikes: up to D per neuron and timestep (default 1)")
    n.add_argument("--no-type-check", dest="type_check", action="store_false",
                   help="read the graph without nir's type inference at once (a graph that "
                   "fails it is read without it anyway, with a note; hwgen checks the "
                   "shapes itself)")
    n.set_defaults(func=cmd_import_nir)

    q = sub.add_parser("quantize", help="a quantized model from float weights (.npz)")
    q.add_argument("floats", type=Path, metavar="FLOAT.npz")
    _add_quantize_options(q)
    q.set_defaults(func=cmd_quantize)
    return p


def _at_least(lowest):
    def parse(text):
        value = int(text)
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be >= {lowest}, got {value}")
        return value
    return parse


_count = _at_least(1)
_non_negative = _at_least(0)


def _layer_split(text):
    name, sep, count = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"must be LAYER=K, got {text!r}")
    try:
        return name, _count(count)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"the number of cores in {text!r} must be an integer >= 1") from None


def _lanes(text):
    """``--lanes``: ``auto``, ``P``, ``P1,P2,...`` (a list) or ``LAYER=P,...`` (a dict)."""
    if text == "auto":
        return text
    parts = text.split(",")
    try:
        if all("=" in part for part in parts):
            return {name: _count(count) for name, count in
                    (part.partition("=")[::2] for part in parts)}
        counts = [_count(part) for part in parts]
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"must be a count >= 1, counts per layer (8,1 or fc1=8,fc2=1) or 'auto', got "
            f"{text!r}") from None
    return counts[0] if len(counts) == 1 else counts


def _count_or_all(text):
    if text == "all":
        return text
    try:
        return _count(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count >= 1 or 'all', got {text!r}") from None


def _accuracy(model, spikes, labels):
    """The share of inferences whose prediction (DESIGN.md section 4) is the label."""
    import golden
    return float(np.mean(golden.predict(model, spikes) == labels))


def _probability(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except HwgenError as exc:
        print(f"hwgen: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
