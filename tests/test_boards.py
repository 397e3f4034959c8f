"""The board table: every board's platform constructs with the resources hwgen asks for,
its capacity matches the data sheets, and `hwgen boards` lists them."""

import json
import subprocess
import sys

import pytest

import boards
from boards import BOARDS

NAMES = ["icebreaker", "icestick", "tinyfpga-bx", "ulx3s-12f", "ulx3s-25f", "ulx3s-45f",
         "ulx3s-85f", "orangecrab-25f", "orangecrab-85f"]


def hwgen(*args):
    return subprocess.run([sys.executable, "-m", "hwgen.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_every_board_is_listed():
    assert list(BOARDS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_platform_has_the_resources_hwgen_uses(name):
    board = BOARDS[name]
    platform = board.platform()
    assert platform.device == board.device
    assert platform.default_clk_frequency == board.clock_mhz * 1e6
    for resource in (board.pass_led, board.fail_led, board.uart, board.button):
        if resource is not None:
            platform.lookup(*resource)
    assert board.pass_led != board.fail_led
    # Building needs no programmer (nor OrangeCrab's dfu-suffix): only the YoWASP tools.
    assert not {"openFPGALoader", "dfu-suffix", "iceprog", "tinyprog"} \
        & set(platform.required_tools)


@pytest.mark.parametrize("name", NAMES)
def test_the_default_programmer_and_bitstream(name):
    board = BOARDS[name]
    default = {"icebreaker": "iceprog", "icestick": "iceprog", "tinyfpga-bx": "tinyprog"}
    tool = default.get(name, "openFPGALoader" if name.startswith("ulx3s") else "dfu-util")
    assert board.programmer.tool == tool
    assert board.bitstream_ext == (".bin" if board.family == "ice40" else ".bit")
    assert all("{bitstream}" in p.args for p in board.programmers)


def test_external_uart_boards_say_where_to_connect_the_adapter():
    assert {n for n, b in BOARDS.items() if not b.usb_uart} == {
        "tinyfpga-bx", "orangecrab-25f", "orangecrab-85f"}
    assert "PIN_1" in BOARDS["tinyfpga-bx"].uart_note
    assert "M18" in BOARDS["orangecrab-25f"].uart_note
    # The pins added: the FPGA's tx is the pin the note names first.
    assert _uart_pins("orangecrab-85f") == {"tx": "M18", "rx": "N17"}
    assert _uart_pins("tinyfpga-bx") == {"tx": "A2", "rx": "A1"}
    assert _uart_pins("icebreaker") == {"tx": "9", "rx": "6"}


def _uart_pins(name):
    """The package pins of the board's UART, through its connector."""
    p = BOARDS[name].platform()
    pins = {}
    for sub in p.lookup(*BOARDS[name].uart).ios:
        if sub.name in ("tx", "rx"):
            (pin,) = sub.ios[0].names
            conn, _, number = pin.partition(":")
            if number:
                conn_name, conn_number = conn.rsplit("_", 1)
                pin = p.connectors[conn_name, int(conn_number)].mapping[number]
            pins[sub.name] = pin
    return pins


def test_capacity_from_the_data_sheets():
    up5k = BOARDS["icebreaker"].capacity
    assert (up5k.luts, up5k.bram, up5k.bram_total_bits, up5k.spram, up5k.spram_total_bits,
            up5k.dsp) == (5280, 30, 30 * 4096, 4, 4 * 256 * 1024, 8)
    assert (BOARDS["icestick"].capacity.luts, BOARDS["icestick"].capacity.bram) == (1280, 16)
    assert (BOARDS["tinyfpga-bx"].capacity.luts, BOARDS["tinyfpga-bx"].capacity.bram) \
        == (7680, 32)
    ecp5 = {size: BOARDS[f"ulx3s-{size}"].capacity for size in ("12f", "25f", "45f", "85f")}
    assert [c.bram for c in ecp5.values()] == [32, 56, 108, 208]
    assert [c.bram_total_bits // 1024 for c in ecp5.values()] == [576, 1008, 1944, 3744]
    assert [c.dsp for c in ecp5.values()] == [28, 28, 72, 156]
    assert [round(c.luts, -3) // 1000 for c in ecp5.values()] == [12, 24, 44, 84]
    assert BOARDS["orangecrab-85f"].capacity == ecp5["85f"]


def test_unknown_board_and_programmer_are_clear_errors():
    from hwgen.errors import HwgenError
    with pytest.raises(HwgenError, match="unknown board 'nope'"):
        boards.get_board("nope")
    with pytest.raises(HwgenError, match="its programmers: iceprog, openFPGALoader"):
        BOARDS["icebreaker"].get_programmer("tinyprog")
    assert BOARDS["icebreaker"].get_programmer("openfpgaloader").tool == "openFPGALoader"


def test_hwgen_boards_table_and_json():
    r = hwgen("boards")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["board", "device", "clock", "LUTs"]
    row = next(line for line in lines if line.startswith("icebreaker "))
    for cell in ("iCE40UP5K", "12 MHz", "5280", "120 (30)", "1024 (4)", "iceprog"):
        assert cell in row
    row = next(line for line in lines if line.startswith("ulx3s-85f "))
    for cell in ("LFE5U-85F", "25 MHz", "83640", "3744 (208)", "156", "openFPGALoader"):
        assert cell in row
    assert any(line.startswith("tinyfpga-bx: ") and "PIN_1" in line for line in lines)

    r = hwgen("boards", "--json")
    assert r.returncode == 0, r.stderr
    data = {b["name"]: b for b in json.loads(r.stdout)}
    assert list(data) == NAMES
    assert data["orangecrab-25f"]["programmers"][0]["command"] == \
        "dfu-util -d 1209:5af0 -a 0 -D {bitstream}"
    assert data["icestick"]["capacity"]["bram_total_bits"] == 16 * 4096
    assert data["icebreaker"]["uart"] == ["uart", 0]
