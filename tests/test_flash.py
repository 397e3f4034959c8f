"""`hwgen flash` against fake programmers on PATH that record their arguments: the right
tool and bitstream for every board, --dry-run, --programmer, and one clear error for each
way flashing can fail."""

import json
import os
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from boards import BOARDS
from hwgen.flash import FlashError, dfu_image, flash, plan_flash

TOOLS = ("iceprog", "openFPGALoader", "tinyprog", "fujprog", "dfu-util")

# What each board's programmers must be run with ({} is the file programmed).
EXPECTED = {
    "icebreaker": {"iceprog": ["{}"], "openFPGALoader": ["-b", "ice40_generic", "{}"]},
    "icestick": {"iceprog": ["{}"], "openFPGALoader": ["-b", "ice40_generic", "{}"]},
    "tinyfpga-bx": {"tinyprog": ["-p", "{}"]},
    **{f"ulx3s-{s}": {"openFPGALoader": ["-b", "ulx3s", "{}"], "fujprog": ["{}"]}
       for s in ("12f", "25f", "45f", "85f")},
    **{f"orangecrab-{s}": {"dfu-util": ["-d", "1209:5af0", "-a", "0", "-D", "{}"],
                           "openFPGALoader": ["-b", "orangeCrab", "{}"]}
       for s in ("25f", "85f")},
}


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    """Fake programmers in tmp_path/bin, alone on PATH: each appends its name and
    arguments as a JSON line to tmp_path/calls.jsonl, prints $FAKE_OUTPUT and exits with
    $FAKE_EXIT (default 0)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    for tool in TOOLS:
        script = bin_dir / tool
        script.write_text(f"#!{sys.executable}\n"
                          "import json, os, sys\n"
                          f"with open({str(log)!r}, 'a') as f:\n"
                          "    f.write(json.dumps(sys.argv) + '\\n')\n"
                          "print(os.environ.get('FAKE_OUTPUT', 'programmed'))\n"
                          "sys.exit(int(os.environ.get('FAKE_EXIT', '0')))\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))

    def calls():
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]
    return calls


def make_out(tmp_path, board, name="tiny", bitstream=None, content=b"\xff\x00bitstream"):
    """An OUT/ as `hwgen build` writes it (its report naming the bitstream by the path
    given at build time, here one that no longer exists)."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    ext = BOARDS[board].bitstream_ext
    bitstream = bitstream or f"elsewhere/out/{name}{ext}"
    (out / f"{name}{ext}").write_bytes(content)
    (out / "report.json").write_text(json.dumps({"board": board, "model": name,
                                                 "bitstream": bitstream}))
    return out


@pytest.fixture
def hwgen(capsys):
    """``hwgen ARGS`` in this process (fast; PATH as monkeypatched): a result with
    returncode, stdout and stderr."""
    from hwgen.cli import main

    def run(*args):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:        # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)
    return run


def assert_one_line_error(result, *phrases):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("hwgen: error: ")
    for phrase in phrases:
        assert phrase in last, last


@pytest.mark.parametrize("board", list(EXPECTED))
def test_every_programmer_of_every_board(board, tmp_path, fake_tools):
    out = make_out(tmp_path, board)
    bitstream = out / f"tiny{BOARDS[board].bitstream_ext}"
    for i, (tool, args) in enumerate(EXPECTED[board].items()):
        plan = flash(out, board, programmer=None if i == 0 else tool, output=open(os.devnull, "w"))
        image = bitstream.with_suffix(".dfu") if tool == "dfu-util" else bitstream
        assert plan.image == image and plan.bitstream == bitstream
        call = fake_tools()[-1]
        assert Path(call[0]).name == tool
        assert call[1:] == [a.replace("{}", str(image)) for a in args]
    assert len(fake_tools()) == len(EXPECTED[board])
    assert set(EXPECTED[board]) == {p.tool for p in BOARDS[board].programmers}


def test_dfu_image_is_the_bitstream_with_a_valid_suffix(tmp_path, fake_tools):
    bits = bytes(range(256)) * 3
    out = make_out(tmp_path, "orangecrab-25f", content=bits)
    flash(out, "orangecrab-25f", output=open(os.devnull, "w"))
    data = (out / "tiny.dfu").read_bytes()
    assert data[:-16] == bits
    device, product, vendor, dfu, sig, length, crc = struct.unpack("<HHHH3sBI", data[-16:])
    assert (device, product, vendor, dfu, sig, length) == (0xFFFF, 0x5AF0, 0x1209, 0x0100,
                                                           b"UFD", 16)
    # dfu-util's CRC: CRC-32 (reflected 0xEDB88320) from ~0, no final inversion.
    ref = 0xFFFFFFFF
    for byte in data[:-4]:
        ref ^= byte
        for _ in range(8):
            ref = (ref >> 1) ^ (0xEDB88320 if ref & 1 else 0)
    assert crc == ref
    assert dfu_image(b"", 0x1209, 0x5AF0)[-4:] != b"\0\0\0\0"


@pytest.mark.parametrize("board", list(EXPECTED))
def test_dry_run_prints_the_exact_command_and_runs_nothing(board, tmp_path, fake_tools, hwgen):
    out = make_out(tmp_path, board)
    r = hwgen("flash", "--board", board, out, "--dry-run")
    assert r.returncode == 0, r.stderr
    tool, args = next(iter(EXPECTED[board].items()))
    image = out / f"tiny{'.dfu' if tool == 'dfu-util' else BOARDS[board].bitstream_ext}"
    assert shlex.split(r.stdout) == [tool, *(a.replace("{}", str(image)) for a in args)]
    assert fake_tools() == []
    assert not (out / "tiny.dfu").exists()


def test_cli_flash_runs_the_programmer(tmp_path, fake_tools):
    """The whole command, as a process."""
    out = make_out(tmp_path, "ulx3s-25f")
    r = subprocess.run([sys.executable, "-m", "hwgen.cli", "flash", "--board", "ulx3s-25f",
                        str(out), "--programmer", "fujprog"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"flashed {out / 'tiny.bit'} onto ulx3s-25f with fujprog" in r.stdout
    assert "programmed" in r.stderr          # the programmer's own output, passed on
    assert fake_tools() == [[str(tmp_path / "bin" / "fujprog"), str(out / "tiny.bit")]]


def test_dry_run_names_a_missing_tool_but_succeeds(tmp_path, monkeypatch, hwgen):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = make_out(tmp_path, "icebreaker")
    r = hwgen("flash", "--board", "icebreaker", out, "--dry-run")
    assert r.returncode == 0 and r.stdout.strip() == f"iceprog {out / 'tiny.bin'}"
    assert "iceprog is not on PATH" in r.stderr


def test_missing_tool_is_one_clear_error(tmp_path, monkeypatch, hwgen):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = make_out(tmp_path, "icebreaker")
    r = hwgen("flash", "--board", "icebreaker", out)
    assert_one_line_error(r, "iceprog", "not on PATH", "fpga-icestorm",
                          "--programmer openFPGALoader")
    r = hwgen("flash", "--board", "icebreaker", out, "--programmer", "openFPGALoader")
    assert_one_line_error(r, "openFPGALoader", "not on PATH")


def test_failing_programmer_is_one_clear_error(tmp_path, fake_tools, monkeypatch, hwgen):
    monkeypatch.setenv("FAKE_EXIT", "2")
    monkeypatch.setenv("FAKE_OUTPUT", "init..\nCan't find iCE FTDI USB device (vendor_id "
                       "0x0403, device_id 0x6010).")
    out = make_out(tmp_path, "icestick")
    r = hwgen("flash", "--board", "icestick", out)
    assert_one_line_error(r, "iceprog failed (exit status 2)", str(out / "tiny.bin"),
                          "icestick", "Can't find iCE FTDI USB device", "connected")
    assert len(fake_tools()) == 1
    monkeypatch.setenv("FAKE_OUTPUT", "")
    with pytest.raises(FlashError, match="bootloader"):
        flash(make_out(tmp_path, "orangecrab-85f"), "orangecrab-85f",
              output=open(os.devnull, "w"))


def test_board_mismatch_is_refused(tmp_path, fake_tools, hwgen):
    out = make_out(tmp_path, "ulx3s-85f")
    r = hwgen("flash", "--board", "ulx3s-25f", out)
    assert_one_line_error(r, "built for board 'ulx3s-85f', not 'ulx3s-25f'",
                          "--board ulx3s-85f")
    r = hwgen("flash", "--board", "ulx3s-25f", out, "--dry-run")
    assert_one_line_error(r, "built for board 'ulx3s-85f'")
    assert fake_tools() == []


@pytest.mark.parametrize("damage,phrases", [
    ("no folder", ["does not exist", "hwgen build"]),
    ("a file", ["is not a folder"]),
    ("no report", ["report.json is missing"]),
    ("broken report", ["report.json cannot be read"]),
    ("report without fields", ["no 'bitstream' field"]),
    ("no bitstream", ["tiny.bin is missing", "report.json"]),
    ("empty bitstream", ["tiny.bin is empty"]),
    ("wrong kind of bitstream", ["takes a .bin file"]),
])
def test_missing_or_broken_out_folder(damage, phrases, tmp_path, fake_tools, hwgen):
    out = make_out(tmp_path, "icebreaker")
    report = out / "report.json"
    if damage == "no folder":
        out = tmp_path / "nope"
    elif damage == "a file":
        out = report
    elif damage == "no report":
        report.unlink()
    elif damage == "broken report":
        report.write_text('{"board": "icebreaker", ')
    elif damage == "report without fields":
        report.write_text('{"board": "icebreaker"}')
    elif damage == "no bitstream":
        (out / "tiny.bin").unlink()
    elif damage == "empty bitstream":
        (out / "tiny.bin").write_bytes(b"")
    elif damage == "wrong kind of bitstream":
        report.write_text('{"board": "icebreaker", "bitstream": "out/tiny.bit"}')
    for extra in ([], ["--dry-run"]):
        r = hwgen("flash", "--board", "icebreaker", out, *extra)
        assert_one_line_error(r, str(out), *phrases)
    assert fake_tools() == []


def test_unknown_programmer_and_board(tmp_path, fake_tools, hwgen):
    out = make_out(tmp_path, "tinyfpga-bx")
    r = hwgen("flash", "--board", "tinyfpga-bx", out, "--programmer", "iceprog")
    assert_one_line_error(r, "not flashed with 'iceprog'", "its programmers: tinyprog")
    r = hwgen("flash", "--board", "nosuchboard", out)
    assert r.returncode == 2 and "invalid choice" in r.stderr
    assert fake_tools() == []


def test_plan_runs_nothing(tmp_path, fake_tools):
    out = make_out(tmp_path, "orangecrab-25f")
    plan = plan_flash(out, "orangecrab-25f", "openfpgaloader")
    assert plan.command_line() == f"openFPGALoader -b orangeCrab {out / 'tiny.bit'}"
    assert fake_tools() == []


def make_spram_out(tmp_path, image=b"HWGW" + bytes(60)):
    """An OUT/ of a design whose weights are in SPRAM: a weight image next to the
    bitstream, its offset in the report."""
    out = make_out(tmp_path, "icebreaker")
    (out / "tiny.weights.bin").write_bytes(image)
    report = json.loads((out / "report.json").read_text())
    report["weights_image"] = {"file": "elsewhere/out/tiny.weights.bin",
                               "bytes": len(image), "flash_offset": 0x100000}
    (out / "report.json").write_text(json.dumps(report))
    return out


@pytest.mark.parametrize("programmer, offset_args", [
    ("iceprog", ["-o", "1048576"]),
    ("openFPGALoader", ["-b", "ice40_generic", "-o", "1048576"])])
def test_the_weight_image_is_written_after_the_bitstream(programmer, offset_args, tmp_path,
                                                        fake_tools, hwgen):
    out = make_spram_out(tmp_path)
    flash(out, "icebreaker", programmer=programmer, output=open(os.devnull, "w"))
    bitstream_call, weights_call = fake_tools()
    assert bitstream_call[-1] == str(out / "tiny.bin")
    assert weights_call[1:] == [*offset_args, str(out / "tiny.weights.bin")]
    r = hwgen("flash", "--board", "icebreaker", out, "--dry-run")
    assert r.stdout.strip().splitlines()[1] == (
        f"iceprog -o 1048576 {out / 'tiny.weights.bin'}")


def test_a_missing_weight_image_is_refused(tmp_path, fake_tools, hwgen):
    out = make_spram_out(tmp_path)
    (out / "tiny.weights.bin").write_bytes(b"HWGW")
    assert_one_line_error(hwgen("flash", "--board", "icebreaker", out),
                          "the weight image", "is missing or not 64 bytes: build again")
    assert fake_tools() == []
