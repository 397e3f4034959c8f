"""Writes a weight image, received as a byte stream, into the memories that must be filled
after reset (SPRAM has no initial contents: :mod:`hwgen.core.spram`).

At boot the board's :class:`~hwgen.board.spi_flash_reader.SpiFlashReader` streams the
image that ``hwgen flash`` wrote next to the bitstream; :class:`WeightLoader` checks its
header, assembles each row from its bytes and writes it into its store, one row per write
cycle, then raises ``done`` (the cores start after it). An image that does not start with
the header -- an erased flash reads 0xFF, no image was ever written, or it is the image of
other weights -- raises ``error`` instead and writes nothing, so the cores never run on
garbage or stale weights.

Image format (:func:`weight_image` builds it, :func:`image_bytes` gives its length)::

    b"HWGW"                                   4 magic bytes
    ident                                     4 bytes, little-endian: the design's
                                              identifier of its weights (the CRC-32 of
                                              the rows below, :func:`weights_ident`)
    for each store, in order:
        for each row 0 .. depth-1:
            ceil(width / 8) bytes, little-endian: row bit i is bit i % 8 of byte i // 8
            (the bits above width in the last byte are 0)
    ident                                     the identifier again: an image cut short
                                              (a flash write interrupted after its first
                                              pages, the rest erased) ends in 0xFF
                                              bytes, not in it

No length: the stores' shapes are fixed by the generated design, which knows the image
length. The identifier is compared, not recomputed: an image of the right weights damaged
in the middle after it was written is not detected. The rows are written as they come;
``done`` waits for the trailing identifier, so a cut image never starts the cores.
"""

import zlib

from amaranth.hdl import Array, Const, Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .spram import write_port_signature

__all__ = ["WeightLoader", "weight_image", "weights_ident", "image_bytes", "MAGIC",
           "HEADER_BYTES"]

MAGIC = b"HWGW"
HEADER_BYTES = len(MAGIC) + 4          # the magic, then the identifier


def _row_bytes(width):
    return -(-width // 8)


def _check_stores(stores):
    stores = [(int(w), int(d)) for w, d in stores]
    for i, (width, depth) in enumerate(stores):
        if width < 1 or depth < 1:
            raise ValueError(f"store {i}: width and depth must be positive, not "
                             f"({width}, {depth})")
    return stores


def image_bytes(stores):
    """Length in bytes of the image of ``stores`` (a list of ``(width, depth)``):
    ``12 + sum(depth * ceil(width / 8))``."""
    return HEADER_BYTES + 4 + sum(depth * _row_bytes(width)
                            for width, depth in _check_stores(stores))


def _payload(contents):
    out = bytearray()
    for s, (width, rows) in enumerate(contents):
        n = _row_bytes(width)
        if len(rows) < 1:
            raise ValueError(f"store {s} has no row")
        for r, value in enumerate(rows):
            value = int(value)
            if not 0 <= value < (1 << width):
                raise ValueError(f"store {s} row {r} = {value} does not fit {width} "
                                 "unsigned bits")
            out += value.to_bytes(n, "little")
    return bytes(out)


def weights_ident(contents):
    """The identifier of ``contents`` (see :func:`weight_image`): CRC-32 of its rows."""
    return zlib.crc32(_payload(contents))


def weight_image(contents):
    """The image of ``contents``, a list of ``(width, rows)`` per store (``rows``: one
    unsigned int per row, ``len(rows)`` is the store's depth), as bytes."""
    payload = _payload(contents)
    ident = zlib.crc32(payload).to_bytes(4, "little")
    return MAGIC + ident + payload + ident


class Phase(enum.Enum, shape=3):
    MAGIC = 0       # checking the 4 magic bytes and the 4 of the identifier
    ROWS = 1        # assembling and writing rows
    TRAILER = 2     # checking the identifier after the rows
    DONE = 3        # every row written, the trailer matched; further bytes are dropped
    ERROR = 4       # the header or the trailer did not match; bytes dropped


class WeightLoader(wiring.Component):
    """Writes the rows of an image (module docstring) from ``i_bytes`` into its stores.

    Takes a byte every cycle (``i_bytes.ready`` is always 1): a row's write is a
    registered output, in the cycle after its last byte, overlapping the next row's
    bytes. After ``done`` or ``error`` it keeps taking bytes and drops them, so that the
    flash reader can finish its transfer and release the flash.

    Parameters
    ----------
    stores : list of (width, depth)
        The memories to fill, in image order.
    ident : int
        The identifier the image must carry (:func:`weights_ident` of the contents).

    Members
    -------
    i_bytes : In(stream.Signature(8))
    write_0, write_1, ... : Out(write_port_signature(width, depth)), one per store
        ``addr``, ``data``, ``en``: ``wiring.connect`` to a
        :class:`~hwgen.core.spram.SpramMemory`'s ``write``. Also as the list
        :attr:`writes`.
    done : Out(1)
        Every row of every store has been written: 1 from the cycle after the last
        write's ``en`` on (never together with a write).
    error : Out(1)
        The image did not start with the header (stays 1; nothing was written), or did
        not end with the identifier (stays 1; the rows written are not to be used).
    """

    def __init__(self, stores, ident=0):
        self._stores = _check_stores(stores)
        self._trailer = int(ident).to_bytes(4, "little")
        self._header = MAGIC + self._trailer
        members = {"i_bytes": In(stream.Signature(8))}
        for i, (width, depth) in enumerate(self._stores):
            members[f"write_{i}"] = Out(write_port_signature(width, depth))
        members.update(done=Out(1), error=Out(1))
        super().__init__(members)

    @property
    def stores(self):
        return list(self._stores)

    @property
    def writes(self):
        """The write ports, one per store, in order."""
        return [getattr(self, f"write_{i}") for i in range(len(self._stores))]

    @property
    def image_bytes(self):
        return image_bytes(self._stores)

    def elaborate(self, platform):
        m = Module()
        stores = self._stores
        max_width = max((w for w, _ in stores), default=1)
        max_bytes = _row_bytes(max_width)
        max_depth = max((d for _, d in stores), default=1)

        phase = Signal(Phase)
        magic_index = Signal(range(len(self._header)))
        trailer_index = Signal(range(len(self._trailer)))
        store = Signal(range(max(len(stores), 1)))
        row = Signal(range(max_depth))
        byte_index = Signal(range(max_bytes))
        row_buffer = Signal(8 * max_bytes)     # bytes of the current row so far

        # The pending write: registers, so the write ports have no path from the input.
        write_en = Signal()
        write_store = Signal.like(store)
        write_addr = Signal.like(row)
        write_data = Signal.like(row_buffer)
        for i, (port, (width, _)) in enumerate(zip(self.writes, stores, strict=True)):
            m.d.comb += [port.en.eq(write_en & (write_store == i)),
                         port.addr.eq(write_addr), port.data.eq(write_data[:width])]

        m.d.comb += [self.i_bytes.ready.eq(1),
                     # The cycle after the last write: a reader starting on done never
                     # meets a write (a single-port SPRAM drops a read under a write).
                     self.done.eq((phase == Phase.DONE) & ~write_en),
                     self.error.eq(phase == Phase.ERROR)]
        take = self.i_bytes.valid          # ready is always 1
        byte = self.i_bytes.payload
        m.d.sync += write_en.eq(0)

        # The row with the byte taken this cycle in its place.
        merged = Signal.like(row_buffer)
        m.d.comb += [merged.eq(row_buffer), merged.word_select(byte_index, 8).eq(byte)]
        # The shape of the store being loaded, from the constants of each store.
        last_byte = Signal()
        last_row = Signal()
        last_store = Signal()
        with m.Switch(store):
            for i, (width, depth) in enumerate(stores):
                with m.Case(i):
                    m.d.comb += [last_byte.eq(byte_index == _row_bytes(width) - 1),
                                 last_row.eq(row == depth - 1),
                                 last_store.eq(i == len(stores) - 1)]

        with m.Switch(phase):
            with m.Case(Phase.MAGIC):
                with m.If(take):
                    with m.If(byte != Array(Const(b, 8) for b in self._header)[magic_index]):
                        m.d.sync += phase.eq(Phase.ERROR)
                    with m.Elif(magic_index == len(self._header) - 1):
                        m.d.sync += [phase.eq(Phase.ROWS if stores else Phase.TRAILER),
                                     trailer_index.eq(0)]
                    with m.Else():
                        m.d.sync += magic_index.eq(magic_index + 1)
            with m.Case(Phase.ROWS):
                with m.If(take):
                    m.d.sync += row_buffer.eq(merged)
                    with m.If(~last_byte):
                        m.d.sync += byte_index.eq(byte_index + 1)
                    with m.Else():
                        m.d.sync += [byte_index.eq(0), write_en.eq(1),
                                     write_store.eq(store), write_addr.eq(row),
                                     write_data.eq(merged)]
                        with m.If(~last_row):
                            m.d.sync += row.eq(row + 1)
                        with m.Elif(~last_store):
                            m.d.sync += [row.eq(0), store.eq(store + 1)]
                        with m.Else():
                            m.d.sync += phase.eq(Phase.TRAILER)
            with m.Case(Phase.TRAILER):
                with m.If(take):
                    with m.If(byte != Array(Const(b, 8) for b in self._trailer)[trailer_index]):
                        m.d.sync += phase.eq(Phase.ERROR)
                    with m.Elif(trailer_index == len(self._trailer) - 1):
                        m.d.sync += phase.eq(Phase.DONE)
                    with m.Else():
                        m.d.sync += trailer_index.eq(trailer_index + 1)
        return m
