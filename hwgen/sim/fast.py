"""The fast co-simulation engine: a Verilator C++ testbench with no Python per cycle.

:func:`build_harness` compiles the generated Verilog with ``fast_harness.cpp`` into one
executable, once per design (a stamp of everything that goes into it decides whether a
rebuild is needed); :func:`run_harness` runs it on a configuration and reads back the
handshakes it recorded. :mod:`hwgen.sim.cosim` turns those into spikes, as it does for
the cocotb engine (``cocotb_bench.py``), which stays the reference.
"""

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from ..tools import verilator_env, verilator_version
from .runner import SimError, build_failure, write_if_changed

__all__ = ["HARNESS", "build_harness", "read_handshakes", "run_harness"]

HARNESS = Path(__file__).with_name("fast_harness.cpp")
# The design's side of the bench (includes Vtop.h), and the interface between the two.
TOP_SHIM = (Path(__file__).with_name("fast_top.cpp"), Path(__file__).with_name("fast_top.h"))

# Only the stream signals the harness reads are made public: every other signal stays
# free for Verilator to optimize away (--public-flat-rw on everything costs speed).
PUBLIC_STREAMS = """`verilator_config
public_flat_rw -module "*" -var "*__valid"
public_flat_rw -module "*" -var "*__ready"
public_flat_rw -module "*" -var "*__payload"
"""

VERILATOR_ARGS = ["--cc", "--exe", "--build", "--prefix", "Vtop", "-O3",
                  "-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC",
                  "-CFLAGS", "-std=c++17"]


def _stamp(verilog_text, args, sources=()):
    h = hashlib.sha256()
    for part in (verilog_text, HARNESS.read_text(), *(f.read_text() for f in TOP_SHIM),
                 *(Path(f).read_text() for f in sources),
                 PUBLIC_STREAMS, " ".join(args),
                 str(verilator_version())):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def build_harness(verilog_text, toplevel, build_dir, *, waves=False, sources=(), args=()):
    """The executable of the fast bench for this design, built in ``build_dir`` unless
    the one there was built from the same Verilog, harness and flags.

    ``sources`` are more Verilog files to compile with the design (a netlist's cell
    models), ``args`` more Verilator options (after hwgen's own).

    Returns ``(path, seconds spent building)`` (0 when reused). Raises :class:`SimError`
    naming the build log when Verilator or the C++ compiler fails.
    """
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    vfile = build_dir / f"{toplevel}.v"
    write_if_changed(vfile, verilog_text)
    vlt = build_dir / "public_streams.vlt"
    write_if_changed(vlt, PUBLIC_STREAMS)
    binary = build_dir / "obj" / "Vtop"
    args = [*VERILATOR_ARGS, "--top-module", toplevel, "-j", str(os.cpu_count() or 1),
            *args]
    if waves:
        args += ["--trace-fst", "-CFLAGS", "-DHWGEN_TRACE"]
    sources = [str(Path(f).resolve()) for f in sources]
    stamp_file = build_dir / "stamp"
    stamp = _stamp(verilog_text, [*args, *sources], sources)
    if binary.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return binary, 0.0
    stamp_file.unlink(missing_ok=True)
    # A clean folder: Verilator skips a run whose sources look identical to the last one's
    # (--skip-identical compares size, inode and mtime in whole seconds), so a new design
    # written over the old one within the same second, with the same size, kept the old
    # design's C++ and linked a stale executable.
    shutil.rmtree(binary.parent, ignore_errors=True)
    env = verilator_env()
    # Verilator's make uses OBJCACHE: with ccache its runtime library is compiled once.
    if "OBJCACHE" not in env and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    root = Path(env["VERILATOR_ROOT"])
    log = build_dir / "build.log"
    cmd = [str(root / "bin" / "verilator"), *args, "--Mdir", str(binary.parent),
           str(vlt), str(vfile), *sources, str(HARNESS), str(TOP_SHIM[0])]
    start = time.monotonic()
    with open(log, "w") as f:
        f.write(" ".join(cmd) + "\n")
        f.flush()
        try:
            code = subprocess.run(cmd, cwd=build_dir, env=env, stdout=f,
                                  stderr=subprocess.STDOUT).returncode
        except OSError as exc:
            f.write(f"cannot run Verilator: {exc}\n")
            code = None
    if code != 0 or not binary.exists():
        raise build_failure("verilator", toplevel, log)
    stamp_file.write_text(stamp)
    return binary, time.monotonic() - start


def run_harness(binary, config_lines, run_dir, toplevel, progress=None):
    """Run the bench on a configuration (``fast_harness.cpp`` documents the items).

    ``progress(n)`` is called with 0 at the start, then after each inference that left
    the top output. Returns the summary dict (``cycles``, ``seconds``, ``finished``,
    ``idle``, ``errors``); the handshakes are in the ``events`` file the configuration
    names.
    """
    run_dir = Path(run_dir)
    cfg_file = run_dir / "fast_config.txt"
    summary_file = run_dir / "summary.json"
    summary_file.unlink(missing_ok=True)
    cfg_file.write_text("".join(f"{line}\n" for line in
                                [*config_lines, f"summary {summary_file}"]))
    log = run_dir / "sim.log"
    if progress is not None:
        progress(0)
    with open(log, "w") as err:
        try:
            proc = subprocess.Popen([str(binary), str(cfg_file)], stdout=subprocess.PIPE,
                                    stderr=err, text=True, cwd=run_dir)
        except OSError as exc:
            raise SimError(f"the verilator simulation of '{toplevel}' did not start "
                           f"({exc.strerror}): {binary}") from None
        try:
            for line in proc.stdout:
                if line.startswith("progress ") and progress is not None:
                    progress(int(line.split()[1]))
        except BaseException:
            proc.kill()                 # Ctrl-C or a failing callback: stop the run too
            raise
        finally:
            proc.stdout.close()
            code = proc.wait()
    if code != 0 or not summary_file.exists():
        first = log.read_text().strip().splitlines()
        why = f": {first[0]}" if first else f" (exit code {code})"
        raise SimError(f"the verilator simulation of '{toplevel}' stopped early{why}; "
                       f"see {log}")
    return json.loads(summary_file.read_text())


def read_handshakes(path):
    """The recorded handshakes: ``uint64 [K, 3]`` of (stream index, cycle, payload)."""
    return np.fromfile(path, dtype=np.uint64).reshape(-1, 3)
