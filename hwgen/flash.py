"""`hwgen flash`: program the bitstream `hwgen build` wrote into OUT/ onto a board.

The board's programmer (:attr:`boards.Board.programmers`, the first by default) is run on
``OUT/<model>.bin`` (iCE40) or ``OUT/<model>.bit`` (ECP5), the file ``OUT/report.json``
names. Every way this can fail without a traceback -- no such folder, no or a broken
report, a bitstream built for another board, a programmer that is not installed or that
fails (no board connected) -- is one :class:`FlashError` naming what and where.
"""

import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import boards

from .errors import HwgenError

__all__ = ["FlashError", "FlashPlan", "dfu_image", "flash", "plan_flash"]

# Where to get each programmer, for the error when it is not on PATH.
_INSTALL = {
    "iceprog": "it is part of icestorm, e.g. apt install fpga-icestorm",
    "openFPGALoader": "e.g. apt install openfpgaloader, or from "
                      "https://github.com/trabucayre/openFPGALoader",
    "tinyprog": "pip install tinyprog",
    "fujprog": "from https://github.com/kost/fujprog/releases",
    "dfu-util": "e.g. apt install dfu-util",
}


class FlashError(HwgenError):
    """The bitstream could not be programmed (no build, wrong board, tool missing or
    failed)."""


@dataclass(frozen=True)
class FlashPlan:
    """What :func:`flash` runs: ``command`` programs ``image`` (``bitstream``, or the DFU
    image made from it) onto ``board`` with ``programmer``; then ``weights_command``
    writes the weight image of a design with weights in SPRAM (``None``: it has none)."""
    board: "boards.Board"
    programmer: "boards.Programmer"
    bitstream: Path
    image: Path
    command: tuple[str, ...]
    weights_command: tuple[str, ...] | None = None

    def command_line(self):
        lines = [shlex.join(self.command)]
        if self.weights_command:
            lines.append(shlex.join(self.weights_command))
        return "\n".join(lines)


def _read_report(out):
    if not out.exists():
        raise FlashError(f"{out}/ does not exist: build it first with "
                         f"'hwgen build MODEL --board BOARD -o {out}'")
    if not out.is_dir():
        raise FlashError(f"{out} is not a folder: give the folder 'hwgen build -o' wrote")
    path = out / "report.json"
    if not path.is_file():
        raise FlashError(f"{path} is missing: {out}/ is not a folder 'hwgen build' wrote "
                         "(build it first)")
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FlashError(f"{path} cannot be read ({exc}): build again") from None
    missing = [key for key in ("board", "bitstream")
               if not isinstance(report, dict) or not isinstance(report.get(key), str)]
    if missing:
        raise FlashError(f"{path} has no {' or '.join(repr(k) for k in missing)} field: "
                         "not a report of 'hwgen build' (build again)")
    return path, report


def plan_flash(out_dir, board_name, programmer=None):
    """The :class:`FlashPlan` for flashing ``out_dir`` onto ``board_name``, checked: the
    build is for that board and its bitstream is there. Runs nothing."""
    board = boards.get_board(board_name)
    prog = board.get_programmer(programmer)
    out = Path(out_dir)
    path, report = _read_report(out)
    if report["board"] != board.name:
        raise FlashError(f"{out}/ was built for board '{report['board']}', not "
                         f"'{board.name}' (says {path}): flash it with --board "
                         f"{report['board']}, or build again with --board {board.name}")
    # The report names the bitstream by the path given to `hwgen build -o`, relative to
    # where it ran; the folder may have moved since: the file is looked up in OUT/.
    bitstream = out / Path(report["bitstream"]).name
    if bitstream.suffix != board.bitstream_ext:
        raise FlashError(f"{path} names the bitstream {bitstream.name}, but {board.name} "
                         f"takes a {board.bitstream_ext} file: build again")
    if not bitstream.is_file() or bitstream.stat().st_size == 0:
        state = "is empty" if bitstream.is_file() else "is missing"
        raise FlashError(f"the bitstream {bitstream} {state} (named by {path}): build again")
    image = bitstream.with_suffix(".dfu") if prog.dfu_id else bitstream
    return FlashPlan(board, prog, bitstream, image, tuple(prog.command(image)),
                     _weights_command(out, path, report, board, prog))


def _weights_command(out, path, report, board, prog):
    """The command writing the build's weight image into the flash (SPRAM designs)."""
    weights = report.get("weights_image")
    if weights is None:
        return None
    file = out / Path(str(weights.get("file", ""))).name
    if not file.is_file() or file.stat().st_size != weights.get("bytes"):
        raise FlashError(f"the weight image {file} (named by {path}) is missing or not "
                         f"{weights.get('bytes')} bytes: build again")
    command = prog.offset_command(file, weights["flash_offset"])
    if command is None:
        others = [p.name for p in board.programmers if p.offset_args is not None]
        raise FlashError(f"this design reads its weights from the flash at boot, and "
                         f"{prog.name} cannot write a file at an offset of it: use "
                         f"--programmer {' or '.join(others) or '(none known)'}")
    return tuple(command)


def dfu_image(bitstream, vendor, product):
    """``bitstream`` with the DFU 1.1 suffix (USB DFU spec, appendix B; what
    ``dfu-suffix -v VID -p PID -a`` appends): bcdDevice 0xFFFF (any), idProduct,
    idVendor, bcdDFU 0x0100, "UFD", length 16, then the CRC-32 of everything before it
    (not inverted at the end, as dfu-util computes it)."""
    data = bytes(bitstream) + struct.pack("<HHHH3sB", 0xFFFF, product, vendor, 0x0100,
                                          b"UFD", 16)
    return data + struct.pack("<I", zlib.crc32(data) ^ 0xFFFFFFFF)


def flash(out_dir, board_name, *, programmer=None, dry_run=False, output=None):
    """Program ``out_dir``'s bitstream onto ``board_name``; returns the :class:`FlashPlan`.

    With ``dry_run`` nothing is run or written. The programmer's own output goes to
    ``output`` (default ``sys.stderr``) as it comes.
    """
    plan = plan_flash(out_dir, board_name, programmer)
    if dry_run:
        return plan
    tool = plan.programmer.tool
    if shutil.which(tool) is None:
        alternatives = [p.name for p in plan.board.programmers if p.name != tool]
        hint = (f"; or pick another programmer: --programmer {' or '.join(alternatives)}"
                if alternatives else "")
        raise FlashError(f"{tool} (the programmer of {plan.board.name}) is not on PATH; "
                         f"install it: {_INSTALL.get(tool, 'see docs/boards.md')}{hint}")
    if plan.programmer.dfu_id:
        try:
            plan.image.write_bytes(dfu_image(plan.bitstream.read_bytes(),
                                             *plan.programmer.dfu_id))
        except OSError as exc:
            raise FlashError(f"cannot write the DFU image {plan.image}: {exc}") from None
    _run_checked(plan, plan.command, plan.image, output or sys.stderr)
    if plan.weights_command:
        _run_checked(plan, plan.weights_command, "the weight image",
                     output or sys.stderr)
    return plan


def _run_checked(plan, command, what, output):
    tool = plan.programmer.tool
    status, tail = _run(command, output)
    if status != 0:
        last = f": {tail!r}" if tail else ""
        raise FlashError(
            f"{tool} failed (exit status {status}) flashing {what} onto "
            f"{plan.board.name}{last}. Is the board connected, and may this user open "
            f"its USB device (udev rules)? {plan.board.flash_note[:1].upper()}"
            f"{plan.board.flash_note[1:]}. The command was: {shlex.join(command)}")


def _run(command, output):
    """Run ``command``, copying its output to ``output`` as it comes; ``(exit status,
    its last non-empty output line)``."""
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        raise FlashError(f"cannot run {command[0]}: {exc}") from None
    tail = b""
    with proc:
        while chunk := os.read(proc.stdout.fileno(), 4096):
            output.write(chunk.decode(errors="replace"))
            output.flush()
            tail = (tail + chunk)[-4096:]
    lines = [line.strip() for line in tail.decode(errors="replace").replace("\r", "\n")
             .splitlines() if line.strip()]
    return proc.returncode, lines[-1] if lines else ""
