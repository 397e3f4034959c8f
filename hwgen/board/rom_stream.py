"""A stream of words read in order from a ROM (block RAM), once after reset."""

from amaranth.hdl import Module, Shape, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

__all__ = ["RomStream"]


class RomStream(wiring.Component):
    """Plays ``words`` on ``o_words``, one per handshake, then stays idle.

    Parameters
    ----------
    words : list of int
        The bits of each word (e.g. from :func:`hwgen.aer.pack`).
    shape : int or shape-castable
        The payload: a width, or a layout such as an event layout, so that ``o_words``
        connects to a stream of that layout with ``wiring.connect``.

    Members
    -------
    o_words : Out(stream.Signature(shape))
    done : Out(1)
        Every word has been taken.
    """

    def __init__(self, words, shape):
        self._words = list(words)
        self._shape = unsigned(shape) if isinstance(shape, int) else shape
        super().__init__({"o_words": Out(stream.Signature(self._shape)), "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        depth = len(self._words)
        # The ROM holds plain bits: the words are already packed through the layout.
        width = Shape.cast(self._shape).width
        m.submodules.rom = rom = Memory(shape=unsigned(width), depth=max(depth, 1),
                                        init=self._words, attrs={"ram_style": "block"})
        rd = rom.read_port()
        ptr = Signal(range(depth + 1))
        loaded = Signal()        # rd.data holds a word not yet taken
        # Read the next word whenever the current one is gone (or was never there).
        take = ~loaded | self.o_words.ready
        m.d.comb += [rd.addr.eq(ptr), rd.en.eq(take),
                     self.o_words.valid.eq(loaded), self.o_words.payload.eq(rd.data),
                     self.done.eq((ptr == depth) & ~loaded)]
        with m.If(take):
            m.d.sync += loaded.eq(ptr < depth)
            with m.If(ptr < depth):
                m.d.sync += ptr.eq(ptr + 1)
        return m
