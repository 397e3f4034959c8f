"""Boards hwgen builds for: each a :class:`Board` naming its amaranth-boards platform, its
clock, the LEDs the self-test drives, the UART the host link uses, the programmers that
flash it and the capacity of its FPGA.

``hwgen boards`` lists them (docs/boards.md); ``hwgen flash`` runs their programmers
(:mod:`hwgen.flash`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Board", "BOARDS", "Capacity", "Programmer", "get_board", "table"]


@dataclass(frozen=True)
class Capacity:
    """What one FPGA holds: logic cells, block RAMs, single-port RAMs (iCE40 UltraPlus)
    and multipliers (iCE40 SB_MAC16, ECP5 MULT18X18D)."""
    luts: int
    bram: int                # block RAMs
    bram_bits: int           # bits of one block RAM
    spram: int = 0           # single-port RAMs (UP5K only)
    spram_bits: int = 0      # bits of one of them
    dsp: int = 0

    @property
    def bram_total_bits(self):
        return self.bram * self.bram_bits

    @property
    def spram_total_bits(self):
        return self.spram * self.spram_bits

    def to_dict(self):
        return {"luts": self.luts, "bram": self.bram, "bram_bits": self.bram_bits,
                "bram_total_bits": self.bram_total_bits, "spram": self.spram,
                "spram_bits": self.spram_bits, "spram_total_bits": self.spram_total_bits,
                "dsp": self.dsp}


# Capacities. Source: the Lattice data sheets -- iCE40 UltraPlus Family Data Sheet
# (FPGA-DS-02008) table 1.1: UP5K 5280 LUTs, 30 x 4 kbit EBR, 4 x 256 kbit SPRAM, 8 DSPs;
# iCE40 LP/HX Family Data Sheet (FPGA-DS-02029) table 1.1: HX1K 1280 LUTs, 16 EBR, LP8K
# 7680 LUTs, 32 EBR (4 kbit each); ECP5 and ECP5-5G Family Data Sheet (FPGA-DS-02012)
# table 1.1: LFE5U-12/25/45/85: 12K/24K/44K/84K LUTs, 32/56/108/208 x 18 kbit EBR
# (576/1008/1944/3744 kbit), 28/28/72/156 18x18 multipliers. Cross-checked against the
# BELs nextpnr's chip databases offer (`nextpnr-* --report`, utilization "available"):
# ICESTORM_LC/RAM/SPRAM/DSP 5280/30/4/8 (up5k), 1280/16 (hx1k), 7680/32 (lp8k);
# TRELLIS_COMB/DP16KD/MULT18X18D 24288/56/28 (25k), 43848/108/72 (45k), 83640/208/156
# (85k), which give the exact LUT counts used below. For --12k nextpnr offers the 25k
# die's 24288/56/28: the 12F is that die, but Lattice specifies (and hwgen plans for)
# only 12K LUTs and 32 EBR.
_EBR_ICE40 = 4096
_EBR_ECP5 = 18432
_SPRAM_UP5K = 256 * 1024

UP5K = Capacity(5280, 30, _EBR_ICE40, spram=4, spram_bits=_SPRAM_UP5K, dsp=8)
HX1K = Capacity(1280, 16, _EBR_ICE40)
LP8K = Capacity(7680, 32, _EBR_ICE40)
LFE5U_12F = Capacity(12000, 32, _EBR_ECP5, dsp=28)
LFE5U_25F = Capacity(24288, 56, _EBR_ECP5, dsp=28)
LFE5U_45F = Capacity(43848, 108, _EBR_ECP5, dsp=72)
LFE5U_85F = Capacity(83640, 208, _EBR_ECP5, dsp=156)


@dataclass(frozen=True)
class Programmer:
    """A program that flashes a board: ``tool`` run with ``args``, in which ``{bitstream}``
    stands for the file to program.

    ``dfu_id`` (vendor, product), when set, means the tool takes a DFU image: the
    bitstream with a DFU suffix naming that USB device, which ``hwgen flash`` writes next
    to the bitstream as ``<model>.dfu``.

    ``offset_args``, when set, writes a file at a byte offset of the flash (``{offset}``,
    ``{file}``): how ``hwgen flash`` writes the weight image of a design whose weights
    the memory planner put in SPRAM.
    """
    tool: str
    args: tuple[str, ...]
    note: str = ""
    dfu_id: tuple[int, int] | None = None
    offset_args: tuple[str, ...] | None = None

    @property
    def name(self):
        return self.tool

    def template(self):
        """The command line as text, e.g. ``iceprog {bitstream}``."""
        return " ".join((self.tool, *self.args))

    def command(self, image):
        return [self.tool, *(arg.replace("{bitstream}", str(image)) for arg in self.args)]

    def offset_command(self, file, offset):
        """The command writing ``file`` at byte ``offset`` of the flash (None: this
        programmer cannot)."""
        if self.offset_args is None:
            return None
        return [self.tool, *(arg.replace("{file}", str(file)).replace("{offset}", str(offset))
                             for arg in self.offset_args)]


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    platform: Callable[[], object]     # builds the amaranth platform (imported lazily)
    pass_led: tuple[str, int]          # resource (name, number) lit when the self-test passes
    fail_led: tuple[str, int]          # lit when it fails
    device: str                        # nextpnr's name for the FPGA, for reports
    clock_mhz: float = field(kw_only=True)          # the board oscillator (default clock)
    capacity: Capacity = field(kw_only=True)
    # The resource (name, number) the host link's UART uses, and where it is on the board.
    uart: tuple[str, int] | None = field(kw_only=True)
    uart_note: str = field(kw_only=True)
    uart_short: str = field(kw_only=True)           # the same in a few words, for tables
    usb_uart: bool = field(kw_only=True)            # False: needs an external adapter
    programmers: tuple[Programmer, ...] = field(kw_only=True)    # the first is the default
    button: tuple[str, int] | None = field(kw_only=True, default=None)
    flash_note: str = field(kw_only=True, default="")   # what to check when flashing fails

    @property
    def family(self):
        """``ice40`` or ``ecp5``."""
        return "ice40" if self.device.startswith("iCE40") else "ecp5"

    @property
    def bitstream_ext(self):
        """What ``hwgen build`` writes: ``.bin`` (iCE40) or ``.bit`` (ECP5)."""
        return ".bin" if self.family == "ice40" else ".bit"

    @property
    def programmer(self):
        """The default programmer."""
        return self.programmers[0]

    def get_programmer(self, name=None):
        """The programmer called ``name`` (case-insensitive), or the default one."""
        from hwgen.errors import HwgenError
        if name is None:
            return self.programmer
        for p in self.programmers:
            if p.name.lower() == name.lower():
                return p
        known = ", ".join(p.name for p in self.programmers)
        raise HwgenError(f"board '{self.name}' is not flashed with '{name}' "
                         f"(its programmers: {known})")

    def to_dict(self):
        return {"name": self.name, "description": self.description, "device": self.device,
                "family": self.family, "clock_mhz": self.clock_mhz,
                "capacity": self.capacity.to_dict(),
                "uart": None if self.uart is None else list(self.uart),
                "usb_uart": self.usb_uart, "uart_short": self.uart_short,
                "uart_note": self.uart_note,
                "pass_led": list(self.pass_led), "fail_led": list(self.fail_led),
                "button": None if self.button is None else list(self.button),
                "bitstream": f"<model>{self.bitstream_ext}",
                "programmers": [{"tool": p.tool, "command": p.template(), "note": p.note}
                                for p in self.programmers],
                "flash_note": self.flash_note}


def _lazy(module, *args):
    def make():
        import importlib
        return importlib.import_module(f"{__name__}.{module}").platform(*args)
    make.__qualname__ = f"{module}.platform{args!r}"
    return make


_ICEPROG = Programmer("iceprog", ("{bitstream}",),
                      "icestorm's iceprog: writes the SPI flash through the FT2232H's "
                      "channel A", offset_args=("-o", "{offset}", "{file}"))
_OFL_ICE40 = Programmer("openFPGALoader", ("-b", "ice40_generic", "{bitstream}"),
                        "openFPGALoader's FT2232H SPI board entry (iCEstick/iCEBreaker "
                        "pinout); loads the SPI flash",
                        offset_args=("-b", "ice40_generic", "-o", "{offset}", "{file}"))
_OFL_ULX3S = Programmer("openFPGALoader", ("-b", "ulx3s", "{bitstream}"),
                        "JTAG through the FT231X on US1; loads SRAM (add -f for the flash)")
_FUJPROG = Programmer("fujprog", ("{bitstream}",),
                      "the ULX3S's own JTAG tool; loads SRAM (add -j flash for the flash)")
_DFU_UTIL = Programmer("dfu-util", ("-d", "1209:5af0", "-a", "0", "-D", "{bitstream}"),
                       "the OrangeCrab's DFU bootloader; takes <model>.dfu, the .bit with "
                       "a DFU suffix for 1209:5af0, which hwgen flash writes",
                       dfu_id=(0x1209, 0x5AF0))
_OFL_ORANGECRAB = Programmer("openFPGALoader", ("-b", "orangeCrab", "{bitstream}"),
                             "DFU through the bootloader, the plain .bit")

_ULX3S_UART = ("FTDI FT231X on USB port US1 (uart 0: FPGA M1 rx, L4 tx); the same chip "
               "is the JTAG programmer, so close the serial port before flashing")
_ORANGECRAB_UART = ("no USB-UART on the board (its USB is the FPGA's own, used by the DFU "
                    "bootloader): an external 3.3 V USB-UART adapter on the Feather pins "
                    "1 (M18, FPGA tx -> adapter RX) and 0 (N17, FPGA rx <- adapter TX), "
                    "and GND; hwgen adds this uart 0 resource")
_ORANGECRAB_FLASH = ("enter the bootloader first: hold the button while plugging USB in "
                     "(the LED fades)")


def _ulx3s(size, capacity):
    return Board(f"ulx3s-{size.lower()}", f"Radiona ULX3S (ECP5 LFE5U-{size}, 25 MHz)",
                 _lazy("ulx3s", size), ("led", 0), ("led", 7), f"LFE5U-{size}",
                 clock_mhz=25.0, capacity=capacity, uart=("uart", 0), uart_note=_ULX3S_UART,
                 uart_short="USB: FT231X on US1",
                 usb_uart=True, programmers=(_OFL_ULX3S, _FUJPROG),
                 button=("button_fire", 0),
                 flash_note="plug USB into US1 (not US2) and close any serial terminal "
                            "open on it: it is the programmer too")


def _orangecrab(size, capacity):
    return Board(f"orangecrab-{size.lower()}",
                 f"OrangeCrab r0.2 (ECP5 LFE5U-{size}, 48 MHz)",
                 _lazy("orangecrab", size), ("led_g", 0), ("led_r", 0), f"LFE5U-{size}",
                 clock_mhz=48.0, capacity=capacity, uart=("uart", 0),
                 uart_note=_ORANGECRAB_UART, usb_uart=False,
                 uart_short="adapter: pins 1 tx, 0 rx",
                 programmers=(_DFU_UTIL, _OFL_ORANGECRAB), button=("button", 0),
                 flash_note=_ORANGECRAB_FLASH)


BOARDS = {b.name: b for b in [
    Board("icebreaker", "1BitSquared iCEBreaker (iCE40 UP5K, 12 MHz)",
          _lazy("icebreaker"), ("led_g", 0), ("led_r", 0), "iCE40UP5K",
          clock_mhz=12.0, capacity=UP5K, uart=("uart", 0),
          uart_note="FTDI FT2232H channel B (uart 0: FPGA pin 6 rx, 9 tx); channel A "
                    "programs the flash",
          uart_short="USB: FT2232H ch. B",
          usb_uart=True, programmers=(_ICEPROG, _OFL_ICE40), button=("button", 0),
          flash_note="plug the board into USB (the FT2232H is 0403:6010)"),
    Board("icestick", "Lattice iCEstick (iCE40 HX1K, 12 MHz)",
          _lazy("icestick"), ("led", 4), ("led", 0), "iCE40HX1K",
          clock_mhz=12.0, capacity=HX1K, uart=("uart", 0),
          uart_note="FTDI FT2232H channel B (uart 0: FPGA pin 9 rx, 8 tx); channel A "
                    "programs the flash",
          uart_short="USB: FT2232H ch. B",
          usb_uart=True, programmers=(_ICEPROG, _OFL_ICE40),
          flash_note="plug the board into USB (the FT2232H is 0403:6010)"),
    Board("tinyfpga-bx", "TinyFPGA BX (iCE40 LP8K, 16 MHz)",
          _lazy("tinyfpga_bx"), ("led", 0), ("led", 1), "iCE40LP8K",
          clock_mhz=16.0, capacity=LP8K, uart=("uart", 0),
          uart_note="no USB-UART on the board (its USB port is the bootloader's): an "
                    "external 3.3 V USB-UART adapter on PIN_1 (A2, FPGA tx -> adapter RX) "
                    "and PIN_2 (A1, FPGA rx <- adapter TX), and GND (a G pin); hwgen adds "
                    "this uart 0 resource, and led 1 on PIN_3 (B1) for an external fail "
                    "LED",
          uart_short="adapter: PIN_1 tx, PIN_2 rx", usb_uart=False,
          programmers=(Programmer("tinyprog", ("-p", "{bitstream}"),
                                  "the TinyFPGA USB bootloader; writes the user image to "
                                  "flash"),),
          flash_note="press the reset button if the bootloader is not running (the LED "
                     "fades while it does)"),
    _ulx3s("12F", LFE5U_12F),
    _ulx3s("25F", LFE5U_25F),
    _ulx3s("45F", LFE5U_45F),
    _ulx3s("85F", LFE5U_85F),
    _orangecrab("25F", LFE5U_25F),
    _orangecrab("85F", LFE5U_85F),
]}


def get_board(name):
    from hwgen.errors import HwgenError
    if name not in BOARDS:
        raise HwgenError(f"unknown board '{name}' (known: {', '.join(BOARDS)})")
    return BOARDS[name]


def _kbit(bits):
    return f"{bits // 1024}"


def table(boards=None):
    """The boards as a text table (``hwgen boards``), then a note for each board that
    needs an external USB-UART adapter."""
    boards = list(BOARDS.values() if boards is None else boards)
    header = ("board", "device", "clock", "LUTs", "BRAM kbit", "SPRAM kbit", "DSPs",
              "UART", "programmers (default first)")
    rows = []
    for b in boards:
        c = b.capacity
        spram = f"{_kbit(c.spram_total_bits)} ({c.spram})" if c.spram else "-"
        rows.append((b.name, b.device, f"{b.clock_mhz:g} MHz", str(c.luts),
                     f"{_kbit(c.bram_total_bits)} ({c.bram})", spram, str(c.dsp or "-"),
                     b.uart_short, ", ".join(p.name for p in b.programmers)))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    right = {3, 4, 5, 6}
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = ("BRAM/SPRAM: kbit in all (number of blocks); programmer commands: hwgen "
              "boards --json, docs/boards.md")
    lines += ["", legend]
    notes = [f"{b.name}: {b.uart_note}" for b in boards if not b.usb_uart]
    if notes:
        lines += ["", "Boards without a USB-UART:", *notes]
    return "\n".join(lines)
