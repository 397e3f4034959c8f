"""Boot logic for weights in SPRAM: the weight image from the board's SPI flash into the
cores that keep their weights there.

SPRAM starts empty at every configuration (:mod:`hwgen.core.spram`), so a design whose
memory plan put weights there reads them at boot: the
:class:`~hwgen.board.spi_flash_reader.SpiFlashReader` streams the image ``hwgen flash``
wrote at :data:`FLASH_OFFSET`, the :class:`~hwgen.core.weight_loader.WeightLoader` writes
it row by row into each core's ``load`` port and raises every core's ``loaded``. The
loader sits outside the network's reset (the host link resets the network before each
run; the weights, once in, stay), which is why it is attached here and not inside
:class:`~hwgen.network.NetworkTop`.
"""

from amaranth.lib import wiring

from .spi_flash_reader import SpiFlashReader

__all__ = ["FLASH_OFFSET", "attach_weight_loader", "attach_flash_boot"]

# Where the weight image goes in the board's flash: 1 MiB, above the bitstream (an iCE40
# UP5K bitstream is 104,090 bytes; the iCEBreaker's flash holds 16 MiB).
FLASH_OFFSET = 0x100000


def attach_weight_loader(m, network, loader=None):
    """Add ``loader`` (default: ``network.weight_loader()``, for its SPRAM cores) to ``m``,
    wired to their ``load`` and ``loaded`` ports; returns it (its ``i_bytes`` takes the
    image)."""
    loader = loader or network.weight_loader()
    m.submodules.weight_loader = loader
    for k, core in enumerate(network.spram_cores):
        wiring.connect(m, getattr(loader, f"write_{k}"), core.load)
        m.d.comb += core.loaded.eq(loader.done)
    return loader


def attach_flash_boot(m, platform, network, clk_freq_hz):
    """The weights of ``network`` from the board's SPI flash (``spi_flash_1x``): adds the
    reader and the loader to ``m``; returns the loader (``done``, ``error``)."""
    loader = attach_weight_loader(m, network)
    image = network.weight_image()
    m.submodules.flash_reader = reader = SpiFlashReader(
        offset=FLASH_OFFSET, length=len(image), clk_freq_hz=clk_freq_hz)
    wiring.connect(m, reader.o_bytes, loader.i_bytes)
    flash = platform.request("spi_flash_1x", 0)
    m.d.comb += [flash.cs.o.eq(reader.cs), flash.clk.o.eq(reader.sck),
                 flash.copi.o.eq(reader.copi), reader.cipo.eq(flash.cipo.i)]
    return loader
