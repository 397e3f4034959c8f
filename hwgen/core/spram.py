"""A memory in the iCE40 UltraPlus single-port RAMs (SPRAM), for the weights of large
dense layers.

The UP5K (iCEBreaker) has 30 block RAMs of 4 kbit (120 kbit) but also four
``SB_SPRAM256KA`` of 16384 x 16 bits (1 Mbit): most of its memory. An SPRAM has one
port (a cycle reads or writes) and, unlike a block RAM, no initial contents from the
bitstream: it starts empty (undefined) at every configuration, so whatever it must hold
is written after reset -- the weights by :class:`hwgen.core.weight_loader.WeightLoader`
from the board's SPI flash (:class:`hwgen.board.spi_flash_reader.SpiFlashReader`).

:class:`SpramMemory` is a ``depth x width`` memory made of SPRAM tiles, ``ceil(width/16)``
side by side and ``ceil(depth/16384)`` banks deep. On an iCE40 UltraPlus it elaborates
to the primitives; on any other platform (and in Amaranth's simulator, ``platform=None``)
to an :class:`amaranth.lib.memory.Memory` with the same timing, whose ``init`` stands
for what the loader would have written (it only exists in simulation, or as block RAM
contents on a non-iCE40 target).

Port semantics (both implementations; yosys' ``SB_SPRAM256KA`` simulation model in
``share/ice40/cells_sim.v`` is the reference for the primitive):

- read: ``read.data`` is the row at ``read.addr`` of the cycle before, when ``read.en``
  was 1 then; while ``read.en`` stays 0 it HOLDS its value (the primitive keeps
  ``DATAOUT`` while ``CHIPSELECT`` is 0), so a stalled reader keeps its data.
- write: the row at ``write.addr`` takes ``write.data`` at the end of a cycle with
  ``write.en``.
- one physical port: a read and a write in the same cycle cannot both happen; the write
  wins and the read is dropped (and see the next point). With
  ``check_one_port=True`` the behavioural model asserts against it in simulation.
- after a write, ``read.data`` is UNDEFINED until the next read: the primitive drives
  ``DATAOUT`` to X in a write cycle (the behavioural model happens to keep the old value;
  do not rely on it). The intended use writes only at boot, before anything reads.
"""

from amaranth.hdl import Array, Assert, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["SpramMemory", "spram_tiles", "read_port_signature", "write_port_signature",
           "SPRAM_WIDTH", "SPRAM_DEPTH", "ICE40UP_SPRAM_TILES"]

SPRAM_WIDTH = 16             # bits of one SB_SPRAM256KA row
SPRAM_DEPTH = 16384          # rows of one SB_SPRAM256KA
ICE40UP_SPRAM_TILES = 4      # SB_SPRAM256KA in an iCE40UP3K or iCE40UP5K


def _ceil_div(a, b):
    return -(-a // b)


def _check_shape(width, depth):
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"memory width must be a positive integer, not {width!r}")
    if not (isinstance(depth, int) and depth >= 1):
        raise ValueError(f"memory depth must be a positive integer, not {depth!r}")


def spram_tiles(width, depth):
    """The number of ``SB_SPRAM256KA`` a ``depth x width`` :class:`SpramMemory` uses:
    ``ceil(width / 16)`` tiles side by side times ``ceil(depth / 16384)`` banks."""
    _check_shape(width, depth)
    return _ceil_div(width, SPRAM_WIDTH) * _ceil_div(depth, SPRAM_DEPTH)


def read_port_signature(width, depth):
    """The read port, from the reader's side: ``addr`` and ``en`` out, ``data`` in."""
    return wiring.Signature({"addr": Out(range(depth)), "en": Out(1), "data": In(width)})


def write_port_signature(width, depth):
    """The write port, from the writer's side (e.g. a ``WeightLoader`` output):
    ``addr``, ``data`` and ``en`` out."""
    return wiring.Signature({"addr": Out(range(depth)), "data": Out(width), "en": Out(1)})


def _platform_has_spram(platform):
    """True on an iCE40 UltraPlus; ValueError on another iCE40 (no SPRAM there, and a
    silent fallback to logic would not fit); False elsewhere (behavioural model)."""
    device = getattr(platform, "device", None)
    if not isinstance(device, str):
        return False
    if device.startswith("iCE40UP"):
        return True
    if device.lower().startswith(("ice40", "ice5")):
        raise ValueError(f"SpramMemory needs SB_SPRAM256KA, which only the iCE40 UltraPlus "
                         f"(iCE40UP*) has, not the {device}")
    return False


class SpramMemory(wiring.Component):
    """A ``depth x width`` single-port memory in SPRAM tiles (see the module docstring
    for the port semantics and why).

    Parameters
    ----------
    width, depth : int
        Bits per row, rows.
    init : list of int, optional
        Initial rows of the behavioural model (simulation, non-iCE40 targets), as the
        loader would have written them; missing rows are 0. Ignored on the iCE40
        UltraPlus, whose SPRAM starts undefined.
    check_one_port : bool
        Behavioural model with ``platform=None`` only: an ``Assert`` that a read and a
        write never share a cycle, for Amaranth's simulator. Off by default: in Verilog
        it is an ``assert`` statement, which yosys' plain ``read_verilog`` (the gate-level
        and resource flows) rejects.

    Members
    -------
    read : In(read_port_signature(width, depth))
        ``addr`` In(range(depth)), ``en`` In(1), ``data`` Out(width): synchronous read,
        data the cycle after ``en``, held while ``en`` is 0.
    write : In(write_port_signature(width, depth))
        ``addr`` In(range(depth)), ``data`` In(width), ``en`` In(1). Wins over a read in
        the same cycle.
    """

    def __init__(self, width, depth, init=None, *, check_one_port=False):
        _check_shape(width, depth)
        init = [] if init is None else [int(v) for v in init]
        if len(init) > depth:
            raise ValueError(f"init has {len(init)} rows, the memory {depth}")
        for i, v in enumerate(init):
            if not 0 <= v < (1 << width):
                raise ValueError(f"init row {i} = {v} does not fit {width} unsigned bits")
        self._width = width
        self._depth = depth
        self._init = init
        self._check_one_port = check_one_port
        super().__init__({
            "read": In(read_port_signature(width, depth)),
            "write": In(write_port_signature(width, depth)),
        })

    @property
    def width(self):
        return self._width

    @property
    def depth(self):
        return self._depth

    @property
    def tiles(self):
        """``SB_SPRAM256KA`` used on an iCE40 UltraPlus (:func:`spram_tiles`)."""
        return spram_tiles(self._width, self._depth)

    def elaborate(self, platform):
        if _platform_has_spram(platform):
            return self._elaborate_spram()
        return self._elaborate_model(check=self._check_one_port and platform is None)

    def _elaborate_model(self, *, check):
        m = Module()
        m.submodules.mem = mem = Memory(shape=self._width, depth=self._depth,
                                        init=self._init)
        wr = mem.write_port()
        # Not transparent: a read and a write never share a cycle (the write wins).
        rd = mem.read_port(transparent_for=())
        m.d.comb += [
            wr.addr.eq(self.write.addr), wr.data.eq(self.write.data),
            wr.en.eq(self.write.en),
            rd.addr.eq(self.read.addr), rd.en.eq(self.read.en & ~self.write.en),
            self.read.data.eq(rd.data),
        ]
        if check:
            # Checked at the clock edge only, so a testbench changing the two enables one
            # after the other within a cycle does not trip it.
            m.d.sync += Assert(~(self.read.en & self.write.en),
                               "SpramMemory: read and write in the same cycle (one port)")
        return m

    def _elaborate_spram(self):
        width, depth = self._width, self._depth
        columns = _ceil_div(width, SPRAM_WIDTH)
        banks = _ceil_div(depth, SPRAM_DEPTH)
        if columns * banks > ICE40UP_SPRAM_TILES:
            raise ValueError(f"a {depth} x {width} SpramMemory needs {columns * banks} "
                             f"SB_SPRAM256KA; the iCE40 UltraPlus has "
                             f"{ICE40UP_SPRAM_TILES}")
        m = Module()
        # One port: the write's address wins.
        addr = Signal(range(depth))
        m.d.comb += addr.eq(Mux(self.write.en, self.write.addr, self.read.addr))
        row = Signal(14)            # zero-extended when the memory is shallower
        m.d.comb += row.eq(addr[:14])
        write_bank = self.write.addr[14:]
        read_bank = self.read.addr[14:]
        # The bank whose DATAOUT read.data shows: registered with the read, held with it.
        shown_bank = Signal(range(banks))
        if banks > 1:
            with m.If(self.read.en & ~self.write.en):
                m.d.sync += shown_bank.eq(read_bank)
        data_in = Signal(columns * SPRAM_WIDTH)    # the last column's spare bits are 0
        m.d.comb += data_in.eq(self.write.data)
        bank_data = []
        for b in range(banks):
            # Only the addressed bank is selected: the others keep DATAOUT (and power).
            select = Signal(name=f"select_{b}")
            m.d.comb += select.eq(Mux(self.write.en, write_bank == b,
                                      self.read.en & (read_bank == b)))
            data_out = Signal(columns * SPRAM_WIDTH, name=f"data_out_{b}")
            for c in range(columns):
                lo = c * SPRAM_WIDTH
                m.submodules[f"spram_{b}_{c}"] = Instance(
                    "SB_SPRAM256KA",
                    i_ADDRESS=row,
                    i_DATAIN=data_in[lo:lo + SPRAM_WIDTH],
                    i_MASKWREN=Const(0b1111, 4),
                    i_WREN=self.write.en,
                    i_CHIPSELECT=select,
                    i_CLOCK=ClockSignal("sync"),
                    i_STANDBY=Const(0, 1),
                    i_SLEEP=Const(0, 1),
                    i_POWEROFF=Const(1, 1),     # active low: 1 keeps the array powered
                    o_DATAOUT=data_out[lo:lo + SPRAM_WIDTH],
                )
            bank_data.append(data_out[:width])
        m.d.comb += self.read.data.eq(Array(bank_data)[shown_bank] if banks > 1
                                      else bank_data[0])
        return m
